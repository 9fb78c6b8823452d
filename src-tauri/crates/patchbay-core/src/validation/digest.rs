//! What a connection test of a draft is bound to: a digest of every field
//! the test depended on. A result kept under it becomes the saved
//! provider's `last_test` only when the draft being saved has the same
//! digest, so the window cannot claim a pass for values it did not test.

use sha2::{Digest, Sha256};

use super::{HeaderDraft, KeyChange, ProviderDraft};
use crate::id::ProviderId;
use crate::model::{Auth, NetworkAllowance};

/// SHA-256 over a draft's tested fields. Held in memory only, never shown.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DraftDigest([u8; 32]);

impl std::fmt::Debug for DraftDigest {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("DraftDigest(…)")
    }
}

impl ProviderDraft {
    /// The digest of what a connection test of this draft depends on: the
    /// base URL, network allowance, authentication, key (or which stored
    /// key it keeps), headers, proxy, timeout and models, and the provider
    /// it edits (`None` for a new one). The label, preset and `enabled` are
    /// left out: changing them does not make a test out of date.
    pub fn tested_digest(&self, editing: Option<&ProviderId>) -> DraftDigest {
        let mut hasher = Fields(Sha256::new());
        hasher.text(editing.map_or("", ProviderId::as_str));
        hasher.text(self.base_url.trim());
        hasher.text(match self.network {
            NetworkAllowance::Remote => "remote",
            NetworkAllowance::Local => "local",
            NetworkAllowance::Private => "private",
        });
        match self.auth {
            Auth::None => hasher.text("auth:none"),
            Auth::ApiKey => {
                hasher.text("auth:api_key");
                match &self.key {
                    KeyChange::Keep => hasher.text("key:keep"),
                    KeyChange::Remove => hasher.text("key:remove"),
                    KeyChange::Set { value } => {
                        hasher.text("key:set");
                        hasher.text(value.expose().trim());
                    }
                }
            }
        }
        hasher.text(if self.move_key { "move" } else { "stay" });
        hasher.count(self.headers.len());
        for HeaderDraft {
            name,
            value,
            secret,
        } in &self.headers
        {
            hasher.text(name.trim());
            hasher.text(if *secret { "secret" } else { "plain" });
            hasher.text(value.as_ref().map_or("", |value| value.expose()));
        }
        hasher.text(self.proxy.as_deref().unwrap_or("").trim());
        hasher.text(self.proxy_username.as_deref().unwrap_or("").trim());
        match &self.proxy_password {
            KeyChange::Keep => hasher.text("proxy-password:keep"),
            KeyChange::Remove => hasher.text("proxy-password:remove"),
            KeyChange::Set { value } => {
                hasher.text("proxy-password:set");
                hasher.text(value.expose());
            }
        }
        hasher.text(self.ca_certificate.as_deref().unwrap_or("").trim());
        hasher.text(match self.api {
            crate::model::Api::Openai => "api:openai",
            crate::model::Api::AzureOpenai => "api:azure_openai",
            crate::model::Api::Anthropic => "api:anthropic",
        });
        hasher.text(self.api_version.as_deref().unwrap_or("").trim());
        hasher.count(self.timeout_secs.map_or(0, |secs| secs as usize + 1));
        let models: Vec<&str> = self
            .models
            .iter()
            .map(|model| model.trim())
            .filter(|model| !model.is_empty())
            .collect();
        hasher.count(models.len());
        for model in models {
            hasher.text(model);
        }
        DraftDigest(hasher.0.finalize().into())
    }
}

/// Length-prefixed fields, so `("ab", "c")` and `("a", "bc")` differ.
struct Fields(Sha256);

impl Fields {
    fn count(&mut self, count: usize) {
        self.0.update((count as u64).to_le_bytes());
    }

    fn text(&mut self, text: &str) {
        self.count(text.len());
        self.0.update(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ApiKey;

    fn draft() -> ProviderDraft {
        ProviderDraft {
            label: "Local".into(),
            models: vec!["m1".into(), "m2".into()],
            ..ProviderDraft::endpoint(
                "http://127.0.0.1:8080/v1".into(),
                NetworkAllowance::Local,
                Some(ApiKey::new("sk-test-1")),
            )
        }
    }

    #[test]
    fn every_tested_field_changes_the_digest_and_the_label_does_not() {
        let base = draft().tested_digest(None);
        let id = ProviderId::parse("local").expect("an id");
        assert_eq!(base, draft().tested_digest(None), "deterministic");
        let relabelled = ProviderDraft {
            label: "Renamed".into(),
            enabled: false,
            ..draft()
        };
        assert_eq!(base, relabelled.tested_digest(None));
        let changes: Vec<(&str, ProviderDraft)> = vec![
            (
                "url",
                ProviderDraft {
                    base_url: "http://127.0.0.1:8081/v1".into(),
                    ..draft()
                },
            ),
            (
                "network",
                ProviderDraft {
                    network: NetworkAllowance::Private,
                    ..draft()
                },
            ),
            (
                "auth",
                ProviderDraft {
                    auth: Auth::None,
                    ..draft()
                },
            ),
            (
                "key",
                ProviderDraft {
                    key: KeyChange::Set {
                        value: ApiKey::new("sk-test-2"),
                    },
                    ..draft()
                },
            ),
            (
                "kept key",
                ProviderDraft {
                    key: KeyChange::Keep,
                    ..draft()
                },
            ),
            (
                "models",
                ProviderDraft {
                    models: vec!["m1".into()],
                    ..draft()
                },
            ),
            (
                "model order",
                ProviderDraft {
                    models: vec!["m2".into(), "m1".into()],
                    ..draft()
                },
            ),
            (
                "proxy",
                ProviderDraft {
                    proxy: Some("http://127.0.0.1:3128".into()),
                    ..draft()
                },
            ),
            (
                "timeout",
                ProviderDraft {
                    timeout_secs: Some(30),
                    ..draft()
                },
            ),
            (
                "headers",
                ProviderDraft {
                    headers: vec![HeaderDraft {
                        name: "X-A".into(),
                        value: Some(ApiKey::new("1")),
                        secret: false,
                    }],
                    ..draft()
                },
            ),
        ];
        for (what, changed) in changes {
            assert_ne!(
                base,
                changed.tested_digest(None),
                "{what} must change the digest"
            );
        }
        assert_ne!(base, draft().tested_digest(Some(&id)), "another provider");
    }

    #[test]
    fn the_digest_never_prints_the_key() {
        let printed = format!("{:?}", draft().tested_digest(None));
        assert!(!printed.contains("sk-test"), "{printed}");
    }
}
