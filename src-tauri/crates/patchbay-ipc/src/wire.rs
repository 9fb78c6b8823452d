//! JSON-RPC 2.0 framing: one object per line in, checked into a call (or a
//! classified rejection); results and errors out as ready-to-write frames.

use std::sync::Arc;

use patchbay_protocol::rpc::{ErrorObject, RequestId, Response};
use patchbay_protocol::Kind;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{IpcError, Result};
use crate::feed::Frame;

/// The request part of a frame that passed the JSON-RPC checks.
pub(crate) struct Call {
    pub(crate) id: Option<RequestId>,
    pub(crate) method: String,
    pub(crate) params: Option<Value>,
}

/// A frame that is not a valid request: the error, and the id to answer
/// with when it could be read. Boxed: it is the rare path.
pub(crate) struct Rejected {
    pub(crate) id: Option<RequestId>,
    pub(crate) error: ErrorObject,
}

pub(crate) fn parse_call(bytes: &[u8]) -> std::result::Result<Call, Box<Rejected>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|error| {
        let message = format!("The frame is not valid JSON: {error}");
        Box::new(Rejected {
            id: None,
            error: ErrorObject::of(Kind::ParseError, message),
        })
    })?;
    let invalid = |id: Option<RequestId>, message: &str| {
        Box::new(Rejected {
            id,
            error: ErrorObject::of(Kind::InvalidRequest, message.to_owned()),
        })
    };
    let mut object = match value {
        Value::Object(object) => object,
        Value::Array(_) => {
            return Err(invalid(
                None,
                "Batch requests are not supported; send one request per line.",
            ))
        }
        _ => return Err(invalid(None, "A request must be a JSON object.")),
    };
    let id = match object.remove("id") {
        None => None,
        Some(Value::Number(number)) => match number.as_i64() {
            Some(number) => Some(RequestId::Number(number)),
            None => return Err(invalid(None, "`id` must be an integer or a string.")),
        },
        Some(Value::String(text)) => Some(RequestId::String(text)),
        Some(_) => return Err(invalid(None, "`id` must be an integer or a string.")),
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid(id, "`jsonrpc` must be \"2.0\"."));
    }
    let method = match object.remove("method") {
        Some(Value::String(method)) => method,
        _ => return Err(invalid(id, "`method` must be a string.")),
    };
    let params = object.remove("params");
    Ok(Call { id, method, params })
}

/// Decodes a method's params; the error names the field that is wrong
/// (`` `if_none_match`: invalid type: integer `7`, expected a string ``).
pub(crate) fn parse_params<T: DeserializeOwned>(params: Option<Value>) -> Result<T> {
    let params = params.unwrap_or(Value::Object(Map::new()));
    serde_path_to_error::deserialize(params).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        IpcError::InvalidParams {
            detail: if path == "." {
                inner.to_string()
            } else {
                format!("`{path}`: {inner}")
            },
        }
    })
}

pub(crate) fn to_value<T: Serialize>(value: T) -> Result<Value> {
    serde_json::to_value(value).map_err(|error| IpcError::Internal {
        detail: format!("could not encode the result: {error}"),
    })
}

/// `{"jsonrpc":"2.0","id":…,"result":<result_json>}\n` without re-encoding
/// the cached result; a large result is not even copied.
pub(crate) fn success_frame_raw(id: &RequestId, result_json: &Arc<str>) -> Frame {
    /// Below this, one buffer (one write) beats three writes.
    const COPY_LIMIT: usize = 16 * 1024;
    let id_json = match id {
        RequestId::Number(number) => number.to_string(),
        RequestId::String(text) => Value::String(text.clone()).to_string(),
    };
    let mut head = Vec::with_capacity(id_json.len() + 40);
    head.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    head.extend_from_slice(id_json.as_bytes());
    head.extend_from_slice(b",\"result\":");
    if result_json.len() > COPY_LIMIT {
        return Frame::wrapped(head, Arc::clone(result_json), b"}\n");
    }
    head.extend_from_slice(result_json.as_bytes());
    head.extend_from_slice(b"}\n");
    Frame::owned(head)
}

pub(crate) fn success_frame(id: &RequestId, result: Value) -> Frame {
    encode_frame(&Response::success(id.clone(), result))
}

pub(crate) fn failure_frame(id: Option<&RequestId>, error: ErrorObject) -> Frame {
    encode_frame(&Response::failure(id.cloned(), error))
}

fn encode_frame(response: &Response) -> Frame {
    let mut bytes = serde_json::to_vec(response).unwrap_or_else(|error| {
        // Only a non-string map key could fail here, which no result has;
        // answer with a fixed internal error rather than nothing.
        tracing::error!(%error, "could not encode a response");
        br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Patchbay could not encode its answer.","data":{"kind":"internal"}}}"#.to_vec()
    });
    bytes.push(b'\n');
    Frame::owned(bytes)
}

/// Echoing client text in messages is capped so an error can't amplify a
/// large frame.
pub(crate) fn truncate(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((position, _)) => format!("{}…", &text[..position]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use patchbay_protocol::rpc::codes;

    use super::*;

    #[test]
    fn raw_success_frames_are_valid_json_rpc() {
        let small: Arc<str> = Arc::from(r#"{"entries":[]}"#);
        let large: Arc<str> = Arc::from(format!(
            r#"{{"entries":[],"pad":"{}"}}"#,
            "x".repeat(20_000)
        ));
        for body in [small, large] {
            let frame = success_frame_raw(&RequestId::String("a\"b".into()), &body).to_vec();
            let parsed: Response =
                serde_json::from_slice(&frame[..frame.len() - 1]).expect("valid response");
            assert_eq!(parsed.id, Some(RequestId::String("a\"b".into())));
            assert_eq!(frame.last(), Some(&b'\n'));
        }
    }

    #[test]
    fn malformed_requests_are_classified() {
        let code = |bytes: &[u8]| parse_call(bytes).err().map(|rejected| rejected.error.code);
        assert_eq!(code(b"{nope"), Some(codes::PARSE_ERROR));
        assert_eq!(code(b"[1,2]"), Some(codes::INVALID_REQUEST));
        assert_eq!(
            code(br#"{"jsonrpc":"1.0","id":1,"method":"x"}"#),
            Some(codes::INVALID_REQUEST)
        );
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#),
            Some(codes::INVALID_REQUEST)
        );
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":1}"#),
            Some(codes::INVALID_REQUEST)
        );
        let rejected = parse_call(br#"{"jsonrpc":"2.0","id":9}"#)
            .err()
            .expect("invalid");
        assert_eq!(
            rejected.id,
            Some(RequestId::Number(9)),
            "the id is echoed when it could be read"
        );
        assert!(parse_call(br#"{"jsonrpc":"2.0","id":"x","method":"entries.list"}"#).is_ok());
    }

    #[test]
    fn long_client_text_is_truncated_in_messages() {
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
