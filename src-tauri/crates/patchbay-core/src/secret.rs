//! Secret values (API keys, secret header values) as a type that cannot leak
//! through `Debug`, `Display` or serde: there is deliberately no `Serialize`.

use std::fmt;

/// A secret string. Prints as `[redacted]`; the value is reachable only
/// through [`ApiKey::expose`], which greps well in review. Its bytes are
/// zeroed when it is dropped (`zeroize`), so a freed key does not linger in
/// memory Patchbay no longer uses.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl Drop for ApiKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

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

/// Prefixes of well-known credentials: OpenAI and OpenAI-style (`sk-`,
/// `sk_`, incl. Anthropic `sk-ant-` and OpenRouter `sk-or-`), Groq `gsk_`,
/// xAI `xai-`, Perplexity `pplx-`, NVIDIA `nvapi-`, Replicate `r8_`,
/// Hugging Face `hf_`, GitHub `ghp_`/`gho_`/`ghs_`/`github_pat_`, GitLab
/// `glpat-`, Slack `xoxb-`/`xoxp-`, Google `AIza`, AWS `AKIA`/`ASIA`, and
/// Patchbay's own host tokens `pbt_`.
const CREDENTIAL_PREFIXES: &[&str] = &[
    "sk-",
    "sk_",
    "gsk_",
    "xai-",
    "pplx-",
    "nvapi-",
    "r8_",
    "hf_",
    "ghp_",
    "gho_",
    "ghs_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "AIza",
    "AKIA",
    "ASIA",
    "pbt_",
];

/// Whether a word of text that came from a server looks like a credential,
/// whether or not it is one Patchbay holds (a proxy's key, another key of
/// the person's): it is then redacted like a known secret. The shapes,
/// after surrounding quotes and punctuation are trimmed:
///
/// - a known prefix ([`CREDENTIAL_PREFIXES`]) followed by at least 12 more
///   characters;
/// - a JSON Web Token: `eyJ…` with three dot-separated base64url parts;
/// - a long opaque token: at least 32 characters of letters, digits, `-`
///   and `_`, with digits, and either both cases, or all hex, or a run of
///   20 letters and digits without a separator.
///
/// Model ids (`meta-llama/llama-3.1-70b-instruct`, `qwen2.5:7b`,
/// `deepseek-r1-distill-llama-70b-specdec`) have `/`, `.` or `:`, are
/// shorter, or are lowercase words between hyphens, so they stay readable.
pub fn looks_like_credential(word: &str) -> bool {
    let token = word.trim_matches(|character: char| {
        !(character.is_ascii_alphanumeric()
            || character == '-'
            || character == '_'
            || character == '.')
    });
    let token = token.trim_end_matches('.');
    if CREDENTIAL_PREFIXES
        .iter()
        .any(|prefix| token.starts_with(prefix) && token.len() >= prefix.len() + 12)
    {
        return true;
    }
    let base64url = |part: &str| {
        !part.is_empty()
            && part.chars().all(|character| {
                character.is_ascii_alphanumeric() || character == '-' || character == '_'
            })
    };
    let parts: Vec<&str> = token.split('.').collect();
    if token.starts_with("eyJ") && parts.len() == 3 && parts.iter().all(|part| base64url(part)) {
        return true;
    }
    if token.len() < 32 || !base64url(token) || !token.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    let mixed_case = token.chars().any(|c| c.is_ascii_uppercase())
        && token.chars().any(|c| c.is_ascii_lowercase());
    let hex = token.chars().all(|c| c.is_ascii_hexdigit());
    let long_run = token.split(['-', '_']).any(|run| run.len() >= 20);
    mixed_case || hex || long_run
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

    #[test]
    fn credential_shapes_are_recognised_and_model_ids_are_not() {
        for word in [
            "sk-proj-abcdefghijklmnop1234",
            "\"sk-ant-api03-AbCdEfGhIjKlMnOp\",",
            "gsk_0123456789abcdefghij",
            "AIzaSyA1234567890abcdefghijkl",
            "pbt_0123456789abcdef0123",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl",
            "(a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8)",
            "Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MGFiY2RlZg",
        ] {
            assert!(looks_like_credential(word), "{word}");
        }
        for word in [
            "meta-llama/llama-3.1-70b-instruct",
            "qwen2.5:7b",
            "gpt-4o-mini-2024-07-18",
            "sk-short",
            "Authorization",
            "https://api.openai.com/v1/chat/completions",
            "hf.co/bartowski/Qwen2.5-7B-Instruct-GGUF:Q6_K",
            "deepseek-r1-distill-llama-70b-specdec",
            "llama-3.1-nemotron-70b-instruct-hf-extended",
        ] {
            assert!(!looks_like_credential(word), "{word}");
        }
    }
}
