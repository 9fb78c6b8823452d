//! A forwarding proxy on 127.0.0.1 that records every request line: it
//! tunnels `CONNECT host:port` and forwards absolute-form requests
//! (`GET http://host:port/path`) to the local server `routes` maps that
//! `host:port` to, so a test can use made-up names that are never resolved
//! anywhere. Or it answers everything with 407 (a proxy that wants
//! credentials it does not get), or it wants one user name and password
//! (HTTP Basic) and forwards only requests that carry them, stripping
//! `Proxy-Authorization` before forwarding, as real proxies do.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use url::Url;

use crate::TestResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    /// Tunnels `CONNECT` and forwards absolute-form requests.
    Forward,
    /// Answers everything with 407 Proxy Authentication Required.
    NeedsCredentials,
    /// Forwards like `Forward` what carries `Proxy-Authorization: Basic`
    /// with this user name and password; 407 for anything else.
    Basic(&'static str, &'static str),
    /// 407 offering only `Negotiate` and `NTLM`.
    Kerberos,
}

/// The recording proxy. `routes` maps `host:port` (as the client writes
/// it) to a local server; anything else gets 502.
#[derive(Debug)]
pub struct Proxy {
    pub address: SocketAddr,
    request_lines: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    pub async fn start(mode: ProxyMode, routes: HashMap<String, SocketAddr>) -> TestResult<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;
        let request_lines = Arc::new(Mutex::new(Vec::new()));
        let lines = request_lines.clone();
        let routes = Arc::new(routes);
        let task = tokio::spawn(async move {
            while let Ok((stream, _peer)) = listener.accept().await {
                let (lines, routes) = (lines.clone(), routes.clone());
                tokio::spawn(async move {
                    if let Err(error) = serve(stream, mode, &routes, &lines).await {
                        eprintln!("test proxy: {error}");
                    }
                });
            }
        });
        Ok(Self {
            address,
            request_lines,
            task,
        })
    }

    /// [`Proxy::start`] for synchronous tests (see [`crate::block_on`]).
    pub fn background(mode: ProxyMode, routes: HashMap<String, SocketAddr>) -> TestResult<Self> {
        crate::block_on(Self::start(mode, routes))
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> TestResult<Url> {
        Ok(Url::parse(&self.at())?)
    }

    /// `http://127.0.0.1:port` as text, for command lines.
    pub fn at(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every request line received, in order (`CONNECT host:443 HTTP/1.1`,
    /// `GET http://host/v1/models HTTP/1.1`).
    pub fn request_lines(&self) -> Vec<String> {
        self.request_lines
            .lock()
            .map(|list| list.clone())
            .unwrap_or_default()
    }
}

async fn serve(
    mut client: TcpStream,
    mode: ProxyMode,
    routes: &HashMap<String, SocketAddr>,
    lines: &Mutex<Vec<String>>,
) -> io::Result<()> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = client.read_u8().await?;
        head.push(byte);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let line = text.lines().next().unwrap_or("").to_owned();
    if let Ok(mut list) = lines.lock() {
        list.push(line.clone());
    }
    let authorization = text
        .lines()
        .filter_map(|header| header.split_once(':'))
        .find(|(name, _value)| name.trim().eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_name, value)| value.trim().to_owned());
    let admitted = match mode {
        ProxyMode::Forward => true,
        ProxyMode::NeedsCredentials | ProxyMode::Kerberos => false,
        ProxyMode::Basic(user, password) => {
            use base64::Engine as _;
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            );
            authorization.as_deref() == Some(expected.as_str())
        }
    };
    if !admitted {
        let offer: &[u8] = if mode == ProxyMode::Kerberos {
            b"Proxy-Authenticate: Negotiate\r\nProxy-Authenticate: NTLM\r\n"
        } else {
            b"Proxy-Authenticate: Basic realm=\"corp\"\r\n"
        };
        let mut answer = b"HTTP/1.1 407 Proxy Authentication Required\r\n".to_vec();
        answer.extend_from_slice(offer);
        answer.extend_from_slice(b"Content-Length: 0\r\nConnection: close\r\n\r\n");
        client.write_all(&answer).await?;
        return Ok(());
    }
    // Forwarded requests lose the proxy's own header.
    let head: Vec<u8> = text
        .split_inclusive("\r\n")
        .filter(|header| {
            !header.split_once(':').is_some_and(|(name, _value)| {
                name.trim().eq_ignore_ascii_case("proxy-authorization")
            })
        })
        .collect::<String>()
        .into_bytes();
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("");
    let authority = if method == "CONNECT" {
        target.to_owned()
    } else {
        // Absolute form: `GET http://host:port/path HTTP/1.1`.
        Url::parse(target)
            .ok()
            .and_then(|url| {
                Some(format!(
                    "{}:{}",
                    url.host_str()?,
                    url.port_or_known_default()?
                ))
            })
            .unwrap_or_default()
    };
    let Some(upstream) = routes.get(&authority) else {
        client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    let mut upstream = TcpStream::connect(upstream).await?;
    if method == "CONNECT" {
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
    } else {
        upstream.write_all(&head).await?;
    }
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
