//! [`SafeUrl`]: a URL Patchbay may send a request to, parsed once with the
//! rules every such URL shares — a base URL typed in the form, a `--base-url`
//! on the command line, a provider's proxy, a redirect's `Location`:
//!
//! - raw input of at most [`MAX_URL_CHARS`] characters, no control
//!   characters (WHATWG parsing would silently drop tabs and line breaks, so
//!   `https://ex\nample.com` would become a different host) and no space
//!   inside; surrounding whitespace is trimmed;
//! - parsed with the `url` crate (WHATWG: hosts lowercased, IDN hosts in
//!   their `xn--` form, `.`/`..` segments resolved);
//! - scheme `http` or `https`; no user name or password (they hide where the
//!   request really goes, and a pasted credential must not be kept); a host,
//!   of at most 253 characters and labels of at most 63; a port other than 0.
//!
//! What each use adds stays with it: a base URL refuses a query and strips
//! a pasted endpoint ([`crate::base_url`]); the egress policy judges the host
//! ([`crate::egress`]). A [`UrlProblem`] has one message for a person,
//! whoever asked, and never repeats the input (it may hold a credential
//! pasted by mistake). [`SafeUrl::display`] never shows userinfo, a query or
//! a fragment.

use std::fmt;

use url::{Host, Url};

use crate::egress::Reason;

/// Raw input longer than this is refused before parsing: no base URL is this
/// long, and a parser should not be handed megabytes a user pasted by mistake.
pub const MAX_URL_CHARS: usize = 2048;
/// DNS limits (RFC 1035 §2.3.4), measured on the ASCII (punycode) form.
pub const MAX_HOST_CHARS: usize = 253;
pub const MAX_LABEL_CHARS: usize = 63;

/// Why a text is not a URL Patchbay sends to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlProblem {
    Empty,
    TooLong {
        length: usize,
    },
    ControlCharacters,
    Whitespace,
    /// `api.example.com/v1` or `localhost:11434`: no `scheme://`.
    MissingScheme,
    Malformed(url::ParseError),
    /// Not http(s); the scheme is echoed only when it is short (a long one
    /// may be a pasted credential).
    Scheme {
        shown: Option<String>,
    },
    Userinfo,
    NoHost,
    HostTooLong,
    LabelTooLong,
    PortZero,
}

impl UrlProblem {
    /// The egress policy's reason for it.
    pub fn reason(&self) -> Reason {
        match self {
            Self::Empty | Self::Whitespace | Self::MissingScheme | Self::Malformed(_) => {
                Reason::InvalidUrl
            }
            Self::PortZero => Reason::InvalidUrl,
            Self::TooLong { .. } => Reason::TooLong,
            Self::ControlCharacters => Reason::ControlCharacters,
            Self::Scheme { .. } => Reason::Scheme,
            Self::Userinfo => Reason::Userinfo,
            Self::NoHost => Reason::NoHost,
            Self::HostTooLong => Reason::HostTooLong,
            Self::LabelTooLong => Reason::LabelTooLong,
        }
    }
}

/// One sentence: what is wrong and what to do.
impl fmt::Display for UrlProblem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => formatter.write_str("Enter a URL, for example https://api.openai.com/v1."),
            Self::TooLong { length } => write!(
                formatter,
                "The URL is {length} characters long; the limit is {MAX_URL_CHARS}. Check that you pasted only the URL."
            ),
            Self::ControlCharacters => formatter.write_str(
                "The URL contains a line break, tab or other control character; paste it again as a single line.",
            ),
            Self::Whitespace => {
                formatter.write_str("The URL contains a space; remove it (a URL cannot contain spaces).")
            }
            Self::MissingScheme => formatter.write_str(
                "Start the URL with https:// (or http:// for a server on your machine or LAN), for example https://api.example.com/v1 or http://localhost:11434/v1.",
            ),
            Self::Malformed(error) => formatter.write_str(&malformed_message(*error)),
            Self::Scheme { shown: Some(scheme) } => write!(
                formatter,
                "Only http:// and https:// URLs are supported; this one starts with {scheme}:."
            ),
            Self::Scheme { shown: None } => formatter.write_str(
                "Only http:// and https:// URLs are supported.",
            ),
            Self::Userinfo => formatter.write_str(
                "Remove the user name or password before the @ in the URL: it hides where the request really goes. Put an API key in the key field (or a secret header) instead.",
            ),
            Self::NoHost => formatter.write_str(
                "The URL has no host name: add one after https://, for example https://api.example.com/v1.",
            ),
            Self::HostTooLong | Self::LabelTooLong => formatter.write_str(
                "The host name is too long: each part between dots can have at most 63 characters and the whole name at most 253.",
            ),
            Self::PortZero => formatter.write_str(
                "Port 0 cannot be connected to: use the port your server listens on (1–65535), or leave the port out.",
            ),
        }
    }
}

fn malformed_message(error: url::ParseError) -> String {
    use url::ParseError;
    match error {
        ParseError::RelativeUrlWithoutBase => UrlProblem::MissingScheme.to_string(),
        ParseError::EmptyHost => UrlProblem::NoHost.to_string(),
        ParseError::InvalidPort => {
            "The port must be a number from 1 to 65535 (the part after the : following the host).".to_owned()
        }
        ParseError::InvalidIpv4Address => {
            "The host looks like an IPv4 address but is not a valid one; check the numbers between the dots."
                .to_owned()
        }
        ParseError::InvalidIpv6Address => {
            "The IPv6 address is not valid; write it in brackets, for example http://[::1]:8000/v1.".to_owned()
        }
        ParseError::InvalidDomainCharacter => {
            "The host name contains a character that host names cannot have (such as <, >, %, | or ^).".to_owned()
        }
        ParseError::IdnaError => {
            "The host name contains a character host names cannot have (such as <, > or |), or is not a valid international domain name; check its spelling."
                .to_owned()
        }
        other => format!(
            "This is not a valid URL ({other}); copy it again from the provider's documentation."
        ),
    }
}

/// `name:port…` (a port number after the first colon) or a dotted name: a
/// host written without its scheme.
fn looks_like_host_and_port(trimmed: &str, scheme: &str) -> bool {
    let rest = &trimmed[scheme.len().min(trimmed.len())..];
    let port_follows = rest
        .strip_prefix(':')
        .and_then(|after| after.chars().next())
        .is_some_and(|first| first.is_ascii_digit());
    port_follows || scheme.contains('.')
}

/// A URL that passed the shared rules (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeUrl {
    url: Url,
}

impl SafeUrl {
    /// Parses `raw` (trimmed) under the shared rules.
    pub fn parse(raw: &str) -> Result<Self, UrlProblem> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(UrlProblem::Empty);
        }
        let length = trimmed.chars().count();
        if length > MAX_URL_CHARS {
            return Err(UrlProblem::TooLong { length });
        }
        if trimmed.chars().any(char::is_control) {
            return Err(UrlProblem::ControlCharacters);
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err(UrlProblem::Whitespace);
        }
        let url = Url::parse(trimmed).map_err(|error| match error {
            url::ParseError::RelativeUrlWithoutBase => UrlProblem::MissingScheme,
            url::ParseError::EmptyHost => UrlProblem::NoHost,
            other => UrlProblem::Malformed(other),
        })?;
        match url.scheme() {
            "http" | "https" => {}
            // `localhost:11434` parses as scheme `localhost` and
            // `api.example.com:8443/v1` as scheme `api.example.com`: the
            // person left the scheme out rather than chose a strange one.
            other if !trimmed.contains("://") && looks_like_host_and_port(trimmed, other) => {
                return Err(UrlProblem::MissingScheme)
            }
            other => {
                return Err(UrlProblem::Scheme {
                    shown: (other.len() <= 10).then(|| other.to_owned()),
                })
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlProblem::Userinfo);
        }
        match url.host() {
            None => return Err(UrlProblem::NoHost),
            Some(Host::Domain(domain)) => {
                let name = domain.strip_suffix('.').unwrap_or(domain);
                if name.is_empty() {
                    return Err(UrlProblem::NoHost);
                }
                if name.len() > MAX_HOST_CHARS {
                    return Err(UrlProblem::HostTooLong);
                }
                if name.split('.').any(|label| label.len() > MAX_LABEL_CHARS) {
                    return Err(UrlProblem::LabelTooLong);
                }
            }
            Some(Host::Ipv4(_) | Host::Ipv6(_)) => {}
        }
        if url.port() == Some(0) {
            return Err(UrlProblem::PortZero);
        }
        Ok(Self { url })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn into_url(self) -> Url {
        self.url
    }

    /// For people and logs: no userinfo, query or fragment.
    pub fn display(&self) -> String {
        display_form(&self.url)
    }
}

/// A URL for display: without userinfo, query or fragment. Built from the
/// parsed parts (which WHATWG already normalised) rather than by editing a
/// copy.
pub fn display_form(url: &Url) -> String {
    let port = url
        .port()
        .map(|port| format!(":{port}"))
        .unwrap_or_default();
    format!(
        "{}://{}{}{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        port,
        url.path()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_rules_refuse_with_one_problem_each() {
        let cases: &[(&str, UrlProblem)] = &[
            ("   ", UrlProblem::Empty),
            ("https://ex\nample.com", UrlProblem::ControlCharacters),
            ("https://example.com/a b", UrlProblem::Whitespace),
            ("api.example.com/v1", UrlProblem::MissingScheme),
            ("localhost:11434", UrlProblem::MissingScheme),
            (
                "ftp://example.com",
                UrlProblem::Scheme {
                    shown: Some("ftp".to_owned()),
                },
            ),
            (
                "sk-verylongsecretlookingscheme://x",
                UrlProblem::Scheme { shown: None },
            ),
            ("https://user:secret@example.com/v1", UrlProblem::Userinfo),
            ("https://example.com:0/v1", UrlProblem::PortZero),
            ("https://", UrlProblem::NoHost),
            ("api.example.com:8443/v1", UrlProblem::MissingScheme),
            (
                "javascript:alert(1)",
                UrlProblem::Scheme {
                    shown: Some("javascript".to_owned()),
                },
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                SafeUrl::parse(raw).as_ref().err(),
                Some(expected),
                "{raw:?}"
            );
        }
        let long = format!("https://{}.com", "a".repeat(64));
        assert_eq!(SafeUrl::parse(&long).err(), Some(UrlProblem::LabelTooLong));
        let many = format!("https://{}com", "abcdefghi.".repeat(26));
        assert_eq!(SafeUrl::parse(&many).err(), Some(UrlProblem::HostTooLong));
        let huge = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS));
        assert!(matches!(
            SafeUrl::parse(&huge),
            Err(UrlProblem::TooLong { .. })
        ));
    }

    #[test]
    fn messages_never_repeat_a_pasted_secret() {
        for raw in [
            "https://user:sk-secret-123@example.com/v1",
            "sk-secret-123://example.com",
            "https://exa mple.com/sk-secret-123",
        ] {
            let message = SafeUrl::parse(raw).err().map(|problem| problem.to_string());
            assert!(
                message
                    .as_deref()
                    .is_some_and(|text| !text.contains("sk-secret-123")),
                "{raw:?}: {message:?}"
            );
        }
    }

    #[test]
    fn display_drops_userinfo_query_and_fragment() {
        let url = Url::parse("https://user:pass@host.example:8443/v1/models?key=secret#frag");
        assert_eq!(
            url.map(|url| display_form(&url)).as_deref(),
            Ok("https://host.example:8443/v1/models")
        );
        let parsed = SafeUrl::parse(" https://Example.COM/v1?x=1 ").map(|safe| safe.display());
        assert_eq!(parsed.as_deref(), Ok("https://example.com/v1"));
    }

    #[test]
    fn the_form_the_policy_and_the_proxy_field_say_the_same_for_the_same_url() {
        use crate::model::NetworkAllowance;
        for raw in [
            "api.example.com/v1",
            "ftp://example.com",
            "https://exa mple.com/v1",
            "https://example.com:0/v1",
            "https://ex\u{7}ample.com",
        ] {
            let shared = SafeUrl::parse(raw).err().map(|problem| problem.to_string());
            let form = crate::base_url::normalize(raw, NetworkAllowance::Remote)
                .err()
                .map(|problem| problem.message);
            let policy = crate::egress::judge_url(raw, NetworkAllowance::Remote).message;
            let proxy = crate::validation::validate_proxy(raw)
                .err()
                .map(|problem| problem.message);
            assert!(shared.is_some(), "{raw:?}");
            assert_eq!(form, shared, "{raw:?}");
            assert_eq!(Some(policy), shared, "{raw:?}");
            assert_eq!(proxy, shared, "{raw:?}");
        }
    }
}
