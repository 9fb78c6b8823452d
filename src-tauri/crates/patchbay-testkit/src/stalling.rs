//! A model that starts an answer and then goes quiet: one chat-completion
//! chunk, then nothing, until the client hangs up — which it reports. For
//! the tests that Stop, Cancel and Ctrl-C really close the provider
//! connection (and do not just stop reading).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::json;

/// The server; [`Stalling::closed_within`] says when the client hung up.
#[derive(Debug)]
pub struct Stalling {
    base_url: String,
    closed: Receiver<Instant>,
}

impl Stalling {
    /// Listens on 127.0.0.1 for one request, answers a stream whose first
    /// chunk carries `first_piece`, then waits for the client to close.
    pub fn start(first_piece: &str) -> crate::TestResult<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let base_url = format!("http://{}/v1", listener.local_addr()?);
        let event = format!(
            "data: {}\n\n",
            json!({"choices": [{"index": 0, "delta": {"content": first_piece}}]})
        );
        let (sender, closed) = mpsc::channel();
        std::thread::spawn(move || {
            let Ok((mut socket, _)) = listener.accept() else {
                return;
            };
            let mut request = vec![0_u8; 16 * 1024];
            if socket.read(&mut request).is_err() {
                return;
            }
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{event}\r\n",
                event.len()
            );
            if socket.write_all(reply.as_bytes()).is_err() {
                return;
            }
            // Then silence: reading returns 0 once the client closes.
            let mut rest = [0_u8; 64];
            while let Ok(read) = socket.read(&mut rest) {
                if read == 0 {
                    break;
                }
            }
            if sender.send(Instant::now()).is_err() {
                // The test is already over.
            }
        });
        Ok(Self { base_url, closed })
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// When the client closed the connection, if it did within `timeout`.
    pub fn closed_within(&self, timeout: Duration) -> Option<Instant> {
        self.closed.recv_timeout(timeout).ok()
    }
}
