//! The stages of one request, in the order the connection test reports them.

use std::fmt;

use serde::Serialize;

/// The stages of a request, in order. Serialised in snake_case; shown to
/// people through `Display`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    UrlPolicy,
    Dns,
    TcpConnect,
    Tls,
    Models,
    Chat,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::UrlPolicy,
        Stage::Dns,
        Stage::TcpConnect,
        Stage::Tls,
        Stage::Models,
        Stage::Chat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UrlPolicy => "url_policy",
            Self::Dns => "dns",
            Self::TcpConnect => "tcp_connect",
            Self::Tls => "tls",
            Self::Models => "models",
            Self::Chat => "chat",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::UrlPolicy => "URL policy",
            Self::Dns => "DNS",
            Self::TcpConnect => "TCP connect",
            Self::Tls => "TLS",
            Self::Models => "model list",
            Self::Chat => "chat",
        })
    }
}
