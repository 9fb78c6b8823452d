//! The shared config file `providers.json`, schema version 1: the on-disk
//! DTOs. `patchbay-core` validates these into domain types on load and is the
//! only writer; host apps may read the file (see `docs/config.md`).
//!
//! Unknown fields are preserved at every level (`extra`), so a newer
//! Patchbay's additions survive an older one's write.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// The schema version this crate reads and writes.
pub const CONFIG_VERSION: u64 = 1;

/// Which destinations a provider's requests may reach. Only `local` and
/// `private` allow plain http.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkAllowance {
    /// Globally reachable hosts over https only.
    #[default]
    Remote,
    /// Additionally loopback (127.0.0.0/8, ::1, localhost), http or https.
    Local,
    /// Additionally loopback and private LAN ranges (RFC 1918, fc00::/7).
    Private,
}

impl NetworkAllowance {
    pub fn allows_http(self) -> bool {
        !matches!(self, Self::Remote)
    }
    pub fn allows_loopback(self) -> bool {
        !matches!(self, Self::Remote)
    }
    pub fn allows_private(self) -> bool {
        matches!(self, Self::Private)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Remote => "remote",
            Self::Local => "local",
            Self::Private => "private",
        }
    }
}

/// How requests authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    /// `Authorization: Bearer <key>`, the key in the keychain.
    ApiKey,
    /// No `Authorization` header is ever sent (Ollama, LM Studio, vLLM, …).
    None,
}

/// A custom request header. Secret values are in the keychain; `value` is
/// then `None` and `hint` holds the masked form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomHeader {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default)]
    pub secret: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Metadata discovery learnt about one upstream model (issue: discovery).
/// All optional: servers publish very different subsets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_modalities: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_tools: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
}

/// A model the provider offers, as chosen by the user. `id` is the raw
/// upstream id, kept byte-for-byte (`google/gemini-2.5-flash`,
/// `hf.co/org/model-GGUF:Q6_K`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelEntry {
    pub id: String,
    #[serde(default, skip_serializing_if = "is_default_metadata")]
    pub metadata: ModelMetadata,
    /// Set by a discovery refresh when the upstream list no longer has it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing_upstream: bool,
}

fn is_default_metadata(metadata: &ModelMetadata) -> bool {
    *metadata == ModelMetadata::default()
}

/// The result of the last connection test, kept for the list and the
/// picker entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastTest {
    pub ok: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// One sentence for the list, e.g. "12 models, 84 ms" or the failure hint.
    pub summary: String,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigDocument {
    pub version: u64,
    #[serde(default)]
    pub providers: Vec<ProviderRecord>,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for ConfigDocument {
    fn default() -> Self {
        Self { version: CONFIG_VERSION, providers: Vec::new(), extra: Map::new() }
    }
}

/// One provider as stored. Field names are the documented schema; see
/// `docs/config.md`. Never contains a secret: keys and secret header values
/// are in the OS keychain under the provider id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderRecord {
    pub id: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    pub base_url: String,
    pub auth: Auth,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_hint: Option<String>,
    pub models: Vec<ModelEntry>,
    pub enabled: bool,
    #[serde(default)]
    pub network: NetworkAllowance,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<CustomHeader>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_cert_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_test: Option<LastTest>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
