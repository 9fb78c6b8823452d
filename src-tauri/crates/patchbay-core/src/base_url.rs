//! Base URLs: the one place that turns what a person typed or pasted into
//! the normalised base every request is built from, and that joins endpoint
//! paths onto it.
//!
//! Rules of [`normalize`], in order:
//!
//! 1–2. The rules every URL Patchbay sends to shares ([`SafeUrl::parse`]):
//!    trimmed, at most [`MAX_INPUT_CHARS`] characters, no control character
//!    or space inside, parsed with WHATWG rules (the person is told when an
//!    IDN host becomes its `xn--` form), `http`/`https`, no user name or
//!    password, a host of sane length, no port 0.
//! 3. No query and no fragment (a base URL carries neither; credentials go
//!    in the key field or a header).
//! 4. Plain `http` only with the `local` or `private` network allowance.
//! 5. The path is split into segments: empty segments (`//`, trailing `/`)
//!    are dropped, with a notice when slashes were repeated inside the path.
//!    A pasted endpoint (`…/chat/completions`, `…/completions`, `…/models`,
//!    `…/responses`, `…/embeddings`) is removed with a notice, because
//!    Patchbay adds the endpoint itself. A doubled version segment
//!    (`/v1/v1`) is collapsed with a notice.
//! 6. Nothing is ever added: no `/v1` appears that the person did not type,
//!    since gateways such as Cloudflare's or Gemini's `v1beta/openai` have
//!    no (or a different) version segment.
//!
//! Error messages never repeat the input, which could hold a credential
//! pasted by mistake (`https://user:secret@host`).

use serde::{Serialize, Serializer};
use url::Url;

use crate::error::FieldError;
use crate::model::NetworkAllowance;
use crate::safe_url::SafeUrl;

/// The field name used in every error and notice from this module.
pub const FIELD: &str = "base_url";

/// Inputs longer than this are refused before parsing.
pub const MAX_INPUT_CHARS: usize = crate::safe_url::MAX_URL_CHARS;

/// Endpoint paths people paste by mistake, longest first so that
/// `chat/completions` wins over `completions`.
const PASTED_ENDPOINTS: &[&[&str]] = &[
    &["chat", "completions"],
    &["completions"],
    &["models"],
    &["responses"],
    &["embeddings"],
];

/// A normalised base URL plus the exact URLs Patchbay will request, for the
/// form's live preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseUrlCheck {
    /// Serialised without the lone trailing `/` the URL type keeps for a
    /// bare host (see [`display`]).
    #[serde(serialize_with = "serialize_base")]
    pub normalized: Url,
    /// Sentences telling the person what was changed, e.g. a removed
    /// `/chat/completions`.
    pub notices: Vec<String>,
    /// `GET` target for model discovery and the connection test.
    pub models_url: String,
    /// `POST` target for chat completions.
    pub chat_url: String,
}

fn serialize_base<S: Serializer>(url: &Url, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&display(url))
}

/// The base URL as people read and store it: `https://h` rather than the
/// `https://h/` the URL type prints for an empty path.
pub fn display(base: &Url) -> String {
    let text = base.as_str();
    if base.path() == "/" && base.query().is_none() && base.fragment().is_none() {
        text.strip_suffix('/').unwrap_or(text).to_owned()
    } else {
        text.to_owned()
    }
}

/// Validates and normalises a base URL typed or pasted by a person. See the
/// module documentation for the rules.
pub fn normalize(input: &str, network: NetworkAllowance) -> Result<BaseUrlCheck, FieldError> {
    let trimmed = input.trim();
    let refuse = |message: String| FieldError::new(FIELD, message);
    let parsed = SafeUrl::parse(trimmed)
        .map_err(|problem| refuse(problem.to_string()))?
        .into_url();
    if parsed.query().is_some() {
        return Err(refuse(
            "Remove the ?… part: a base URL cannot carry query parameters. Put credentials in the key field or a custom header."
                .to_owned(),
        ));
    }
    if parsed.fragment().is_some() {
        return Err(refuse(
            "Remove the #… part at the end of the URL.".to_owned(),
        ));
    }

    // SafeUrl guarantees a host.
    let host = parsed.host_str().unwrap_or_default().to_owned();
    if parsed.scheme() == "http" && !network.allows_http() {
        return Err(refuse(
            "Plain http:// would send your key and prompts unencrypted over the internet: use https. For a server on this computer or your LAN, choose Local or Private network access."
                .to_owned(),
        ));
    }

    let mut notices = Vec::new();
    if host.split('.').any(|label| label.starts_with("xn--"))
        && !trimmed.to_lowercase().contains(&host)
    {
        notices.push(format!(
            "The international host name is sent as {host}; check that this is the site you expect."
        ));
    }

    let raw_path = parsed.path();
    if raw_path.trim_end_matches('/').contains("//") {
        notices.push("Collapsed repeated slashes (//) in the path.".to_owned());
    }
    let mut segments: Vec<&str> = raw_path
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();

    if let Some(suffix) = PASTED_ENDPOINTS
        .iter()
        .find(|suffix| ends_with_segments(&segments, suffix))
    {
        segments.truncate(segments.len() - suffix.len());
        notices.push(format!(
            "Removed /{}: Patchbay adds the endpoint path itself.",
            suffix.join("/")
        ));
    }

    let before = segments.len();
    segments
        .dedup_by(|next, previous| is_version_segment(next) && next.eq_ignore_ascii_case(previous));
    if segments.len() != before {
        notices
            .push("Removed a repeated version segment (such as /v1/v1) from the path.".to_owned());
    }

    let mut normalized = parsed.clone();
    normalized.set_path(&format!("/{}", segments.join("/")));

    let models_url = endpoint(&normalized, "models").to_string();
    let chat_url = endpoint(&normalized, "chat/completions").to_string();
    Ok(BaseUrlCheck {
        normalized,
        notices,
        models_url,
        chat_url,
    })
}

/// `base` joined with an endpoint `path` such as `models` or
/// `chat/completions`: never a `//`, and never `/v1/v1` when `path` starts
/// with the version segment `base` already ends with. Any query or fragment
/// on `base` is dropped.
pub fn endpoint(base: &Url, path: &str) -> Url {
    let mut segments: Vec<&str> = base
        .path()
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    let mut extra: Vec<&str> = path
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    if let (Some(last), Some(first)) = (segments.last(), extra.first()) {
        if is_version_segment(first) && last.eq_ignore_ascii_case(first) {
            extra.remove(0);
        }
    }
    segments.extend(extra);
    let mut joined = base.clone();
    joined.set_query(None);
    joined.set_fragment(None);
    joined.set_path(&format!("/{}", segments.join("/")));
    joined
}

fn ends_with_segments(segments: &[&str], suffix: &[&str]) -> bool {
    segments.len() >= suffix.len()
        && segments[segments.len() - suffix.len()..]
            .iter()
            .zip(suffix)
            .all(|(segment, expected)| segment.eq_ignore_ascii_case(expected))
}

/// `v1`, `v2`, `v1beta`, `v1alpha2`: a `v`, a digit, then letters or digits.
fn is_version_segment(segment: &str) -> bool {
    let mut chars = segment.chars();
    matches!(chars.next(), Some('v' | 'V'))
        && chars.next().is_some_and(|second| second.is_ascii_digit())
        && chars.all(|rest| rest.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    use NetworkAllowance::{Local, Private, Remote};

    /// (input, allowance, normalized, models_url, chat_url, notices expected)
    type Shape = (
        &'static str,
        NetworkAllowance,
        &'static str,
        &'static str,
        &'static str,
        usize,
    );

    const SHAPES: &[Shape] = &[
        (
            "https://h",
            Remote,
            "https://h",
            "https://h/models",
            "https://h/chat/completions",
            0,
        ),
        (
            "https://h/",
            Remote,
            "https://h",
            "https://h/models",
            "https://h/chat/completions",
            0,
        ),
        (
            "https://h/v1",
            Remote,
            "https://h/v1",
            "https://h/v1/models",
            "https://h/v1/chat/completions",
            0,
        ),
        (
            "https://h/v1/",
            Remote,
            "https://h/v1",
            "https://h/v1/models",
            "https://h/v1/chat/completions",
            0,
        ),
        (
            "https://h/v1///",
            Remote,
            "https://h/v1",
            "https://h/v1/models",
            "https://h/v1/chat/completions",
            0,
        ),
        (
            "  https://h/v1 \n",
            Remote,
            "https://h/v1",
            "https://h/v1/models",
            "https://h/v1/chat/completions",
            0,
        ),
        (
            "https://h/v1/chat/completions",
            Remote,
            "https://h/v1",
            "https://h/v1/models",
            "https://h/v1/chat/completions",
            1,
        ),
        (
            "https://h/v1/chat/completions/",
            Remote,
            "https://h/v1",
            "https://h/v1/models",
            "https://h/v1/chat/completions",
            1,
        ),
        (
            "https://h/v1/completions",
            Remote,
            "https://h/v1",
            "https://h/v1/models",
            "https://h/v1/chat/completions",
            1,
        ),
        (
            "https://h/v1/models",
            Remote,
            "https://h/v1",
            "https://h/v1/models",
            "https://h/v1/chat/completions",
            1,
        ),
        (
            "https://h/v1/responses",
            Remote,
            "https://h/v1",
            "https://h/v1/models",
            "https://h/v1/chat/completions",
            1,
        ),
        (
            "https://h/v1/embeddings",
            Remote,
            "https://h/v1",
            "https://h/v1/models",
            "https://h/v1/chat/completions",
            1,
        ),
        (
            "https://h/chat/completions",
            Remote,
            "https://h",
            "https://h/models",
            "https://h/chat/completions",
            1,
        ),
        (
            "https://h/V1/Chat/Completions",
            Remote,
            "https://h/V1",
            "https://h/V1/models",
            "https://h/V1/chat/completions",
            1,
        ),
        (
            "https://h//v1//chat//completions",
            Remote,
            "https://h/v1",
            "https://h/v1/models",
            "https://h/v1/chat/completions",
            2,
        ),
        (
            "https://h/v1/v1",
            Remote,
            "https://h/v1",
            "https://h/v1/models",
            "https://h/v1/chat/completions",
            1,
        ),
        (
            "https://h/v1/v1/chat/completions",
            Remote,
            "https://h/v1",
            "https://h/v1/models",
            "https://h/v1/chat/completions",
            2,
        ),
        (
            "https://h/a/../v1/./",
            Remote,
            "https://h/v1",
            "https://h/v1/models",
            "https://h/v1/chat/completions",
            0,
        ),
        (
            "HTTPS://API.Example.COM/v1",
            Remote,
            "https://api.example.com/v1",
            "https://api.example.com/v1/models",
            "https://api.example.com/v1/chat/completions",
            0,
        ),
        (
            "https://h:443/v1",
            Remote,
            "https://h/v1",
            "https://h/v1/models",
            "https://h/v1/chat/completions",
            0,
        ),
        (
            "https://h:8443/v1",
            Remote,
            "https://h:8443/v1",
            "https://h:8443/v1/models",
            "https://h:8443/v1/chat/completions",
            0,
        ),
        (
            "https://h:65535",
            Remote,
            "https://h:65535",
            "https://h:65535/models",
            "https://h:65535/chat/completions",
            0,
        ),
        (
            "http://192.168.0.123:8000/v1",
            Private,
            "http://192.168.0.123:8000/v1",
            "http://192.168.0.123:8000/v1/models",
            "http://192.168.0.123:8000/v1/chat/completions",
            0,
        ),
        (
            "https://gateway.ai.cloudflare.com/v1/0123abcd/my-gateway/openai",
            Remote,
            "https://gateway.ai.cloudflare.com/v1/0123abcd/my-gateway/openai",
            "https://gateway.ai.cloudflare.com/v1/0123abcd/my-gateway/openai/models",
            "https://gateway.ai.cloudflare.com/v1/0123abcd/my-gateway/openai/chat/completions",
            0,
        ),
        (
            "https://gateway.ai.cloudflare.com/v1/0123abcd/my-gateway/openai/chat/completions",
            Remote,
            "https://gateway.ai.cloudflare.com/v1/0123abcd/my-gateway/openai",
            "https://gateway.ai.cloudflare.com/v1/0123abcd/my-gateway/openai/models",
            "https://gateway.ai.cloudflare.com/v1/0123abcd/my-gateway/openai/chat/completions",
            1,
        ),
        (
            "https://generativelanguage.googleapis.com/v1beta/openai/",
            Remote,
            "https://generativelanguage.googleapis.com/v1beta/openai",
            "https://generativelanguage.googleapis.com/v1beta/openai/models",
            "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
            0,
        ),
        (
            "http://localhost:11434",
            Local,
            "http://localhost:11434",
            "http://localhost:11434/models",
            "http://localhost:11434/chat/completions",
            0,
        ),
        (
            "http://localhost:11434/v1/",
            Local,
            "http://localhost:11434/v1",
            "http://localhost:11434/v1/models",
            "http://localhost:11434/v1/chat/completions",
            0,
        ),
        (
            "http://[::1]:8000/v1",
            Local,
            "http://[::1]:8000/v1",
            "http://[::1]:8000/v1/models",
            "http://[::1]:8000/v1/chat/completions",
            0,
        ),
        (
            "https://[2001:DB8:0:0::1]/v1",
            Remote,
            "https://[2001:db8::1]/v1",
            "https://[2001:db8::1]/v1/models",
            "https://[2001:db8::1]/v1/chat/completions",
            0,
        ),
        (
            "http://[fd12:3456::10]:1234/v1",
            Private,
            "http://[fd12:3456::10]:1234/v1",
            "http://[fd12:3456::10]:1234/v1/models",
            "http://[fd12:3456::10]:1234/v1/chat/completions",
            0,
        ),
        (
            "https://bücher.example/v1",
            Remote,
            "https://xn--bcher-kva.example/v1",
            "https://xn--bcher-kva.example/v1/models",
            "https://xn--bcher-kva.example/v1/chat/completions",
            1,
        ),
        (
            "https://xn--bcher-kva.example/v1",
            Remote,
            "https://xn--bcher-kva.example/v1",
            "https://xn--bcher-kva.example/v1/models",
            "https://xn--bcher-kva.example/v1/chat/completions",
            0,
        ),
        (
            "https://openrouter.ai/api/v1",
            Remote,
            "https://openrouter.ai/api/v1",
            "https://openrouter.ai/api/v1/models",
            "https://openrouter.ai/api/v1/chat/completions",
            0,
        ),
        (
            "https://h/api/model%20s",
            Remote,
            "https://h/api/model%20s",
            "https://h/api/model%20s/models",
            "https://h/api/model%20s/chat/completions",
            0,
        ),
        (
            "https:h/v1",
            Remote,
            "https://h/v1",
            "https://h/v1/models",
            "https://h/v1/chat/completions",
            0,
        ),
    ];

    #[test]
    fn base_url_shape_matrix() {
        for &(input, network, normalized, models_url, chat_url, notice_count) in SHAPES {
            let check = normalize(input, network)
                .unwrap_or_else(|error| panic!("{input:?}: {}", error.message));
            assert_eq!(
                display(&check.normalized),
                normalized,
                "normalized for {input:?}"
            );
            assert_eq!(check.models_url, models_url, "models_url for {input:?}");
            assert_eq!(check.chat_url, chat_url, "chat_url for {input:?}");
            assert_eq!(
                check.notices.len(),
                notice_count,
                "notices for {input:?}: {:?}",
                check.notices
            );
            // Normalising is idempotent and never adds a /v1 that was not typed.
            let again = normalize(normalized, network).expect("a normalised URL is valid");
            assert_eq!(
                again.normalized, check.normalized,
                "idempotent for {input:?}"
            );
            assert!(
                again.notices.is_empty(),
                "no notices on the second pass for {input:?}"
            );
            for url in [&check.models_url, &check.chat_url] {
                let path_start = url.find("://").map(|index| index + 3).unwrap_or(0);
                assert!(!url[path_start..].contains("//"), "no // in {url}");
                assert!(
                    !url.to_ascii_lowercase().contains("/v1/v1"),
                    "no /v1/v1 in {url}"
                );
            }
            if !input.to_ascii_lowercase().contains("v1") {
                assert!(
                    !check.chat_url.contains("/v1"),
                    "no /v1 added for {input:?}"
                );
            }
        }
    }

    /// Every origin × base path × pasted tail: the base comes back exactly as
    /// origin + path, and the previews are that plus the endpoint.
    #[test]
    fn generated_shapes_keep_the_base_and_never_double_up() {
        let origins = [
            ("https://api.example.com", Remote),
            ("https://api.example.com:8443", Remote),
            ("http://localhost:11434", Local),
            ("http://[::1]:8000", Local),
            ("http://10.0.0.7:4000", Private),
        ];
        let paths = [
            "",
            "/v1",
            "/api/v1",
            "/openai/v1",
            "/v1beta/openai",
            "/inference/v1",
            "/v1/acct/gw/openai",
        ];
        let tails: &[(&str, usize)] = &[
            ("", 0),
            ("/", 0),
            ("///", 0),
            ("/chat/completions", 1),
            ("/chat/completions/", 1),
            ("/completions", 1),
            ("/models", 1),
            ("/models/", 1),
            ("/responses", 1),
            ("/embeddings", 1),
        ];
        for (origin, network) in origins {
            for path in paths {
                for &(tail, notice_count) in tails {
                    let input = format!("{origin}{path}{tail}");
                    let check = normalize(&input, network)
                        .unwrap_or_else(|error| panic!("{input}: {}", error.message));
                    let base = format!("{origin}{path}");
                    assert_eq!(display(&check.normalized), base, "{input}");
                    assert_eq!(check.models_url, format!("{base}/models"), "{input}");
                    assert_eq!(
                        check.chat_url,
                        format!("{base}/chat/completions"),
                        "{input}"
                    );
                    assert_eq!(
                        check.notices.len(),
                        notice_count,
                        "{input}: {:?}",
                        check.notices
                    );
                }
            }
        }
    }

    /// (input, allowance, words the message must contain)
    const REFUSED: &[(&str, NetworkAllowance, &str)] = &[
        ("", Remote, "Enter"),
        ("   \n ", Remote, "Enter"),
        ("http://192.168.0.123:8000/v1", Remote, "Local or Private"),
        ("http://localhost:11434", Remote, "Local or Private"),
        ("http://api.example.com/v1", Remote, "use https"),
        ("https://h:0/v1", Remote, "Port 0"),
        ("http://localhost:0", Local, "Port 0"),
        ("https://h:65536/v1", Remote, "1 to 65535"),
        ("https://h:99999999/v1", Remote, "1 to 65535"),
        ("https://h:port/v1", Remote, "1 to 65535"),
        ("https://user:secret@h/v1", Remote, "user name or password"),
        ("https://user@h/v1", Remote, "user name or password"),
        ("https://:secret@h/v1", Remote, "user name or password"),
        (
            "https://api.openai.com@169.254.169.254/",
            Remote,
            "user name or password",
        ),
        ("https://h/v1?api-version=1", Remote, "?…"),
        ("https://h/v1?", Remote, "?…"),
        ("https://h/v1#top", Remote, "#…"),
        ("https://h/v1#", Remote, "#…"),
        ("ftp://h/v1", Remote, "ftp:"),
        ("file:///etc/passwd", Remote, "file:"),
        ("ws://h/v1", Local, "ws:"),
        ("javascript:alert(1)", Remote, "https://"),
        ("api.openai.com/v1", Remote, "https://"),
        ("localhost:11434", Local, "https://"),
        ("127.0.0.1:8080/v1", Local, "https://"),
        ("https://", Remote, "host"),
        ("https://:8080/v1", Remote, "host"),
        ("https://exa mple.com/v1", Remote, "space"),
        ("https://h/v1 /x", Remote, "space"),
        ("https://ex\tample.com/v1", Remote, "control"),
        ("https://example.com/v1\n/models", Remote, "control"),
        ("https://h/\u{0}", Remote, "control"),
        ("https://[::1/v1", Local, "IPv6"),
        ("https://[:::1]/v1", Local, "IPv6"),
        ("https://256.256.256.256/v1", Remote, "IPv4"),
        ("https://exa<mple.com", Remote, "character"),
    ];

    #[test]
    fn refused_base_urls_name_the_problem() {
        for &(input, network, needle) in REFUSED {
            match normalize(input, network) {
                Ok(check) => panic!("{input:?} was accepted as {}", check.normalized),
                Err(error) => {
                    assert_eq!(error.field, "base_url", "field for {input:?}");
                    assert!(
                        error.message.contains(needle),
                        "{input:?}: {:?} lacks {needle:?}",
                        error.message
                    );
                }
            }
        }
    }

    #[test]
    fn length_limit_applies_before_parsing() {
        let at_limit = format!(
            "https://h/{}",
            "a".repeat(MAX_INPUT_CHARS - "https://h/".len())
        );
        assert!(normalize(&at_limit, Remote).is_ok());
        let over = format!("{at_limit}a");
        let error = normalize(&over, Remote).expect_err("over the limit");
        assert!(error.message.contains("2048"), "{}", error.message);
    }

    #[test]
    fn overlong_host_labels_are_refused() {
        let long_label = format!("https://{}.example.com/v1", "a".repeat(64));
        assert!(normalize(&long_label, Remote)
            .expect_err("64-char label")
            .message
            .contains("63"));
        let ok_label = format!("https://{}.example.com/v1", "a".repeat(63));
        assert!(normalize(&ok_label, Remote).is_ok());
        let long_name = format!("https://{}example.com/v1", "abcdefghi.".repeat(26));
        assert!(normalize(&long_name, Remote)
            .expect_err("254+ chars")
            .message
            .contains("253"));
    }

    #[test]
    fn errors_never_repeat_the_input() {
        for input in [
            "https://user:sk-canary-1234@h/v1",
            "https://h/v1?key=sk-canary-1234",
            "https://h/v1#sk-canary-1234",
            "sk-canary-1234:x",
            "ftp://sk-canary-1234@h",
            "sk-canary-1234://h/v1",
            "https://h/sk-canary-1234\n/x",
        ] {
            let error = normalize(input, Remote).expect_err(input);
            assert!(
                !error.message.contains("sk-canary"),
                "{input:?} leaked into {:?}",
                error.message
            );
        }
    }

    #[test]
    fn pasted_endpoint_notice_says_what_was_removed() {
        let check =
            normalize("https://api.example.com/v1/chat/completions", Remote).expect("valid");
        assert_eq!(
            check.notices,
            vec!["Removed /chat/completions: Patchbay adds the endpoint path itself.".to_owned()]
        );
        let check = normalize("https://api.example.com/v1/models/", Remote).expect("valid");
        assert_eq!(
            check.notices,
            vec!["Removed /models: Patchbay adds the endpoint path itself.".to_owned()]
        );
    }

    #[test]
    fn https_is_accepted_under_every_allowance() {
        for network in [Remote, Local, Private] {
            assert!(normalize("https://h/v1", network).is_ok());
        }
        assert!(normalize("http://localhost:1234/v1", Private).is_ok());
    }

    #[test]
    fn endpoint_joins_without_double_slashes_or_versions() {
        let cases = [
            ("https://h/v1", "models", "https://h/v1/models"),
            ("https://h/v1", "/models", "https://h/v1/models"),
            (
                "https://h/v1/",
                "chat/completions",
                "https://h/v1/chat/completions",
            ),
            ("https://h/v1", "v1/models", "https://h/v1/models"),
            (
                "https://h/v1",
                "/v1/chat/completions/",
                "https://h/v1/chat/completions",
            ),
            ("https://h", "v1/models", "https://h/v1/models"),
            ("https://h/", "models", "https://h/models"),
            (
                "https://h/v1beta/openai",
                "models",
                "https://h/v1beta/openai/models",
            ),
            ("https://h/v2", "v1/models", "https://h/v2/v1/models"),
            ("https://h/v1?x=1#f", "models", "https://h/v1/models"),
            (
                "http://[::1]:8000/v1",
                "models",
                "http://[::1]:8000/v1/models",
            ),
            ("https://h/v1", "models?x=1", "https://h/v1/models%3Fx=1"),
        ];
        for (base, path, expected) in cases {
            let base = Url::parse(base).expect("test base parses");
            assert_eq!(endpoint(&base, path).as_str(), expected, "{base} + {path}");
        }
    }

    #[test]
    fn serialises_normalized_without_the_lone_trailing_slash() {
        let check = normalize("https://h/", Remote).expect("valid");
        let json = serde_json::to_value(&check).expect("serialises");
        assert_eq!(json["normalized"], "https://h");
        assert_eq!(json["models_url"], "https://h/models");
        assert_eq!(json["chat_url"], "https://h/chat/completions");
        assert_eq!(json["notices"], serde_json::json!([]));
        let check = normalize("https://h/v1/", Remote).expect("valid");
        assert_eq!(
            serde_json::to_value(&check).expect("serialises")["normalized"],
            "https://h/v1"
        );
    }

    #[test]
    fn version_segments() {
        for yes in ["v1", "v2", "V1", "v1beta", "v1alpha2", "v10"] {
            assert!(is_version_segment(yes), "{yes}");
        }
        for no in ["v", "vx", "api", "1", "version1", "v1-beta", ""] {
            assert!(!is_version_segment(no), "{no}");
        }
    }
}
