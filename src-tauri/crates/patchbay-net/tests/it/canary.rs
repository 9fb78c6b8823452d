//! The key canary: the API key, a secret header value, and provider bodies
//! that echo them never appear in an error, a stage detail, a hint, a
//! serialised report, a `Debug` dump or a log line.

use std::io::Write;
use std::sync::{Arc, Mutex};

use patchbay_core::ApiKey;
use patchbay_net::probe::run_test;
use patchbay_net::{fetch_models, TestReport};

use crate::support::*;

const HEADER_SECRET: &str = "hdr-secret-77c1a9e04b2d";

/// Collects every log line at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn assert_clean(label: &str, text: &str) {
    for secret in [
        CANARY_KEY,
        HEADER_SECRET,
        &CANARY_KEY[..16],
        &CANARY_KEY[CANARY_KEY.len() - 16..],
    ] {
        assert!(!text.contains(secret), "{label} leaks a secret: {text}");
    }
}

fn check_report(label: &str, report: &TestReport) -> TestResult {
    assert_clean(label, &serde_json::to_string(report)?);
    assert_clean(label, &format!("{report:?}"));
    Ok(())
}

#[tokio::test(flavor = "current_thread")]
async fn the_key_never_leaks_through_any_output() -> TestResult {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let echo = |message: String| {
        move |_: &Seen| Canned::json(401, format!(r#"{{"error":{{"message":"{message}"}}}}"#))
    };
    let cases: Vec<Handler> = vec![
        handler(echo(format!("Incorrect API key provided: {CANARY_KEY}."))),
        handler(echo(format!(
            "Bad header Authorization: Bearer {CANARY_KEY} and X-Api-Key={HEADER_SECRET}"
        ))),
        handler(echo(format!("key {}… is revoked", &CANARY_KEY[..20]))),
        handler(|_| {
            Canned::json(
                200,
                format!(r#"{{"error":{{"message":"quota for {CANARY_KEY} exceeded"}}}}"#),
            )
        }),
        handler(|_| {
            Canned::json(429, format!(r#"{{"error":"slow down {CANARY_KEY}"}}"#))
                .header("retry-after", CANARY_KEY)
        }),
        handler(|_| {
            Canned::json(302, "{}").header(
                "location",
                &format!("/v1/{CANARY_KEY}/models?key={CANARY_KEY}"),
            )
        }),
        handler(|_| Canned::html(500, format!("<html>{CANARY_KEY}</html>"))),
        handler(|seen| match seen.path.as_str() {
            "/v1/models" => Canned::json(200, models_body(&["m"])),
            _ => Canned::json(
                404,
                format!(r#"{{"error":{{"message":"model for key {CANARY_KEY} does not exist"}}}}"#),
            ),
        }),
        handler(|seen| match seen.path.as_str() {
            "/v1/models" => Canned::json(200, models_body(&["m"])),
            _ => Canned::events(&[&format!(
                r#"{{"error":{{"message":"stream error {CANARY_KEY}"}}}}"#
            )]),
        }),
    ];
    for (index, case) in cases.into_iter().enumerate() {
        let server = Server::http(case).await?;
        let mut target = with_key(local_target(server.url("/v1")?), CANARY_KEY);
        target.headers = vec![("X-Api-Key".into(), ApiKey::new(HEADER_SECRET))];
        let mut options = options(Arc::new(NoLookup::default()));
        options.chat_model = Some("m".into());
        let streamed = Arc::new(Mutex::new(String::new()));
        let sink = streamed.clone();
        let on_stage = move |stage: &patchbay_net::StageReport| {
            if let Ok(mut text) = sink.lock() {
                text.push_str(&serde_json::to_string(stage).unwrap_or_default());
            }
        };
        let report = run_test(&client()?, &target, &options, &on_stage).await;
        assert!(!report.ok, "case {index} should fail");
        if index == 0 {
            // The provider's words survive with the key cut out, so the
            // assertions below do not pass on an empty message.
            let message = report
                .failed_stage()
                .and_then(|stage| stage.failure.as_ref())
                .map(|failure| failure.message.clone())
                .unwrap_or_default();
            assert_eq!(
                message,
                "The key was rejected (HTTP 401): Incorrect API key provided: [redacted]."
            );
        }
        check_report(&format!("case {index}"), &report)?;
        assert_clean(
            &format!("case {index} stage stream"),
            &streamed.lock().map(|text| text.clone()).unwrap_or_default(),
        );
        assert_clean(&format!("case {index} target"), &format!("{target:?}"));

        if let Err(error) = fetch_models(&client()?, &target, &NoLookup::default()).await {
            assert_clean(&format!("case {index} error"), &error.to_string());
            assert_clean(&format!("case {index} hint"), &error.hint());
            assert_clean(&format!("case {index} debug"), &format!("{error:?}"));
            assert_clean(
                &format!("case {index} payload"),
                &serde_json::to_string(&error.failure())?,
            );
        }
    }
    let logs = captured
        .0
        .lock()
        .map(|buffer| String::from_utf8_lossy(&buffer).into_owned())
        .unwrap_or_default();
    assert_clean("logs", &logs);
    Ok(())
}
