//! A tiny HTTP/1.1 server on 127.0.0.1 for end-to-end tests: fixed answers
//! per `METHOD /path`, and a record of what was asked (request line and
//! whether an `Authorization` header came along).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub request_line: String,
    pub had_authorization: bool,
}

#[derive(Debug)]
pub struct StubServer {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StubServer {
    /// Serves `routes` (`"GET /v1/models"` → (status, JSON body)); anything
    /// else gets a 404 with an OpenAI-style error body.
    pub fn start(routes: HashMap<String, (u16, String)>) -> Self {
        Self::start_on(0, routes).unwrap_or_else(|error| panic!("cannot listen: {error}"))
    }

    /// Like [`StubServer::start`] on a given port of 127.0.0.1 (0: any).
    pub fn start_on(port: u16, routes: HashMap<String, (u16, String)>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let port = listener
            .local_addr()
            .map(|address| address.port())
            .unwrap_or_else(|error| panic!("no port: {error}"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    match stream {
                        Ok(stream) => serve(stream, &routes, &seen),
                        Err(error) => eprintln!("stub server: accept failed: {error}"),
                    }
                }
            })
        };
        Ok(Self {
            port,
            seen,
            stop,
            thread: Some(thread),
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for StubServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        if let Err(error) = TcpStream::connect(("127.0.0.1", self.port)) {
            eprintln!("stub server: could not wake the accept loop: {error}");
        }
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                eprintln!("stub server: the accept thread panicked");
            }
        }
    }
}

fn serve(stream: TcpStream, routes: &HashMap<String, (u16, String)>, seen: &Mutex<Vec<Seen>>) {
    if let Err(error) = stream.set_read_timeout(Some(Duration::from_secs(5))) {
        eprintln!("stub server: {error}");
    }
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() || request_line.is_empty() {
        return;
    }
    let mut had_authorization = false;
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {
                let lower = line.to_ascii_lowercase();
                had_authorization |= lower.starts_with("authorization:");
                if let Some(length) = lower.strip_prefix("content-length:") {
                    content_length = length.trim().parse().unwrap_or(0);
                }
            }
        }
    }
    let mut body = vec![0; content_length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request_line = request_line.trim_end().to_owned();
    let route = request_line
        .rsplit_once(' ')
        .map(|(route, _version)| route.to_owned())
        .unwrap_or_default();
    seen.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Seen {
            request_line,
            had_authorization,
        });
    let (status, body) = routes
        .get(&route)
        .cloned()
        .unwrap_or_else(|| (404, r#"{"error":{"message":"no such route"}}"#.to_owned()));
    let response = format!(
        "HTTP/1.1 {status} Stub\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = &stream;
    if let Err(error) = stream.write_all(response.as_bytes()) {
        eprintln!("stub server: could not answer: {error}");
    }
}
