//! Secret values (API keys, secret header values) as a type that cannot leak
//! through `Debug`, `Display` or serde: there is deliberately no `Serialize`.

use std::fmt;

/// A secret string. Prints as `[redacted]`; the value is reachable only
/// through [`ApiKey::expose`], which greps well in review.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a secret. Validation (length, whitespace) lives in
    /// [`crate::validation`]; this constructor accepts anything.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it: building a
    /// request header or writing the keychain item.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A hint safe to store and show: the key's recognisable prefix (up to
    /// the last `-` within the first 6 characters, e.g. `sk-or-`) and its
    /// last 4 characters, e.g. `sk-or-…9f3a`. Keys shorter than 12
    /// characters show only `…` plus the last 2.
    pub fn hint(&self) -> String {
        mask(&self.0)
    }
}

/// Keys arrive from the form, the CLI's stdin and IPC requests, so they can be
/// deserialised; they never leave as JSON, so there is no `Serialize`.
impl<'de> serde::Deserialize<'de> for ApiKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// See [`ApiKey::hint`].
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        let tail: String = chars[chars.len().saturating_sub(2)..].iter().collect();
        return format!("…{tail}");
    }
    let head_window: String = chars[..6].iter().collect();
    let prefix = match head_window.rfind('-') {
        Some(pos) => &head_window[..=pos],
        None => "",
    };
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{prefix}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let key = ApiKey::new("sk-or-v1-0123456789abcdef9f3a");
        assert_eq!(format!("{key:?}"), "ApiKey([redacted])");
        assert_eq!(format!("{key}"), "[redacted]");
    }

    #[test]
    fn hints() {
        assert_eq!(mask("sk-or-v1-0123456789abcdef9f3a"), "sk-or-…9f3a");
        assert_eq!(mask("sk-proj-abcdefghijklmnop1234"), "sk-…1234");
        assert_eq!(mask("gsk_abcdefghijklmnopqrstuv"), "…stuv");
        assert_eq!(mask("short"), "…rt");
        assert_eq!(mask(""), "…");
    }
}
