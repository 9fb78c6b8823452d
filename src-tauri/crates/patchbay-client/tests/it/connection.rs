//! The client against a scripted peer on a real Unix socket (a named pipe
//! on Windows): response routing by id, notifications, errors, disconnects,
//! version checks.

use std::path::PathBuf;
use std::time::Duration;

use patchbay_client::{Client, ErrorKind};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, ReadHalf, WriteHalf};

use crate::transport::{private_dir, Duplex, Listener};

struct Peer {
    lines: tokio::io::Lines<BufReader<ReadHalf<Box<dyn Duplex>>>>,
    writer: WriteHalf<Box<dyn Duplex>>,
}

impl Peer {
    async fn request(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(5), self.lines.next_line())
            .await
            .expect("a request in time")
            .expect("readable")
            .expect("a line");
        serde_json::from_str(&line).expect("the client sends JSON")
    }

    async fn send(&mut self, frame: &str) {
        self.writer
            .write_all(frame.as_bytes())
            .await
            .expect("write");
        self.writer.write_all(b"\n").await.expect("write");
    }

    /// Answers `request` with `result`.
    async fn reply(&mut self, request: &Value, result: Value) {
        let answer = json!({"jsonrpc": "2.0", "id": request["id"], "result": result});
        self.send(&answer.to_string()).await;
    }
}

fn socket_path(directory: &tempfile::TempDir) -> PathBuf {
    crate::transport::endpoint(directory)
}

async fn accept(listener: &Listener) -> Peer {
    let stream = tokio::time::timeout(Duration::from_secs(5), listener.accept())
        .await
        .expect("connect in time")
        .expect("accept");
    let (read, writer) = tokio::io::split(stream);
    Peer {
        lines: BufReader::new(read).lines(),
        writer,
    }
}

/// A client connected to a scripted peer on a fresh endpoint. Keep the
/// directory and the listener alive as long as the connection.
async fn connected() -> (tempfile::TempDir, Listener, Client, Peer) {
    let directory = private_dir();
    let listener = Listener::bind(&socket_path(&directory));
    let client = Client::connect_to(&socket_path(&directory))
        .await
        .expect("connect");
    let peer = accept(&listener).await;
    (directory, listener, client, peer)
}

fn entry(id: &str) -> Value {
    let (provider, model) = id.split_once('/').expect("entry id");
    json!({"id": id, "label": format!("{model} · {provider}"),
           "provider": {"id": provider, "label": provider, "base_url": "http://127.0.0.1:1/v1"},
           "model_id": model, "is_default": true, "byok": true, "auth": "none", "input_modalities": []})
}

#[tokio::test]
async fn nothing_listening_is_not_running() {
    let directory = private_dir();
    let missing = Client::connect_to(&socket_path(&directory))
        .await
        .expect_err("no socket file");
    assert_eq!(missing.kind(), ErrorKind::NotRunning);
    assert!(missing.to_string().contains("patchbay serve"), "{missing}");

    // A socket file whose server died: connecting is refused. (A named pipe
    // vanishes with its server, so Windows only has the case above.)
    #[cfg(unix)]
    {
        let listener =
            std::os::unix::net::UnixListener::bind(socket_path(&directory)).expect("bind");
        drop(listener);
        let refused = Client::connect_to(&socket_path(&directory))
            .await
            .expect_err("refused");
        assert_eq!(refused.kind(), ErrorKind::NotRunning);
        assert!(refused.to_string().contains("patchbay serve"));
    }
    // A pipe that existed and is gone again: not running either.
    #[cfg(windows)]
    {
        drop(Listener::bind(&socket_path(&directory)));
        let gone = Client::connect_to(&socket_path(&directory))
            .await
            .expect_err("gone");
        assert_eq!(gone.kind(), ErrorKind::NotRunning);
    }
}

#[tokio::test]
async fn answers_are_matched_by_id_even_out_of_order() {
    let (_directory, _listener, client, mut peer) = connected().await;

    let (hello, entries, ()) = tokio::join!(client.hello(), client.list_entries(), async {
        let first = peer.request().await;
        let second = peer.request().await;
        let (hello, list) = if first["method"] == "patchbay.hello" {
            (first, second)
        } else {
            (second, first)
        };
        assert_eq!(list["method"], "entries.list");
        assert_eq!(hello["jsonrpc"], "2.0");
        // Noise the client must skip: garbage, an unknown notification, an
        // answer to an id nobody asked for.
        peer.send("this is not json").await;
        peer.send(r#"{"jsonrpc":"2.0","method":"something.new","params":{}}"#)
            .await;
        peer.send(r#"{"jsonrpc":"2.0","id":999,"result":{}}"#).await;
        peer.reply(&list, json!({"entries": [entry("p/a/b:c")]}))
            .await;
        peer.reply(
            &hello,
            json!({"protocol": 1, "app_version": "9.9.9", "methods": ["patchbay.hello"]}),
        )
        .await;
    });
    assert_eq!(hello.expect("hello").app_version, "9.9.9");
    let entries = entries.expect("entries");
    assert_eq!(entries[0].model_id, "a/b:c");
}

#[tokio::test]
async fn rpc_errors_keep_code_and_kind_and_a_newer_protocol_is_refused() {
    let (_directory, _listener, client, mut peer) = connected().await;

    let (resolved, ()) = tokio::join!(client.resolve("pbt_secret_token", "p/m"), async {
        let request = peer.request().await;
        assert_eq!(request["params"]["token"], "pbt_secret_token");
        let answer = json!({"jsonrpc": "2.0", "id": request["id"],
            "error": {"code": -32001, "message": "The token is unknown or was revoked.", "data": {"kind": "unauthorized"}}});
        peer.send(&answer.to_string()).await;
    });
    let error = resolved.expect_err("unauthorized");
    assert_eq!(error.kind(), ErrorKind::Rpc);
    assert_eq!(error.rpc_code(), Some(-32001));
    assert_eq!(error.rpc_kind(), Some("unauthorized"));
    assert!(!format!("{error:?} {error}").contains("pbt_secret_token"));

    let (hello, ()) = tokio::join!(client.hello(), async {
        let request = peer.request().await;
        peer.reply(
            &request,
            json!({"protocol": 3, "app_version": "3.0.0", "methods": []}),
        )
        .await;
    });
    assert_eq!(
        hello.expect_err("protocol 3").kind(),
        ErrorKind::UnsupportedVersion
    );
}

#[tokio::test]
async fn subscriptions_get_every_change_and_end_when_the_server_goes() {
    let (_directory, _listener, client, mut peer) = connected().await;

    let (subscription, ()) = tokio::join!(client.subscribe(), async {
        let request = peer.request().await;
        assert_eq!(request["method"], "entries.subscribe");
        peer.reply(&request, json!({"entries": [entry("p/one")]}))
            .await;
    });
    let mut subscription = subscription.expect("subscribed");
    assert_eq!(subscription.initial()[0].id, "p/one");

    let changed = json!({"jsonrpc": "2.0", "method": "entries.changed", "params": {"entries": [entry("p/two"), entry("q/three")]}});
    peer.send(&changed.to_string()).await;
    let next = tokio::time::timeout(Duration::from_secs(5), subscription.next())
        .await
        .expect("in time")
        .expect("a list");
    assert_eq!(
        next.iter()
            .map(|entry| entry.id.as_str())
            .collect::<Vec<_>>(),
        ["p/two", "q/three"]
    );

    // A call in flight when the server goes away fails as disconnected.
    let pending = tokio::spawn({
        let client = client.clone();
        async move { client.list_entries().await }
    });
    peer.request().await;
    drop(peer);
    let error = pending.await.expect("join").expect_err("disconnected");
    assert_eq!(error.kind(), ErrorKind::Disconnected);
    let ended = tokio::time::timeout(Duration::from_secs(5), subscription.next())
        .await
        .expect("in time");
    assert!(ended.is_none());
    assert_eq!(
        client.hello().await.expect_err("closed").kind(),
        ErrorKind::Disconnected
    );
}

#[tokio::test]
async fn a_held_list_is_asked_for_by_its_tag_and_reused_when_unchanged() {
    let (_directory, _listener, client, mut peer) = connected().await;

    // Nothing held yet: a plain request, and the full list comes back.
    let (first, ()) = tokio::join!(client.list_entries(), async {
        let request = peer.request().await;
        assert_eq!(request["method"], "entries.list");
        assert!(request.get("params").is_none(), "{request}");
        peer.reply(
            &request,
            json!({"etag": "tag-1", "entries": [entry("p/a"), entry("p/b")]}),
        )
        .await;
    });
    let first = first.expect("first list");
    assert_eq!((first.etag(), first.len()), ("tag-1", 2));

    // Held: its tag goes along; "unchanged" hands back the held list.
    let (second, ()) = tokio::join!(client.list_entries(), async {
        let request = peer.request().await;
        assert_eq!(request["params"], json!({"if_none_match": "tag-1"}));
        peer.reply(&request, json!({"etag": "tag-1", "unchanged": true}))
            .await;
    });
    assert_eq!(second.expect("unchanged"), first);

    // A notification replaces the held list, so the next call sends its tag.
    // (The subscription tells when the reader task has taken it in.)
    let (subscription, ()) = tokio::join!(client.subscribe(), async {
        let request = peer.request().await;
        peer.reply(
            &request,
            json!({"etag": "tag-1", "entries": [entry("p/a"), entry("p/b")]}),
        )
        .await;
    });
    let mut subscription = subscription.expect("subscribed");
    let changed = json!({"jsonrpc": "2.0", "method": "entries.changed",
        "params": {"etag": "tag-2", "entries": [entry("q/c")]}});
    peer.send(&changed.to_string()).await;
    let notified = tokio::time::timeout(Duration::from_secs(5), subscription.next())
        .await
        .expect("in time")
        .expect("a list");
    assert_eq!(notified.etag(), "tag-2");
    let (third, ()) = tokio::join!(client.list_entries(), async {
        let request = peer.request().await;
        assert_eq!(request["params"], json!({"if_none_match": "tag-2"}));
        peer.reply(&request, json!({"etag": "tag-2", "unchanged": true}))
            .await;
    });
    assert_eq!(third.expect("third"), notified);

    // "Unchanged" for a tag this client does not hold is the server's fault,
    // said plainly rather than answered with an empty list.
    let (odd, ()) = tokio::join!(client.list_entries(), async {
        let request = peer.request().await;
        peer.reply(&request, json!({"etag": "tag-9", "unchanged": true}))
            .await;
    });
    let error = odd.expect_err("unchanged for an unknown tag");
    assert_eq!(error.kind(), ErrorKind::Protocol);

    // A server older than tags: no etag, no params sent afterwards.
    let (old, ()) = tokio::join!(client.list_entries(), async {
        let request = peer.request().await;
        peer.reply(&request, json!({"entries": [entry("p/a")]}))
            .await;
    });
    assert_eq!(old.expect("untagged list").etag(), "");
    let (again, ()) = tokio::join!(client.list_entries(), async {
        let request = peer.request().await;
        assert!(request.get("params").is_none(), "{request}");
        peer.reply(&request, json!({"entries": [entry("p/a")]}))
            .await;
    });
    assert_eq!(again.expect("untagged again").len(), 1);
}
