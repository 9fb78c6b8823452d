//! The frames of Patchbay's local IPC channel: JSON-RPC 2.0, one JSON object
//! per line (`\n`-terminated, UTF-8, at most [`MAX_FRAME_BYTES`]), plus the
//! method names, error codes and the params/result shapes of every method.
//!
//! The server (`patchbay-ipc`) and the client crate (`patchbay-client`) both
//! use these types, so the wire format is defined once. `docs/ipc.md` is the
//! human-readable form of this module.

use std::collections::BTreeMap;
use std::fmt;

use crate::kind::Kind;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::entries::PickerEntry;

/// The version of the method set and frame shapes described here. Bumped only
/// for incompatible changes; new methods and new optional fields are added
/// without a bump, so hosts check [`HelloResult::methods`] for features.
pub const PROTOCOL_VERSION: u32 = 1;

/// Every protocol version this crate speaks. Version 2 changes one answer:
/// `entries.resolve` hands out the local gateway and the host's own token
/// instead of the provider's key. A host asks for it in `patchbay.hello`
/// (`{"protocols": [1, 2]}`) and in `entries.resolve` (`"protocol": 2`);
/// a host that names no version speaks version 1.
pub const PROTOCOL_VERSIONS: &[u32] = &[1, 2];

/// The newest of [`PROTOCOL_VERSIONS`].
pub const LATEST_PROTOCOL: u32 = 2;

/// The JSON-RPC version string every frame carries.
pub const JSONRPC_VERSION: &str = "2.0";

/// The largest frame a client may send (the server skips anything larger and
/// answers `-32008`), newline excluded. Requests are small; anything larger
/// is a broken or hostile peer.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;

/// The largest frame the server sends, newline excluded, so a client can
/// bound its buffer. Answers and notifications carrying the entry list grow
/// by about 300 bytes per entry and pass [`MAX_FRAME_BYTES`] at a few
/// thousand entries (four providers with 1,024 models each), so this cap is
/// separate and much larger.
pub const MAX_SERVER_FRAME_BYTES: usize = 64 * 1024 * 1024;

/// Method and notification names.
pub mod methods {
    /// Handshake: protocol version, app version, supported methods.
    pub const HELLO: &str = "patchbay.hello";
    /// The current picker entries.
    pub const ENTRIES_LIST: &str = "entries.list";
    /// Subscribe this connection to [`ENTRIES_CHANGED`] notifications.
    pub const ENTRIES_SUBSCRIBE: &str = "entries.subscribe";
    /// Stop [`ENTRIES_CHANGED`] notifications on this connection.
    pub const ENTRIES_UNSUBSCRIBE: &str = "entries.unsubscribe";
    /// Notification (server → client): the full new entry list.
    pub const ENTRIES_CHANGED: &str = "entries.changed";
    /// What a request to one entry needs (paired hosts only).
    pub const ENTRIES_RESOLVE: &str = "entries.resolve";
    /// Providers without secrets.
    pub const PROVIDERS_LIST: &str = "providers.list";
    /// The staged connection test of one provider.
    pub const PROVIDER_TEST: &str = "provider.test";
    /// Ask the person to pair this host; waits for the decision.
    pub const HOST_PAIR: &str = "host.pair";
    /// Admin: paired hosts.
    pub const HOSTS_LIST: &str = "hosts.list";
    /// Admin: pairing requests waiting for a decision.
    pub const HOSTS_PENDING: &str = "hosts.pending";
    /// Admin: allow a pending request.
    pub const HOSTS_APPROVE: &str = "hosts.approve";
    /// Admin: refuse a pending request.
    pub const HOSTS_DENY: &str = "hosts.deny";
    /// Admin: forget a paired host; its token stops working.
    pub const HOSTS_REVOKE: &str = "hosts.revoke";
    /// Admin: the most recent resolves.
    pub const HOSTS_RESOLVE_LOG: &str = "hosts.resolve_log";
    /// Admin: the pending requests now, then [`HOSTS_PAIRING_REQUESTED`] and
    /// [`HOSTS_CHANGED`] notifications on this connection.
    pub const HOSTS_SUBSCRIBE: &str = "hosts.subscribe";
    /// Admin: stop the [`HOSTS_SUBSCRIBE`] notifications on this connection.
    pub const HOSTS_UNSUBSCRIBE: &str = "hosts.unsubscribe";
    /// Notification (server → admin client): a host asked to pair; the
    /// params are the [`super::PendingPairing`].
    pub const HOSTS_PAIRING_REQUESTED: &str = "hosts.pairing_requested";
    /// Notification (server → admin client): a request was decided or
    /// expired, or a host was paired, revoked or used
    /// ([`super::HostsChanged`]).
    pub const HOSTS_CHANGED: &str = "hosts.changed";
}

/// Error codes in [`ErrorObject::code`]. The standard JSON-RPC ones, then
/// Patchbay's in the implementation-defined range -32000..=-32099. Every
/// error also carries `data.kind`, a stable snake_case name to branch on.
pub mod codes {
    /// The frame is not valid JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Valid JSON but not a JSON-RPC request (also: frame too large).
    pub const INVALID_REQUEST: i64 = -32600;
    /// No such method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// The params do not have the documented shape.
    pub const INVALID_PARAMS: i64 = -32602;
    /// The server failed; the message says how.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// The token is unknown or was revoked: pair again.
    pub const UNAUTHORIZED: i64 = -32001;
    /// The person refused the pairing request.
    pub const PAIRING_DENIED: i64 = -32002;
    /// Nobody decided within the pairing timeout (or the server stopped).
    pub const PAIRING_TIMEOUT: i64 = -32003;
    /// The pairing request id is not pending (already decided or expired).
    pub const PAIRING_NOT_PENDING: i64 = -32004;
    /// The entry, provider or host does not exist (or is disabled).
    pub const NOT_FOUND: i64 = -32005;
    /// The connection test could not run (the report itself is a result,
    /// even when a stage failed).
    pub const TEST_FAILED: i64 = -32006;
    /// Too many connections or requests in flight; retry later.
    pub const BUSY: i64 = -32007;
    /// The frame exceeded [`super::MAX_FRAME_BYTES`].
    pub const FRAME_TOO_LARGE: i64 = -32008;
    /// The keychain could not be read (locked, missing, timed out).
    pub const KEYCHAIN: i64 = -32009;
    /// The shared config could not be read or written.
    pub const CONFIG: i64 = -32010;
}

/// A request or notification id: a number or a string (JSON-RPC also allows
/// `null`, which this protocol uses only in error responses to frames whose
/// id could not be read).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    Number(i64),
    String(String),
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(number) => write!(f, "{number}"),
            Self::String(text) => f.write_str(text),
        }
    }
}

/// A client → server frame. Without an `id` it is a notification and gets no
/// response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub jsonrpc: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RequestId>,
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

impl Request {
    pub fn new(id: RequestId, method: &str, params: Option<Value>) -> Self {
        Self {
            jsonrpc: JSONRPC_VERSION.to_owned(),
            id: Some(id),
            method: method.to_owned(),
            params,
        }
    }
}

/// The result of a request: exactly one of `result` or `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Result(Value),
    Error(ErrorObject),
}

/// A server → client answer to one request. `id` is `None` (serialised as
/// `null`) only when the request's id could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub jsonrpc: String,
    pub id: Option<RequestId>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Response {
    pub fn success(id: RequestId, result: Value) -> Self {
        Self {
            jsonrpc: JSONRPC_VERSION.to_owned(),
            id: Some(id),
            outcome: Outcome::Result(result),
        }
    }

    pub fn failure(id: Option<RequestId>, error: ErrorObject) -> Self {
        Self {
            jsonrpc: JSONRPC_VERSION.to_owned(),
            id,
            outcome: Outcome::Error(error),
        }
    }
}

/// A server → client frame that answers nothing (`entries.changed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub jsonrpc: String,
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

impl Notification {
    pub fn new(method: &str, params: Option<Value>) -> Self {
        Self {
            jsonrpc: JSONRPC_VERSION.to_owned(),
            method: method.to_owned(),
            params,
        }
    }
}

/// A JSON-RPC error. `data` is `{"kind": "<snake_case>"}` (plus
/// method-specific fields), so hosts branch on `code` or `data.kind`, never on
/// `message`, which is written for people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    pub code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error with `data: {"kind": kind}`.
    pub fn new(code: i64, kind: &str, message: impl Into<String>) -> Self {
        let mut data = serde_json::Map::new();
        data.insert("kind".to_owned(), Value::String(kind.to_owned()));
        Self {
            code,
            message: message.into(),
            data: Some(Value::Object(data)),
        }
    }

    /// The error of `kind`: its documented code, and `data: {"kind",
    /// "reason"}` (see [`Kind`]).
    pub fn of(kind: Kind, message: impl Into<String>) -> Self {
        let mut data = serde_json::Map::new();
        data.insert("kind".to_owned(), Value::String(kind.as_str().to_owned()));
        data.insert("reason".to_owned(), Value::String(kind.reason().to_owned()));
        Self {
            code: kind.rpc_code().unwrap_or(codes::INTERNAL_ERROR),
            message: message.into(),
            data: Some(Value::Object(data)),
        }
    }

    /// `data.kind`, when present.
    pub fn kind(&self) -> Option<&str> {
        self.data.as_ref()?.get("kind")?.as_str()
    }

    /// `data.reason` (the precise kind), when present.
    pub fn reason(&self) -> Option<&str> {
        self.data.as_ref()?.get("reason")?.as_str()
    }
}

/// Any frame a client may read from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerFrame {
    Response(Response),
    Notification(Notification),
}

impl ServerFrame {
    /// Parses one line (without its newline). A frame with a `method` and no
    /// `id` is a notification; everything else must be a response.
    pub fn parse(line: &[u8]) -> Result<Self, serde_json::Error> {
        let value: Value = serde_json::from_slice(line)?;
        let is_notification = value.get("method").is_some() && value.get("id").is_none();
        if is_notification {
            serde_json::from_value(value).map(Self::Notification)
        } else {
            serde_json::from_value(value).map(Self::Response)
        }
    }
}

// ---- Params and results of each method -------------------------------------

/// `patchbay.hello` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelloResult {
    /// [`PROTOCOL_VERSION`] of the server.
    pub protocol: u32,
    /// The Patchbay version serving, e.g. `0.1.0`.
    pub app_version: String,
    /// Every method this server answers.
    pub methods: Vec<String>,
    /// Every protocol version the server speaks (added with version 2;
    /// absent from older servers, which speak only version 1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protocols: Vec<u32>,
    /// Patchbay's local OpenAI-compatible gateway, while it runs (added
    /// within version 1; absent when it is switched off or could not start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayInfo>,
}

/// Where the gateway listens: `{"base_url": "http://127.0.0.1:4141/v1"}`.
/// Host apps use this URL (or the runtime file `gateway.json`), never a
/// port they assume: another user of the machine could hold the default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayInfo {
    pub base_url: String,
}

/// `patchbay.hello` params, optional: the versions the host speaks. The
/// answer's `protocol` is the newest both speak (1 when none is named).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloParams {
    #[serde(default)]
    pub protocols: Vec<u32>,
}

/// `entries.list` params, all optional. A host that already holds a list
/// sends its `etag` as `if_none_match`; when the entries have not changed
/// since, the answer is a few bytes ([`EntriesUnchanged`]) instead of the
/// whole list again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_none_match: Option<String>,
}

/// `entries.list` result and `entries.changed` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntriesResult {
    /// An opaque tag of exactly this list: the same entries always have
    /// the same tag, across server restarts too, and different entries a
    /// different one. Absent from servers older than the tag (read as "").
    #[serde(default)]
    pub etag: String,
    pub entries: Vec<PickerEntry>,
}

/// `entries.list` result when the request's `if_none_match` is the current
/// tag: `{"etag": "…", "unchanged": true}`, no entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntriesUnchanged {
    pub etag: String,
    /// Always `true`.
    pub unchanged: bool,
}

/// `entries.subscribe` result: the entries at the moment of subscribing, so
/// a host needs no separate `entries.list` and misses no change in between.
pub type SubscribeResult = EntriesResult;

/// `providers.list` params: none. The result is
/// `{"providers": [ProviderView…]}` as documented in `docs/ipc.md`; it has no
/// secret field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvidersResult {
    pub providers: Vec<Value>,
}

/// `provider.test` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderTestParams {
    /// A paired host's token (`host.pair`): the test sends the provider's
    /// stored key, so only an app the person allowed may start one.
    #[serde(default)]
    pub token: String,
    pub provider_id: String,
    /// Also run the chat probe on this model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// `host.pair` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairParams {
    /// A stable reverse-DNS style id of the host app, e.g. `com.example.editor`
    /// (1–128 characters of `[A-Za-z0-9._-]`).
    pub app_id: String,
    /// What the person sees: "Allow <app_name> to use your AI endpoints?"
    /// (1–64 characters, no control characters).
    pub app_name: String,
}

/// `host.pair` result, sent once on approval. The server keeps only a
/// SHA-256 hash of `token`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairResult {
    pub app_id: String,
    pub token: String,
}

impl fmt::Debug for PairResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairResult")
            .field("app_id", &self.app_id)
            .field("token", &"[redacted]")
            .finish()
    }
}

/// `entries.resolve` params.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveParams {
    pub token: String,
    /// A picker entry id, `<provider_id>/<model_id>`.
    pub entry_id: String,
    /// The protocol version the host speaks: 2 gets the gateway and its own
    /// token; absent (or 1) asks for the provider's key, which the person
    /// must have allowed for this app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<u32>,
}

impl fmt::Debug for ResolveParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolveParams")
            .field("token", &"[redacted]")
            .field("entry_id", &self.entry_id)
            .finish()
    }
}

/// `entries.resolve` result: everything an OpenAI-compatible request to the
/// entry needs. `headers` holds secrets (`Authorization: Bearer …`, secret
/// custom headers), so `Debug` prints header names only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveResult {
    pub entry_id: String,
    /// The provider's base URL, e.g. `https://openrouter.ai/api/v1`; append
    /// `/chat/completions`.
    pub base_url: String,
    /// The raw upstream model id, byte-for-byte.
    pub model_id: String,
    /// Header name → value. No `Authorization` for a no-auth provider.
    pub headers: BTreeMap<String, String>,
}

impl fmt::Debug for ResolveResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.keys().map(String::as_str).collect();
        f.debug_struct("ResolveResult")
            .field("entry_id", &self.entry_id)
            .field("base_url", &self.base_url)
            .field("model_id", &self.model_id)
            .field("header_names", &names)
            .finish()
    }
}

/// A pairing request waiting for the person's decision (`hosts.pending`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingPairing {
    /// Short id used by `hosts.approve` / `hosts.deny` and
    /// `patchbay hosts approve <request_id>`.
    pub request_id: String,
    pub app_id: String,
    pub app_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The process that asked, as the OS reports the connection's peer:
    /// `None` where it cannot be told safely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<Requester>,
    /// The pairing this request would replace: `app_id` is already paired
    /// (with this name, since then). Allowing it revokes that app's token,
    /// so the prompt must say so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<PairedHost>,
}

/// A paired host (`hosts.list`). No token or hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedHost {
    pub app_id: String,
    pub app_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub paired_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_used: Option<OffsetDateTime>,
    /// The person allowed this app to receive raw keys from
    /// `entries.resolve` (protocol 1); off by default.
    #[serde(default)]
    pub raw_keys: bool,
    /// The entries (`<provider_id>/<model_id>`) the person limited this app
    /// to; absent: every enabled entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<String>>,
}

impl PairedHost {
    /// Whether this app may use `entry_id` (the person's limit, if any).
    pub fn may_use(&self, entry_id: &str) -> bool {
        self.entries
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|allowed| allowed == entry_id))
    }
}

/// One recorded `entries.resolve` (`hosts.resolve_log`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolveRecord {
    pub app_id: String,
    pub app_name: String,
    pub entry_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The process that resolved, as the OS reports the connection's peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<Requester>,
}

/// A process on the other end of an IPC connection, from the OS (peer
/// credentials), never from what it claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    pub pid: u32,
    /// Its executable (Linux: `/proc/<pid>/exe`); `None` where unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
}

/// `hosts.approve` / `hosts.deny` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionParams {
    pub request_id: String,
    /// The admin secret only Patchbay's own window and CLI can read (a
    /// keychain item): proof that the person, not the requester, decides.
    #[serde(default)]
    pub admin: String,
}

/// `hosts.revoke` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeParams {
    pub app_id: String,
    /// The admin secret (see [`DecisionParams::admin`]).
    #[serde(default)]
    pub admin: String,
}

/// `hosts.revoke` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeResult {
    /// False when no host with that id was paired.
    pub revoked: bool,
}

/// `hosts.list` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostsResult {
    pub hosts: Vec<PairedHost>,
}

/// `hosts.pending` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingResult {
    pub pending: Vec<PendingPairing>,
}

/// `hosts.resolve_log` result, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolveLogResult {
    pub records: Vec<ResolveRecord>,
}

/// `hosts.subscribe` result: the requests waiting at the moment of
/// subscribing. Every request that arrives later comes as a
/// `hosts.pairing_requested` notification, so none is missed or repeated.
pub type HostsSubscribeResult = PendingResult;

/// `hosts.changed` params: what happened, and to which request or host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostsChanged {
    /// `approved`, `denied`, `expired`, `revoked`, `resolved`, or `lagged`
    /// (this subscriber missed notifications: re-read `hosts.pending`).
    /// New reasons may be added; treat unknown ones as "re-read".
    pub reason: String,
    /// The request this is about (`approved`, `denied`, `expired`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The host this is about (every reason but `lagged`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_round_trip_keeps_string_and_number_ids() {
        let line = r#"{"jsonrpc":"2.0","id":"a-1","method":"entries.list"}"#;
        let request: Request = serde_json::from_str(line).expect("valid request");
        assert_eq!(request.id, Some(RequestId::String("a-1".into())));
        assert_eq!(serde_json::to_string(&request).expect("serialises"), line);

        let numbered = Request::new(RequestId::Number(7), methods::HELLO, None);
        assert_eq!(
            serde_json::to_value(&numbered).expect("serialises"),
            json!({"jsonrpc": "2.0", "id": 7, "method": "patchbay.hello"})
        );
    }

    #[test]
    fn responses_carry_exactly_one_of_result_or_error() {
        let ok = Response::success(RequestId::Number(1), json!({"x": 1}));
        assert_eq!(
            serde_json::to_value(&ok).expect("serialises"),
            json!({"jsonrpc": "2.0", "id": 1, "result": {"x": 1}})
        );
        let failed = Response::failure(
            None,
            ErrorObject::new(codes::PARSE_ERROR, "parse_error", "bad"),
        );
        assert_eq!(
            serde_json::to_value(&failed).expect("serialises"),
            json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "bad", "data": {"kind": "parse_error"}}})
        );
    }

    #[test]
    fn server_frames_are_told_apart() {
        let notification =
            br#"{"jsonrpc":"2.0","method":"entries.changed","params":{"entries":[]}}"#;
        assert!(matches!(
            ServerFrame::parse(notification),
            Ok(ServerFrame::Notification(_))
        ));
        let response = br#"{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"no"}}"#;
        match ServerFrame::parse(response) {
            Ok(ServerFrame::Response(response)) => {
                assert_eq!(response.id, Some(RequestId::Number(3)));
                assert!(
                    matches!(response.outcome, Outcome::Error(ref error) if error.code == -32601)
                );
            }
            other => panic!("expected a response, got {other:?}"),
        }
        assert!(ServerFrame::parse(br#"{"jsonrpc":"2.0","id":3}"#).is_err());
    }

    #[test]
    fn debug_of_secret_bearing_results_redacts_values() {
        let mut headers = BTreeMap::new();
        headers.insert(
            "Authorization".to_owned(),
            "Bearer sk-canary-123456".to_owned(),
        );
        let resolved = ResolveResult {
            entry_id: "p/m".into(),
            base_url: "https://h/v1".into(),
            model_id: "m".into(),
            headers,
        };
        let printed = format!("{resolved:?}");
        assert!(printed.contains("Authorization"));
        assert!(!printed.contains("sk-canary"));
        let paired = PairResult {
            app_id: "a".into(),
            token: "pbt_canary".into(),
        };
        assert!(!format!("{paired:?}").contains("canary"));
        let params = ResolveParams {
            token: "pbt_canary".into(),
            entry_id: "p/m".into(),
            protocol: Some(LATEST_PROTOCOL),
        };
        assert!(!format!("{params:?}").contains("canary"));
    }
}
