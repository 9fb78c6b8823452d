//! What the gateway reads from a request before it goes anywhere: whether
//! it may come in at all (a loopback `Host`, no browser `Origin`), whose
//! token it carries, and the body's one top-level `model`, which is
//! rewritten in place — every other byte of the body reaches the provider
//! as the client sent it.

use std::net::IpAddr;
use std::ops::Range;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Why a body's `model` cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ModelProblem {
    /// Not JSON (or not UTF-8).
    NotJson,
    /// JSON, but not an object.
    NotObject,
    /// No top-level `model`.
    Missing,
    /// `model` more than once (the copies could name different entries).
    Duplicate,
    /// `model` is not a string.
    NotString,
}

/// The top-level `model` of a JSON object body and where its value lies
/// (byte range of the JSON string, quotes included).
pub(crate) fn find_model(body: &[u8]) -> Result<(String, Range<usize>), ModelProblem> {
    let text = std::str::from_utf8(body).map_err(|_| ModelProblem::NotJson)?;
    let entries = match serde_json::from_str::<Entries<'_>>(text) {
        Ok(entries) => entries.0,
        Err(_) => {
            return Err(if serde_json::from_str::<IgnoredAny>(text).is_ok() {
                ModelProblem::NotObject
            } else {
                ModelProblem::NotJson
            })
        }
    };
    let mut models = entries.into_iter().filter(|(key, _)| key == "model");
    let (_, raw) = models.next().ok_or(ModelProblem::Missing)?;
    if models.next().is_some() {
        return Err(ModelProblem::Duplicate);
    }
    let model: String = serde_json::from_str(raw.get()).map_err(|_| ModelProblem::NotString)?;
    let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
    Ok((model, start..start + raw.get().len()))
}

/// `body` with the value at `span` replaced by `model` as a JSON string.
pub(crate) fn with_model(body: &[u8], span: Range<usize>, model: &str) -> Vec<u8> {
    let encoded = serde_json::to_string(model).unwrap_or_else(|_| String::from("\"\""));
    let mut rewritten = Vec::with_capacity(body.len() + encoded.len());
    rewritten.extend_from_slice(&body[..span.start]);
    rewritten.extend_from_slice(encoded.as_bytes());
    rewritten.extend_from_slice(&body[span.end..]);
    rewritten
}

/// A JSON object's entries in order, values unparsed.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// True when a `Host` header names this machine's loopback (`localhost`,
/// `127.0.0.1`, `[::1]`, any port): a page on another site that rebinds
/// its name to 127.0.0.1 sends its own name and is refused.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((inside, after)) if after.is_empty() || after.starts_with(':') => inside,
            _ => return false,
        },
        None => host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.bytes().all(|byte| byte.is_ascii_digit()) {
                name
            } else {
                host
            }
        }),
    };
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    name.parse::<IpAddr>()
        .is_ok_and(|address| address.is_loopback())
}

/// The token of `Authorization: Bearer <token>`.
pub(crate) fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_the_model_value_changes() {
        let body = br#"{ "stream":true, "model" : "work/gpt-4o" ,"temperature":0.70,"x":{"model":"inner"},"u":"\u00e9"}"#;
        let (model, span) = find_model(body).expect("a model");
        assert_eq!(model, "work/gpt-4o");
        let rewritten = with_model(body, span, "gpt-4o");
        assert_eq!(
            std::str::from_utf8(&rewritten).expect("utf-8"),
            r#"{ "stream":true, "model" : "gpt-4o" ,"temperature":0.70,"x":{"model":"inner"},"u":"\u00e9"}"#
        );
    }

    #[test]
    fn bodies_the_gateway_cannot_route_are_named() {
        assert_eq!(find_model(b"not json"), Err(ModelProblem::NotJson));
        assert_eq!(find_model(b"[1,2]"), Err(ModelProblem::NotObject));
        assert_eq!(find_model(b"{\"messages\":[]}"), Err(ModelProblem::Missing));
        assert_eq!(find_model(b"{\"model\":1}"), Err(ModelProblem::NotString));
        assert_eq!(
            find_model(br#"{"model":"a/b","model":"c/d"}"#),
            Err(ModelProblem::Duplicate)
        );
        // An escaped key is the same key.
        assert_eq!(
            find_model(br#"{"model":"a/b","mod\u0065l":"c/d"}"#),
            Err(ModelProblem::Duplicate)
        );
        assert_eq!(find_model(b"\xff\xfe"), Err(ModelProblem::NotJson));
    }

    #[test]
    fn hosts_and_bearer_tokens() {
        for good in [
            "127.0.0.1:4141",
            "localhost",
            "LOCALHOST:1",
            "[::1]:4141",
            "127.8.9.1",
            "[::1]",
        ] {
            assert!(is_loopback_host(good), "{good}");
        }
        for bad in [
            "evil.example:4141",
            "127.0.0.1.evil.example",
            "[::1]x",
            "10.0.0.1:4141",
            "",
            "localhost.:80x",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
        assert_eq!(bearer("Bearer pbt_abc"), Some("pbt_abc"));
        assert_eq!(bearer("bearer   pbt_abc "), Some("pbt_abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
    }

    proptest! {
        #[test]
        fn any_input_is_answered_without_a_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            drop(find_model(&body));
        }

        #[test]
        fn a_rewrite_keeps_every_other_field(
            model in "\\PC{0,40}",
            upstream in "\\PC{0,40}",
            other in proptest::collection::btree_map("[a-z]{1,8}", any::<i64>(), 0..6),
        ) {
            let mut object = serde_json::Map::new();
            for (key, value) in &other {
                if key != "model" {
                    object.insert(key.clone(), serde_json::Value::from(*value));
                }
            }
            object.insert("model".to_owned(), serde_json::Value::from(model.clone()));
            let body = serde_json::to_vec(&object).expect("json");
            let (found, span) = find_model(&body).expect("a model");
            prop_assert_eq!(&found, &model);
            let rewritten = with_model(&body, span, &upstream);
            let mut parsed: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&rewritten).expect("still json");
            prop_assert_eq!(parsed.remove("model"), Some(serde_json::Value::from(upstream)));
            object.remove("model");
            prop_assert_eq!(parsed, object);
        }
    }
}
