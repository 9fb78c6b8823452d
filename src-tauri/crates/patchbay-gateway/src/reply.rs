//! The gateway's own answers: OpenAI-shaped JSON, and errors as
//! `{"error":{"message","type","code"}}` with a stable `code` (the table is
//! in `docs/gateway.md`).

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::{header, Response, StatusCode};
use serde_json::json;

/// Every answer's body type: whole, or streamed from the provider.
pub(crate) type Body = UnsyncBoxBody<Bytes, std::convert::Infallible>;

pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

/// A JSON answer.
pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// One of the gateway's own failures.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) status: StatusCode,
    /// OpenAI's error `type`.
    pub(crate) kind: &'static str,
    /// The stable `code`.
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl Failure {
    /// A request to the provider that failed before an answer came, in the
    /// gateway's codes.
    pub(crate) fn upstream(error: &patchbay_net::NetError) -> Self {
        use patchbay_core::Kind;
        let (status, code) = match error.kind() {
            Kind::PolicyDenied => (StatusCode::BAD_GATEWAY, "egress_refused"),
            Kind::DnsFailed => (StatusCode::BAD_GATEWAY, "dns_failed"),
            Kind::ConnectRefused | Kind::ConnectTimeout | Kind::ConnectFailed => {
                (StatusCode::BAD_GATEWAY, "connect_failed")
            }
            Kind::Tls | Kind::TlsUntrusted => (StatusCode::BAD_GATEWAY, "tls_failed"),
            Kind::RequestTimeout => (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout"),
            _ => (StatusCode::BAD_GATEWAY, "upstream_failed"),
        };
        Self::new(status, code, error.to_string())
    }

    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        let kind = match status {
            StatusCode::UNAUTHORIZED => "authentication_error",
            StatusCode::FORBIDDEN => "permission_error",
            StatusCode::NOT_FOUND => "not_found_error",
            status if status.is_client_error() => "invalid_request_error",
            _ => "api_error",
        };
        Self {
            status,
            kind,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn into_response(self) -> Response<Body> {
        json(
            self.status,
            &json!({"error": {"message": self.message, "type": self.kind, "code": self.code}}),
        )
    }
}
