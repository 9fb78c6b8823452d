//! Provider ids: a short slug generated from the label at creation, made
//! unique, and never changed afterwards. Keychain items, picker entries and
//! CLI arguments all key on it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A provider id: 1–48 characters of `[a-z0-9-]`, starting with a letter or
/// digit. Never contains `/` (picker entry ids split at the first `/`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProviderId(String);

impl ProviderId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses an existing id (from the config file or a CLI argument).
    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        let valid_length = (1..=48).contains(&value.len());
        let valid_chars = value
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
        let valid_start = value
            .bytes()
            .next()
            .is_some_and(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit());
        if valid_length && valid_chars && valid_start {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidId(value.chars().take(64).collect()))
        }
    }

    /// A new id for `label`, unique among `taken`: the label slugified
    /// (ASCII-folded, lowercase, runs of other characters to `-`, at most 32
    /// characters), `provider` when nothing is left, then `-2`, `-3`, … on
    /// collision.
    pub fn generate<'a>(label: &str, taken: impl IntoIterator<Item = &'a ProviderId>) -> Self {
        let taken: Vec<&ProviderId> = taken.into_iter().collect();
        let mut slug = String::new();
        for character in label.chars() {
            let folded = fold(character);
            match folded {
                Some(ascii) if ascii.is_ascii_alphanumeric() => {
                    slug.push(ascii.to_ascii_lowercase())
                }
                _ => {
                    if !slug.is_empty() && !slug.ends_with('-') {
                        slug.push('-');
                    }
                }
            }
            if slug.len() >= 32 {
                break;
            }
        }
        let slug = slug.trim_matches('-');
        let base = if slug.is_empty() { "provider" } else { slug };
        let is_taken = |candidate: &str| taken.iter().any(|id| id.as_str() == candidate);
        if !is_taken(base) {
            return Self(base.to_owned());
        }
        let mut counter = 2u32;
        loop {
            let candidate = format!("{base}-{counter}");
            if !is_taken(&candidate) {
                return Self(candidate);
            }
            counter += 1;
        }
    }
}

/// Folds common Latin letters with diacritics to ASCII so "Société Générale"
/// becomes `societe-generale` rather than `soci-t-g-n-rale`.
fn fold(character: char) -> Option<char> {
    if character.is_ascii() {
        return Some(character);
    }
    let folded = match character {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        'ß' => 's',
        _ => return None,
    };
    Some(folded)
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ProviderId {
    type Error = InvalidId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ProviderId> for String {
    fn from(id: ProviderId) -> Self {
        id.0
    }
}

/// An id that is not of the form `[a-z0-9][a-z0-9-]{0,47}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a provider id: ids are 1–48 characters of a–z, 0–9 and `-` (see `patchbay provider list`)")]
pub struct InvalidId(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        let none: Vec<ProviderId> = Vec::new();
        assert_eq!(
            ProviderId::generate("OpenRouter", &none).as_str(),
            "openrouter"
        );
        assert_eq!(
            ProviderId::generate("My Company Gateway!", &none).as_str(),
            "my-company-gateway"
        );
        assert_eq!(
            ProviderId::generate("Société Générale", &none).as_str(),
            "societe-generale"
        );
        assert_eq!(ProviderId::generate("日本語", &none).as_str(), "provider");
        assert_eq!(ProviderId::generate("  --  ", &none).as_str(), "provider");
    }

    #[test]
    fn collisions_get_a_counter() {
        let taken = vec![
            ProviderId::parse("groq").unwrap(),
            ProviderId::parse("groq-2").unwrap(),
        ];
        assert_eq!(ProviderId::generate("Groq", &taken).as_str(), "groq-3");
    }

    #[test]
    fn parse_rejects_slashes_and_uppercase() {
        assert!(ProviderId::parse("a/b").is_err());
        assert!(ProviderId::parse("Abc").is_err());
        assert!(ProviderId::parse("").is_err());
        assert!(ProviderId::parse("-x").is_err());
        assert!(ProviderId::parse("ollama-2").is_ok());
    }
}
