//! The one error vocabulary. Every error any Patchbay boundary reports — an
//! IPC error's `data.kind`, the CLI's `{"error": {"kind"}}`, the window's
//! command errors, a connection-test stage's `failure.kind` — is a [`Kind`].
//!
//! Each variant has one meaning. Its *wire kind* ([`Kind::as_str`]) is the
//! documented string, kept as version 1 promised, so a few wire kinds name
//! several variants (`not_found` is a missing provider, entry or host, or an
//! HTTP 404 from a provider; `unauthorized` a rejected API key or a
//! rejected host token; `timeout` a provider that did not answer or a
//! Patchbay that did not answer; `invalid_request` a frame that is not
//! JSON-RPC or a provider request that could not be built). Its *reason*
//! ([`Kind::reason`]) is unique, and travels beside the kind as
//! `data.reason` (IPC) or `reason` (CLI `--json`, window), so a host can
//! tell them apart without parsing messages. `docs/ipc.md` and
//! `docs/cli.md` list both; a test checks this enum against those tables.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::rpc::codes;

macro_rules! kinds {
    ($($(#[$doc:meta])* $variant:ident => $wire:literal, $reason:literal, $code:expr;)+) => {
        /// One meaning of an error. See the module docs.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Kind {
            $($(#[$doc])* $variant,)+
        }

        impl Kind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),+];

            /// The documented wire kind (`data.kind`, `error.kind`,
            /// `failure.kind`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$variant => $wire,)+
                }
            }

            /// The unique name of this meaning (`data.reason`, `reason`).
            pub fn reason(self) -> &'static str {
                match self {
                    $(Kind::$variant => $reason,)+
                }
            }

            /// The JSON-RPC error code when this kind is an IPC error;
            /// `None` for kinds that never are (network failures inside a
            /// test report, the CLI's and the client library's own).
            pub fn rpc_code(self) -> Option<i64> {
                match self {
                    $(Kind::$variant => $code,)+
                }
            }
        }
    };
}

kinds! {
    // ── Input ──────────────────────────────────────────────────────────
    /// A draft, id or argument failed validation (fields say which).
    InvalidInput => "invalid_input", "invalid_input", Some(codes::INVALID_PARAMS);
    /// An IPC frame that is not valid JSON.
    ParseError => "parse_error", "parse_error", Some(codes::PARSE_ERROR);
    /// An IPC frame that is JSON but not a JSON-RPC request.
    InvalidRequest => "invalid_request", "invalid_request", Some(codes::INVALID_REQUEST);
    /// An IPC method this server does not have.
    MethodNotFound => "method_not_found", "method_not_found", Some(codes::METHOD_NOT_FOUND);
    /// IPC params missing or of the wrong shape.
    InvalidParams => "invalid_params", "invalid_params", Some(codes::INVALID_PARAMS);
    /// An IPC frame over the size limit.
    FrameTooLarge => "frame_too_large", "frame_too_large", Some(codes::FRAME_TOO_LARGE);

    // ── Things that are not there ─────────────────────────────────────
    /// No provider with that id.
    ProviderNotFound => "not_found", "provider_not_found", Some(codes::NOT_FOUND);
    /// No (enabled) model-picker entry with that id.
    EntryNotFound => "not_found", "entry_not_found", Some(codes::NOT_FOUND);
    /// An entry the person did not allow this paired app to use.
    EntryNotAllowed => "not_found", "entry_not_allowed", Some(codes::NOT_FOUND);
    /// No paired host app with that id.
    HostNotFound => "not_found", "host_not_found", Some(codes::NOT_FOUND);
    /// The provider needs a key and none is stored.
    KeyMissing => "key_missing", "key_missing", Some(codes::NOT_FOUND);
    /// The stored key was given for another origin than the request goes
    /// to (the base URL changed); the person must confirm the move.
    KeyWithheld => "key_withheld", "key_origin_changed", Some(codes::NOT_FOUND);
    /// `entries.resolve`: the provider's URL is refused by its egress
    /// policy at use time (with DNS), so its key is not handed out.
    EndpointRefused => "key_withheld", "endpoint_refused", Some(codes::NOT_FOUND);
    /// `entries.resolve` with protocol 1 (the raw key) for an app the person
    /// has not allowed to receive raw keys.
    RawKeysNotAllowed => "key_withheld", "raw_keys_not_allowed", Some(codes::NOT_FOUND);
    /// `entries.resolve` with protocol 2 while the gateway is switched off.
    GatewayOff => "key_withheld", "gateway_off", Some(codes::NOT_FOUND);
    /// No pairing request with that id is waiting.
    NotPending => "not_pending", "not_pending", Some(codes::PAIRING_NOT_PENDING);

    // ── The keychain ──────────────────────────────────────────────────
    KeychainUnavailable => "keychain_unavailable", "keychain_unavailable", Some(codes::KEYCHAIN);
    KeychainLocked => "keychain_locked", "keychain_locked", Some(codes::KEYCHAIN);
    KeychainTimeout => "keychain_timeout", "keychain_timeout", Some(codes::KEYCHAIN);
    Keychain => "keychain", "keychain", Some(codes::KEYCHAIN);

    // ── Patchbay's files ──────────────────────────────────────────────
    ConfigIo => "config_io", "config_io", Some(codes::CONFIG);
    ConfigCorrupt => "config_corrupt", "config_corrupt", Some(codes::CONFIG);
    ConfigVersion => "config_version", "config_version", Some(codes::CONFIG);
    /// Another process holds the config lock.
    ConfigBusy => "config_busy", "config_busy", Some(codes::BUSY);
    HostsCorrupt => "hosts_corrupt", "hosts_corrupt", Some(codes::CONFIG);
    /// Another process holds the hosts file's lock.
    HostsBusy => "hosts_busy", "hosts_busy", Some(codes::BUSY);

    // ── Pairing and host tokens ───────────────────────────────────────
    /// A host token that is unknown or was revoked.
    TokenRejected => "unauthorized", "token_rejected", Some(codes::UNAUTHORIZED);
    /// An admin method (approve, deny, revoke) without the admin secret
    /// only Patchbay's own window and CLI hold.
    AdminRequired => "unauthorized", "admin_required", Some(codes::UNAUTHORIZED);
    PairingDenied => "pairing_denied", "pairing_denied", Some(codes::PAIRING_DENIED);
    PairingTimeout => "pairing_timeout", "pairing_timeout", Some(codes::PAIRING_TIMEOUT);
    /// The app that asked to pair left before the person decided.
    RequesterGone => "requester_gone", "requester_gone", Some(codes::PAIRING_TIMEOUT);
    PairingInProgress => "pairing_in_progress", "pairing_in_progress", Some(codes::BUSY);
    TooManyPending => "too_many_pending", "too_many_pending", Some(codes::BUSY);

    // ── The server and the process (starting a server fails before any
    // connection with the last four, so they have no code) ────────────
    /// Too much in flight; retry later.
    Busy => "busy", "busy", Some(codes::BUSY);
    /// A connection test that could not run at all.
    TestFailed => "test_failed", "test_failed", Some(codes::TEST_FAILED);
    Internal => "internal", "internal", Some(codes::INTERNAL_ERROR);
    /// Reading or writing a socket or file failed.
    Io => "io", "io", Some(codes::INTERNAL_ERROR);
    AlreadyRunning => "already_running", "already_running", None;
    NotASocket => "not_a_socket", "not_a_socket", None;
    UnsafeDirectory => "unsafe_directory", "unsafe_directory", None;
    /// The platform has no place for the socket or config (no `HOME`, …).
    NoEndpoint => "no_endpoint", "no_endpoint", None;
    /// A use case stopped unexpectedly (its worker panicked).
    Interrupted => "interrupted", "interrupted", Some(codes::INTERNAL_ERROR);
    /// The HTTP client could not be set up.
    NetworkUnavailable => "network_unavailable", "network_unavailable", Some(codes::TEST_FAILED);
    /// The CLI's async runtime could not start.
    Runtime => "runtime", "runtime", None;
    /// The CLI could not write its output.
    Output => "output", "output", None;

    // ── The client library (hosts) ────────────────────────────────────
    /// No Patchbay server is listening.
    NotRunning => "not_running", "not_running", None;
    /// The server sent something that is not valid protocol.
    Protocol => "protocol", "protocol", None;
    /// The server answered with a JSON-RPC error (its own kind is in it).
    Rpc => "rpc", "rpc", None;
    UnsupportedVersion => "unsupported_version", "unsupported_version", None;
    /// The connection closed before the answer arrived.
    Disconnected => "disconnected", "disconnected", None;
    /// Patchbay did not answer within the client's timeout.
    NoAnswer => "timeout", "no_answer", None;
    /// The shared config file is not valid JSON of the schema.
    ConfigInvalid => "config_invalid", "config_invalid", None;
    /// The socket is not one only this user could have put there (its
    /// directory or the socket belongs to someone else, or others can
    /// write the directory), or the server runs as another user.
    UntrustedEndpoint => "untrusted_endpoint", "untrusted_endpoint", None;

    // ── A request to a provider (test stages, model discovery) ────────
    PolicyDenied => "policy_denied", "policy_denied", None;
    DnsFailed => "dns_failed", "dns_failed", None;
    ConnectRefused => "connect_refused", "connect_refused", None;
    ConnectTimeout => "connect_timeout", "connect_timeout", None;
    ConnectFailed => "connect_failed", "connect_failed", None;
    Tls => "tls", "tls", None;
    TlsUntrusted => "tls_untrusted", "tls_untrusted", None;
    /// The provider did not answer in time.
    RequestTimeout => "timeout", "request_timeout", None;
    /// The provider asked for a key (HTTP 401) and none was sent.
    AuthRequired => "unauthorized", "auth_required", None;
    /// The provider rejected the API key (HTTP 401).
    KeyRejected => "unauthorized", "key_rejected", None;
    Forbidden => "forbidden", "forbidden", None;
    /// The provider answered HTTP 404.
    UpstreamNotFound => "not_found", "upstream_not_found", None;
    MethodNotAllowed => "method_not_allowed", "method_not_allowed", None;
    RateLimited => "rate_limited", "rate_limited", None;
    ServerError => "server_error", "server_error", None;
    BadRequest => "bad_request", "bad_request", None;
    NotJson => "not_json", "not_json", None;
    BadResponse => "bad_response", "bad_response", None;
    ErrorEnvelope => "error_envelope", "error_envelope", None;
    TooLarge => "too_large", "too_large", None;
    Redirect => "redirect", "redirect", None;
    Cancelled => "cancelled", "cancelled", None;
    ModelNotFound => "model_not_found", "model_not_found", None;
    /// The request to the provider could not be built (a header value a
    /// header cannot carry, …).
    RequestUnbuildable => "invalid_request", "request_unbuildable", None;
    /// The provider's proxy refused the connection or the tunnel, or asked
    /// for credentials.
    Proxy => "proxy", "proxy", None;
}

impl Kind {
    /// Whether the wire kind alone is ambiguous (several kinds share it).
    pub fn is_shared(self) -> bool {
        Kind::ALL
            .iter()
            .any(|other| *other != self && other.as_str() == self.as_str())
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Serialised as its wire kind.
impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_reason_is_unique_and_snake_case() {
        let mut seen = HashSet::new();
        for kind in Kind::ALL {
            let reason = kind.reason();
            assert!(seen.insert(reason), "{reason} twice");
            assert!(
                reason
                    .chars()
                    .all(|character| character.is_ascii_lowercase() || character == '_'),
                "{reason}"
            );
        }
    }

    #[test]
    fn a_reason_differs_from_its_kind_only_when_the_kind_is_shared() {
        for kind in Kind::ALL {
            if !kind.is_shared() {
                assert_eq!(kind.as_str(), kind.reason(), "{kind:?}");
            }
        }
        assert!(Kind::ProviderNotFound.is_shared());
        assert!(Kind::KeyRejected.is_shared());
        assert!(!Kind::PairingDenied.is_shared());
    }

    #[test]
    fn kinds_that_share_a_wire_kind_share_its_ipc_code() {
        for kind in Kind::ALL {
            for other in Kind::ALL {
                if kind.as_str() == other.as_str() {
                    if let (Some(left), Some(right)) = (kind.rpc_code(), other.rpc_code()) {
                        assert_eq!(left, right, "{kind:?} and {other:?}");
                    }
                }
            }
        }
    }

    /// The backticked names in `text`.
    fn names(text: &str) -> Vec<&str> {
        text.split('`').skip(1).step_by(2).collect()
    }

    /// The rows of the markdown table whose header starts with `header`.
    fn table<'a>(doc: &'a str, header: &str) -> Vec<Vec<&'a str>> {
        doc.lines()
            .skip_while(|line| !line.starts_with(header))
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .map(|line| line.trim_matches('|').split(" | ").map(str::trim).collect())
            .collect()
    }

    const IPC: &str = include_str!("../../../../docs/ipc.md");
    const CLI: &str = include_str!("../../../../docs/cli.md");

    #[test]
    fn the_ipc_error_table_matches_the_kinds_and_their_codes() {
        let rows = table(IPC, "| code | kind(s) | meaning |");
        assert!(rows.len() >= 10, "the table was not found: {rows:?}");
        for row in &rows {
            let code: i64 = row[0].parse().expect("a code");
            for name in names(row[1]) {
                assert!(
                    Kind::ALL
                        .iter()
                        .any(|kind| kind.as_str() == name && kind.rpc_code() == Some(code)),
                    "docs/ipc.md lists `{name}` under {code}, but no kind has that code"
                );
            }
        }
        for kind in Kind::ALL {
            if let Some(code) = kind.rpc_code() {
                let listed = rows.iter().any(|row| {
                    row[0] == code.to_string() && names(row[1]).contains(&kind.as_str())
                });
                assert!(
                    listed,
                    "{kind:?} (`{kind}`, {code}) is missing from docs/ipc.md section 6"
                );
            }
        }
    }

    #[test]
    fn the_reason_table_lists_every_shared_kind() {
        let rows = table(IPC, "| kind | reason | meaning |");
        for row in &rows {
            let (kind, reason) = (names(row[0]), names(row[1]));
            assert!(
                Kind::ALL
                    .iter()
                    .any(|known| [known.as_str()] == kind[..] && [known.reason()] == reason[..]),
                "docs/ipc.md's reason table has {row:?}, which is no kind"
            );
        }
        for kind in Kind::ALL.iter().filter(|kind| kind.is_shared()) {
            let listed = rows
                .iter()
                .any(|row| names(row[0]) == [kind.as_str()] && names(row[1]) == [kind.reason()]);
            assert!(
                listed,
                "{kind:?} shares `{kind}`: its reason `{}` must be in docs/ipc.md's reason table",
                kind.reason()
            );
        }
    }

    #[test]
    fn the_cli_kind_lists_name_only_real_kinds_and_every_kind_is_documented() {
        let bullet = CLI
            .split("- `kind` is for code to branch on")
            .nth(1)
            .and_then(|rest| rest.split("\n- ").next())
            .expect("the kind bullet in docs/cli.md");
        let failures = CLI
            .split("`failure.kind` is one of")
            .nth(1)
            .and_then(|rest| rest.split("(the `--proxy`").next())
            .expect("the failure kinds in docs/cli.md");
        let documented: Vec<&str> = names(bullet).into_iter().chain(names(failures)).collect();
        for name in &documented {
            if ["message", "patchbay test", "serve", "hosts", "docs/ipc.md"].contains(name) {
                continue;
            }
            assert!(
                Kind::ALL.iter().any(|kind| kind.as_str() == *name),
                "docs/cli.md names `{name}` as a kind, but there is no such kind"
            );
        }
        for kind in Kind::ALL {
            let quoted = format!("`{}`", kind.as_str());
            assert!(
                IPC.contains(&quoted) || CLI.contains(&quoted),
                "{kind:?} (`{kind}`) is documented in neither docs/ipc.md nor docs/cli.md"
            );
        }
    }
}
