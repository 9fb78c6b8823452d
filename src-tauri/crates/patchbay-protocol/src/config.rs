//! The shared config file `providers.json`, schema version 1: the on-disk
//! DTOs. `patchbay-core` validates these into domain types on load and is the
//! only writer; host apps may read the file (see `docs/config.md`).
//!
//! Unknown fields are preserved at every level (`extra`), so a newer
//! Patchbay's additions survive an older one's write.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::kind::Kind;

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

/// Which API the provider speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// OpenAI-compatible: `Authorization: Bearer`, `{base}/models`,
    /// `{base}/chat/completions`.
    #[default]
    Openai,
    /// Azure OpenAI: the key as `api-key`; the v1 API
    /// (`…/openai/v1`, OpenAI-compatible paths, no `api-version`) or, with
    /// an `api_version`, the classic deployments API
    /// (`…/openai/deployments/{deployment}/chat/completions?api-version=…`).
    /// Model ids are deployment names.
    AzureOpenai,
    /// Anthropic's Messages API: `x-api-key` and `anthropic-version`
    /// headers, `{base}/models`, `{base}/messages`. Patchbay's gateway
    /// translates OpenAI chat completions to it and back.
    Anthropic,
}

impl Api {
    pub fn is_default(&self) -> bool {
        *self == Api::Openai
    }
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

impl CustomHeader {
    /// The value to show or export: `None` for a secret header (its value
    /// is in the keychain, and only the hint may be shown).
    pub fn shown_value(&self) -> Option<String> {
        if self.secret {
            None
        } else {
            self.value.clone()
        }
    }
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
    /// The person's name for the model, used in entry labels instead of
    /// the discovered name or the id. Survives refreshes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Kept in the provider's list but not offered to host apps (no entry,
    /// not in the gateway's model list, refused by `entries.resolve`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    /// What the last capability check found ("Check capabilities" /
    /// `patchbay model check`). Survives refreshes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probed: Option<crate::capabilities::ProbedCapabilities>,
}

impl ModelEntry {
    /// A chosen model with nothing known about it yet.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            metadata: ModelMetadata::default(),
            missing_upstream: false,
            display_name: None,
            hidden: false,
            probed: None,
        }
    }

    /// The name entry labels use: the person's display name, else the
    /// discovered name, else the raw id.
    pub fn shown_name(&self) -> &str {
        self.display_name
            .as_deref()
            .or(self.metadata.name.as_deref())
            .unwrap_or(&self.id)
    }
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

/// Why a provider has no `last_test`: something its last test depended on
/// changed since (`{"change": "key", "at": "…"}`). Cleared by the next test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UntestedSince {
    pub change: UntestedChange,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// What changed since a provider's last test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UntestedChange {
    /// The API key or a secret header value was replaced or removed.
    Key,
    /// The base URL, network allowance, authentication, headers or proxy.
    Connection,
}

/// The model list discovery last fetched for a provider (everything the
/// server listed, not only the chosen models), and how the last refresh
/// went. A failed refresh keeps `models` and `fetched_at` and sets `stale`
/// and `last_error`, so a picker can still offer the last good list and say
/// how old it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// When `models` was fetched; `None` when no refresh has succeeded yet.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub fetched_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub models: Vec<ModelEntry>,
    /// True when the last refresh failed (so `models` may be out of date).
    #[serde(default)]
    pub stale: bool,
    /// Why the last refresh failed: a safe, short message (never a
    /// provider's raw body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the last refresh ran, successful or not.
    #[serde(with = "time::serde::rfc3339")]
    pub last_attempt_at: OffsetDateTime,
}

/// The whole file.
///
/// Provider entries that do not have the shape of a [`ProviderRecord`] (a
/// hand edit gone wrong, a field of the wrong type) are not dropped: they are
/// kept verbatim in [`ConfigDocument::rejected`] and written back at their
/// original position, so fixing the file by hand loses nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigDocument {
    pub version: u64,
    pub providers: Vec<ProviderRecord>,
    /// Provider entries that could not be read, kept as they were.
    pub rejected: Vec<RejectedRecord>,
    /// Fields this version does not know, kept as they were.
    pub extra: Map<String, Value>,
}

impl Default for ConfigDocument {
    fn default() -> Self {
        Self {
            version: CONFIG_VERSION,
            providers: Vec::new(),
            rejected: Vec::new(),
            extra: Map::new(),
        }
    }
}

/// A provider entry of the file that is not a valid [`ProviderRecord`].
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRecord {
    /// Its position in the file's `providers` array.
    pub index: usize,
    /// Its `id`, when it has a string one.
    pub id: Option<String>,
    /// Why it could not be read (never contains field values).
    pub message: String,
    /// The entry exactly as it was in the file.
    pub raw: Value,
}

/// Why [`read_document`] could not read a file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadError {
    /// Not JSON, not an object, or no usable `version`.
    Malformed(String),
    /// Written by a newer Patchbay: read nothing and never overwrite it.
    NewerVersion { found: u64 },
}

impl ReadError {
    /// [`Kind::ConfigInvalid`] or [`Kind::UnsupportedVersion`], for
    /// callers that branch on it.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Malformed(_) => Kind::ConfigInvalid,
            Self::NewerVersion { .. } => Kind::UnsupportedVersion,
        }
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(detail) => f.write_str(detail),
            Self::NewerVersion { found } => {
                write!(
                    f,
                    "config version {found} is newer than the supported version {CONFIG_VERSION}"
                )
            }
        }
    }
}

impl std::error::Error for ReadError {}

impl ConfigDocument {
    /// Serialises the document as written to disk: pretty, two-space
    /// indented, with a trailing newline, so hand edits and diffs stay easy.
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// Reads `providers.json`. Checks `version` first: a newer version is an
/// error (the caller must leave the file untouched); an entry of the wrong
/// shape lands in [`ConfigDocument::rejected`] instead of failing the file.
pub fn read_document(bytes: &[u8]) -> Result<ConfigDocument, ReadError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|error| ReadError::Malformed(format!("not valid JSON: {error}")))?;
    let Value::Object(object) = value else {
        return Err(ReadError::Malformed(
            "the top level is not a JSON object".to_owned(),
        ));
    };
    let version = match object.get("version") {
        Some(Value::Number(number)) => number.as_u64().ok_or_else(|| {
            ReadError::Malformed("`version` is not a positive integer".to_owned())
        })?,
        Some(_) => return Err(ReadError::Malformed("`version` is not a number".to_owned())),
        None => return Err(ReadError::Malformed("`version` is missing".to_owned())),
    };
    if version > CONFIG_VERSION {
        return Err(ReadError::NewerVersion { found: version });
    }
    if version < CONFIG_VERSION {
        return Err(ReadError::Malformed(format!(
            "unknown config version {version}"
        )));
    }
    let mut document = ConfigDocument {
        version,
        ..ConfigDocument::default()
    };
    for (key, value) in object {
        match key.as_str() {
            "version" => {}
            "providers" => read_providers(value, &mut document)?,
            _ => {
                document.extra.insert(key, value);
            }
        }
    }
    Ok(document)
}

fn read_providers(value: Value, document: &mut ConfigDocument) -> Result<(), ReadError> {
    let entries = match value {
        Value::Array(entries) => entries,
        Value::Null => Vec::new(),
        _ => {
            return Err(ReadError::Malformed(
                "`providers` is not an array".to_owned(),
            ))
        }
    };
    for (index, raw) in entries.into_iter().enumerate() {
        match serde_json::from_value::<ProviderRecord>(raw.clone()) {
            Ok(record) => document.providers.push(record),
            Err(error) => document.rejected.push(RejectedRecord {
                index,
                id: raw.get("id").and_then(Value::as_str).map(str::to_owned),
                message: describe_shape_error(&error),
                raw,
            }),
        }
    }
    Ok(())
}

/// serde_json's messages name fields and expected types, never values,
/// except `invalid value: string "…"`, which could echo a mistyped secret
/// pasted into the wrong field: keep only the part before the value.
fn describe_shape_error(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.find(": string \"") {
        Some(position) => format!("{} (value not shown)", &message[..position]),
        None => message,
    }
}

impl Serialize for ConfigDocument {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;

        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("version", &self.version)?;
        map.serialize_entry("providers", &MergedProviders(self))?;
        for (key, value) in &self.extra {
            if key != "version" && key != "providers" {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// The valid records with the rejected ones put back at their original
/// index (or at the end when the list has since shrunk).
struct MergedProviders<'a>(&'a ConfigDocument);

impl Serialize for MergedProviders<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;

        let document = self.0;
        let total = document.providers.len() + document.rejected.len();
        let mut sequence = serializer.serialize_seq(Some(total))?;
        let mut valid = document.providers.iter();
        let mut rejected: Vec<&RejectedRecord> = document.rejected.iter().collect();
        rejected.sort_by_key(|record| record.index);
        let mut rejected = rejected.into_iter().peekable();
        for position in 0..total {
            if rejected
                .peek()
                .is_some_and(|record| record.index <= position)
            {
                if let Some(record) = rejected.next() {
                    sequence.serialize_element(&record.raw)?;
                    continue;
                }
            }
            match valid.next() {
                Some(record) => sequence.serialize_element(record)?,
                None => {
                    if let Some(record) = rejected.next() {
                        sequence.serialize_element(&record.raw)?;
                    }
                }
            }
        }
        sequence.end()
    }
}

impl<'de> Deserialize<'de> for ConfigDocument {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let bytes = serde_json::to_vec(&value).map_err(serde::de::Error::custom)?;
        read_document(&bytes).map_err(serde::de::Error::custom)
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
    /// The origin (`https://host[:port]`) the stored key and secret header
    /// values were given for. A copy for display: the keychain item keeps
    /// its own, and editing this field moves nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_origin: Option<String>,
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
    /// An http(s) proxy for this provider only (`http://proxy.corp:3128`),
    /// without credentials. Loopback destinations never use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// The user name for the proxy (HTTP Basic); its password is in the
    /// keychain, bound to the proxy's origin. Needs `proxy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_username: Option<String>,
    /// CA certificates (PEM, one or more) trusted for this provider besides
    /// the system's and the bundled roots: the certificate itself, not a path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificate: Option<String>,
    /// The API the provider speaks (default `openai`).
    #[serde(default, skip_serializing_if = "Api::is_default")]
    pub api: Api,
    /// Azure OpenAI's classic deployments API version (`2024-10-21`); absent
    /// means the v1 API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_test: Option<LastTest>,
    /// Set instead of `last_test` when the key or the connection changed
    /// since the last test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untested_since: Option<UntestedSince>,
    /// The last model list discovery fetched, kept when a refresh fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<Catalog>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn provider(id: &str) -> Value {
        json!({
            "id": id, "label": id.to_uppercase(), "base_url": "https://example.com/v1",
            "auth": "api_key", "key_hint": "sk-…abcd", "models": [{"id": "m/1:q"}],
            "enabled": true, "network": "remote", "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-02T00:00:00Z"
        })
    }

    #[test]
    fn round_trip_preserves_unknown_fields_at_both_levels() {
        let mut first = provider("a");
        first["future_field"] = json!({"nested": [1, 2, 3]});
        first["models"][0]["future_model_field"] = json!("kept?");
        let file = json!({
            "version": 1,
            "providers": [first],
            "ui_hint": "keep me",
        });
        let bytes = serde_json::to_vec(&file).expect("serialise");
        let document = read_document(&bytes).expect("read");
        assert_eq!(document.providers.len(), 1);
        assert_eq!(document.extra["ui_hint"], "keep me");
        assert_eq!(
            document.providers[0].extra["future_field"],
            json!({"nested": [1, 2, 3]})
        );
        let written: Value =
            serde_json::from_slice(&document.to_bytes().expect("bytes")).expect("parse");
        assert_eq!(written["ui_hint"], "keep me");
        assert_eq!(written["version"], 1);
        assert_eq!(
            written["providers"][0]["future_field"],
            json!({"nested": [1, 2, 3]})
        );
        assert_eq!(written["providers"][0]["models"][0]["id"], "m/1:q");
        // Re-reading what was written gives the same document.
        let again = read_document(&document.to_bytes().expect("bytes")).expect("reread");
        assert_eq!(again, document);
    }

    #[test]
    fn proxy_and_catalog_round_trip_and_are_omitted_when_absent() {
        let plain = read_document(
            &serde_json::to_vec(&json!({"version": 1, "providers": [provider("a")]})).expect("ser"),
        )
        .expect("read");
        let written: Value =
            serde_json::from_slice(&plain.to_bytes().expect("bytes")).expect("parse");
        assert!(written["providers"][0].get("proxy").is_none());
        assert!(written["providers"][0].get("catalog").is_none());

        let mut with_both = provider("b");
        with_both["proxy"] = json!("http://proxy.corp:3128");
        with_both["catalog"] = json!({
            "fetched_at": "2026-03-01T10:00:00Z",
            "models": [{"id": "m/1:q"}, {"id": "gone", "missing_upstream": true}],
            "stale": true,
            "last_error": "This URL serves a web page, not an OpenAI-compatible API.",
            "last_attempt_at": "2026-03-02T10:00:00Z"
        });
        let document = read_document(
            &serde_json::to_vec(&json!({"version": 1, "providers": [with_both.clone()]}))
                .expect("ser"),
        )
        .expect("read");
        let record = &document.providers[0];
        assert_eq!(record.proxy.as_deref(), Some("http://proxy.corp:3128"));
        let catalog = record.catalog.as_ref().expect("catalog");
        assert!(catalog.stale);
        assert_eq!(catalog.models.len(), 2);
        assert!(catalog.models[1].missing_upstream);
        assert!(
            record.extra.is_empty(),
            "known fields are not extra: {:?}",
            record.extra
        );
        let written: Value =
            serde_json::from_slice(&document.to_bytes().expect("bytes")).expect("parse");
        assert_eq!(written["providers"][0]["catalog"], with_both["catalog"]);
        assert_eq!(written["providers"][0]["proxy"], with_both["proxy"]);
    }

    #[test]
    fn newer_version_is_refused() {
        let error =
            read_document(br#"{"version": 2, "providers": {"new": "shape"}}"#).expect_err("newer");
        assert_eq!(error, ReadError::NewerVersion { found: 2 });
        assert_eq!(error.kind(), Kind::UnsupportedVersion);
    }

    #[test]
    fn malformed_files_are_refused() {
        for bytes in [
            &b"{"[..],
            b"[]",
            b"{}",
            b"{\"version\": \"1\"}",
            b"{\"version\": 0}",
            b"{\"version\": -1}",
            b"{\"version\": 1, \"providers\": 3}",
        ] {
            let error = read_document(bytes).expect_err("malformed");
            assert_eq!(
                error.kind(),
                Kind::ConfigInvalid,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert!(read_document(b"{\"version\": 1}")
            .expect("no providers")
            .providers
            .is_empty());
    }

    #[test]
    fn wrongly_shaped_entries_are_kept_in_place() {
        let mut broken = provider("b");
        broken["models"] = json!("not-a-list");
        let secretish = json!({"id": 7, "label": "x", "auth": "sk-secret-value-in-wrong-field"});
        let file =
            json!({"version": 1, "providers": [provider("a"), broken, provider("c"), secretish]});
        let document = read_document(&serde_json::to_vec(&file).expect("ser")).expect("read");
        assert_eq!(document.providers.len(), 2);
        assert_eq!(document.rejected.len(), 2);
        assert_eq!(document.rejected[0].index, 1);
        assert_eq!(document.rejected[0].id.as_deref(), Some("b"));
        assert_eq!(document.rejected[1].id, None);
        assert!(
            !document.rejected[1].message.contains("sk-secret"),
            "{}",
            document.rejected[1].message
        );
        let written: Value =
            serde_json::from_slice(&document.to_bytes().expect("bytes")).expect("parse");
        assert_eq!(written["providers"], file["providers"]);

        // A valid record removed before the rejected one: the rejected
        // entries still all come back.
        let mut shrunk = document.clone();
        shrunk.providers.clear();
        let written: Value =
            serde_json::from_slice(&shrunk.to_bytes().expect("bytes")).expect("parse");
        assert_eq!(
            written["providers"],
            json!([file["providers"][1], file["providers"][3]])
        );
    }

    #[test]
    fn serde_deserialize_goes_through_read_document() {
        let document: ConfigDocument =
            serde_json::from_value(json!({"version": 1, "providers": [provider("a")], "x": 1}))
                .expect("deserialise");
        assert_eq!(document.providers[0].id, "a");
        assert!(serde_json::from_value::<ConfigDocument>(json!({"version": 9})).is_err());
    }
}
