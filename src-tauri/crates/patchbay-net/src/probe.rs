//! "Test connection": a staged report of one provider's reachability.
//!
//! Stages, in order: `url_policy` → `dns` → `tcp_connect` → `tls` (skipped
//! for http) → `models` (`GET {base}/models` with auth: status, latency,
//! model count) → `chat` (optional: `POST {base}/chat/completions` with one
//! short user message, `max_tokens: 1`, `stream: true`; time to first
//! token). Each stage is reported to `on_stage` as it completes, so the UI
//! can show progress; a failed stage skips the ones that depend on it.
//!
//! Outcomes worth knowing about:
//!
//! - A 404 on `/models` when the base URL has no version segment: the probe
//!   tries `{base}/v1/models` once and, if that answers with a model list,
//!   puts a `use_v1` suggestion in the report. The user's URL is never
//!   changed.
//! - A 404 (or a "model not found" message) from the chat probe names the
//!   model and the closest ids from the model list.
//! - The `/models` body is parsed by [`crate::discovery`] and returned in
//!   the report, so the form's model picker needs no second request.
//!
//! Everything in a [`TestReport`] is safe to show and to serialise: provider
//! bodies only appear as redacted, truncated `error.message` text (see
//! [`crate::error`]), and no field holds a key.
//!
//! Cancelling: abort the task running [`run_test`] (the connection is
//! dropped with it; nothing is spawned), or set [`TestOptions::cancel`] and
//! cancel the token to get a report whose running stage failed with
//! `cancelled`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::Method;
use patchbay_core::base_url::endpoint;
use patchbay_core::egress::display_form as display_url;
use patchbay_core::model::Api;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::client::HttpClient;
use crate::discovery::DiscoveredModel;
use crate::error::{Failure, NetError, Resource};
use crate::openai;
use crate::policy::{Lookup, SystemLookup};
use crate::session::{ReadMode, Session, Stream};
pub use crate::stage::Stage;
pub use crate::target::Target;
use patchbay_core::Kind;

/// How to run the test.
#[derive(Clone)]
pub struct TestOptions {
    /// Also probe chat with this model.
    pub chat_model: Option<String>,
    /// Where the server does not list models (`/models` answers 404 or
    /// 405) and no chat probe was asked for, check this model (the one the
    /// person typed) with the one-token chat probe instead; its answer
    /// decides the test.
    pub unlisted_model: Option<String>,
    /// Azure OpenAI: the deployments to check, each with a one-token chat
    /// request, when no `chat_model` is given (its model list names models,
    /// not deployments, and deployments cannot be listed with a key).
    pub deployments: Vec<String>,
    /// The resolver; tests inject their own.
    pub lookup: Arc<dyn Lookup>,
    /// Cancelling it ends the test with a `cancelled` stage.
    pub cancel: Option<CancellationToken>,
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            chat_model: None,
            unlisted_model: None,
            deployments: Vec::new(),
            lookup: Arc::new(SystemLookup),
            cancel: None,
        }
    }
}

impl fmt::Debug for TestOptions {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TestOptions")
            .field("chat_model", &self.chat_model)
            .field("unlisted_model", &self.unlisted_model)
            .field("lookup", &self.lookup)
            .field("cancel", &self.cancel.is_some())
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StageStatus {
    Ok,
    Failed,
    Skipped,
}

/// One stage's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageReport {
    pub stage: Stage,
    pub status: StageStatus,
    pub duration_ms: u64,
    /// What happened, for a person (addresses, TLS version, status and count).
    pub detail: String,
    pub failure: Option<Failure>,
}

/// An offer the UI can show; never applied silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// `use_v1`.
    pub kind: String,
    pub base_url: String,
    pub message: String,
}

/// The whole test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestReport {
    pub ok: bool,
    pub stages: Vec<StageReport>,
    pub models_count: Option<usize>,
    pub models: Vec<DiscoveredModel>,
    pub suggestion: Option<Suggestion>,
    /// The SHA-256 of the certificate the server presented (https only).
    pub certificate_sha256: Option<String>,
    /// What that certificate is: subject, issuer, validity, names.
    pub certificate: Option<patchbay_core::certificates::CertificateSummary>,
    pub time_to_first_token_ms: Option<u64>,
    /// Where redirects went, in order.
    pub redirects: Vec<String>,
    /// One sentence for the provider list (`LastTest.summary`).
    pub summary: String,
}

impl TestReport {
    /// The first failed stage.
    pub fn failed_stage(&self) -> Option<&StageReport> {
        self.stages
            .iter()
            .find(|stage| stage.status == StageStatus::Failed)
    }

    pub fn stage(&self, stage: Stage) -> Option<&StageReport> {
        self.stages.iter().find(|report| report.stage == stage)
    }
}

/// Collects stage reports and passes each on as it completes.
struct Recorder<'a> {
    stages: Vec<StageReport>,
    on_stage: &'a (dyn Fn(&StageReport) + Send + Sync),
}

impl Recorder<'_> {
    fn push(&mut self, report: StageReport) {
        (self.on_stage)(&report);
        self.stages.push(report);
    }

    fn ok(&mut self, stage: Stage, started: Instant, detail: String) {
        self.push(StageReport {
            stage,
            status: StageStatus::Ok,
            duration_ms: millis(started.elapsed()),
            detail,
            failure: None,
        });
    }

    fn skipped(&mut self, stage: Stage, detail: &str) {
        self.push(StageReport {
            stage,
            status: StageStatus::Skipped,
            duration_ms: 0,
            detail: detail.to_owned(),
            failure: None,
        });
    }

    fn failed(&mut self, stage: Stage, started: Instant, failure: Failure) {
        let detail = failure.message.clone();
        self.push(StageReport {
            stage,
            status: StageStatus::Failed,
            duration_ms: millis(started.elapsed()),
            detail,
            failure: Some(failure),
        });
    }

    /// Records a stage that produced `(value, detail)`, or failed: then the
    /// stages after it are skipped and the test stops (`None`).
    fn step<T>(
        &mut self,
        stage: Stage,
        started: Instant,
        result: Result<(T, String), NetError>,
    ) -> Option<T> {
        match result {
            Ok((value, detail)) => {
                self.ok(stage, started, detail);
                Some(value)
            }
            Err(error) => {
                self.failed(stage, started, error.failure());
                self.skip_after(stage);
                None
            }
        }
    }

    /// Marks every stage after `stage` skipped.
    fn skip_after(&mut self, stage: Stage) {
        let later = Stage::ALL
            .iter()
            .skip_while(|candidate| **candidate != stage)
            .skip(1);
        for &next in later {
            self.skipped(next, &format!("skipped: the {stage} stage failed"));
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Runs the staged test. Never fails as a whole: every problem is a stage's
/// failure in the report.
pub async fn run_test(
    client: &HttpClient,
    target: &Target,
    options: &TestOptions,
    on_stage: &(dyn Fn(&StageReport) + Send + Sync),
) -> TestReport {
    let mut recorder = Recorder {
        stages: Vec::with_capacity(Stage::ALL.len()),
        on_stage,
    };
    let mut session = Session::new(
        client,
        target,
        options.lookup.as_ref(),
        options.cancel.clone(),
    );
    let mut outcome = Outcome::default();
    // `None` only says the test stopped early; the recorder has the stages.
    let _stopped = run_stages(&mut session, target, options, &mut recorder, &mut outcome).await;
    let ok = recorder
        .stages
        .iter()
        .all(|stage| stage.status != StageStatus::Failed);
    let summary = summarize(ok, &recorder.stages, &outcome);
    TestReport {
        ok,
        stages: recorder.stages,
        models_count: outcome.models.as_ref().map(Vec::len),
        models: outcome.models.unwrap_or_default(),
        suggestion: outcome.suggestion,
        certificate_sha256: session.certificate_sha256().map(str::to_owned),
        certificate: session.certificate(),
        time_to_first_token_ms: outcome.first_token.map(millis),
        redirects: session.redirects().to_vec(),
        summary,
    }
}

#[derive(Default)]
struct Outcome {
    models: Option<Vec<DiscoveredModel>>,
    models_latency: Option<Duration>,
    suggestion: Option<Suggestion>,
    first_token: Option<Duration>,
    /// The server does not list models; a chat probe checks the model.
    unlisted: bool,
}

/// The stages in order; `None` once one failed (the later ones are then
/// recorded as skipped).
async fn run_stages(
    session: &mut Session<'_>,
    target: &Target,
    options: &TestOptions,
    recorder: &mut Recorder<'_>,
    outcome: &mut Outcome,
) -> Option<()> {
    let started = Instant::now();
    let checked = session.check_url(&target.base_url);
    let mut destination = recorder.step(Stage::UrlPolicy, started, checked)?;

    let started = Instant::now();
    if destination.is_literal() {
        recorder.skipped(Stage::Dns, &destination.literal_detail());
    } else {
        let resolved = session.resolve(&mut destination).await;
        recorder.step(Stage::Dns, started, resolved.map(|detail| ((), detail)))?;
    }

    let started = Instant::now();
    let connected = match session.connect_tcp(&destination).await {
        Ok((tcp, peer)) => session
            .through_proxy(&destination, tcp)
            .await
            .map(|(stream, via)| {
                let detail = match via {
                    Some(via) => format!("connected to {peer}; {via}"),
                    None => format!("connected to {peer}"),
                };
                ((stream, peer), detail)
            }),
        Err(error) => Err(error),
    };
    let (stream, peer) = recorder.step(Stage::TcpConnect, started, connected)?;

    let started = Instant::now();
    let stream: Box<dyn Stream> = if destination.is_https() {
        let handshake = session.handshake_tls(&destination, stream).await;
        let secured = handshake.map(|(tls, detail)| (Box::new(tls) as Box<dyn Stream>, detail));
        recorder.step(Stage::Tls, started, secured)?
    } else {
        recorder.skipped(Stage::Tls, "plain http: no TLS");
        stream
    };

    let started = Instant::now();
    let models_result = match session.attach(&destination, stream, peer).await {
        Ok(()) => {
            fetch_listing(
                session,
                &target.request_url("models", None),
                &target.base_url,
            )
            .await
        }
        Err(error) => Err(error),
    };
    let probe_instead = options.chat_model.is_some() || options.unlisted_model.is_some();
    let chat_allowed = record_models(
        session,
        target,
        recorder,
        outcome,
        started,
        models_result,
        probe_instead,
    )
    .await;
    if target.api == Api::AzureOpenai && options.chat_model.is_none() {
        if options.deployments.is_empty() {
            recorder.skipped(
                Stage::Chat,
                "not run: type the names of your Azure deployments under Models; each is checked with a one-token request",
            );
        } else if !chat_allowed {
            recorder.skipped(Stage::Chat, "not run: the model list failed first");
        } else {
            deployments_stage(session, target, &options.deployments, recorder, outcome).await;
        }
        return Some(());
    }
    let model = options.chat_model.as_deref().or(if outcome.unlisted {
        options.unlisted_model.as_deref()
    } else {
        None
    });
    let Some(model) = model else {
        recorder.skipped(
            Stage::Chat,
            "not run: this test did not ask for a chat request",
        );
        return Some(());
    };
    if !chat_allowed {
        recorder.skipped(Stage::Chat, "not run: the model list failed first");
        return Some(());
    }
    chat_stage(session, target, model, recorder, outcome).await;
    Some(())
}

/// Records the model list stage. On a 404 of a base URL without a version
/// segment it tries `…/v1` once for a suggestion. `true` when the chat probe
/// may still run: without a model list the chat probe is how a user verifies
/// model ids they typed; it is pointless when the URL is wrong (a
/// suggestion) or the connection or key failed. A server that does not
/// list models (404/405, no suggestion) is not a failure when a model can
/// be checked instead (`probe_instead`): the stage is recorded as skipped,
/// and the chat probe decides.
async fn record_models(
    session: &mut Session<'_>,
    target: &Target,
    recorder: &mut Recorder<'_>,
    outcome: &mut Outcome,
    started: Instant,
    models_result: Result<Listing, NetError>,
    probe_instead: bool,
) -> bool {
    match models_result {
        Ok(listing) => {
            let count = listing.models.len();
            let latency = listing.reply_latency;
            outcome.models_latency = Some(latency);
            recorder.ok(
                Stage::Models,
                started,
                format!(
                    "HTTP {} in {} ms · {count} model{}",
                    listing.status,
                    millis(latency),
                    if count == 1 { "" } else { "s" }
                ),
            );
            outcome.models = Some(listing.models);
            true
        }
        Err(error) => {
            let kind = error.kind();
            let mut failure = error.failure();
            if let NetError::NativeApi { suggested, .. } = &error {
                outcome.suggestion = Some(Suggestion {
                    kind: "use_openai_endpoint".to_owned(),
                    base_url: suggested.clone(),
                    message: failure.hint.clone(),
                });
            }
            if kind == Kind::UpstreamNotFound
                && target.api == Api::Openai
                && !has_version_segment(&target.base_url)
            {
                if let Some(suggestion) = try_v1(session, &target.base_url).await {
                    failure.hint = suggestion.message.clone();
                    outcome.suggestion = Some(suggestion);
                }
            }
            let unlisted = outcome.suggestion.is_none()
                && matches!(kind, Kind::UpstreamNotFound | Kind::MethodNotAllowed);
            if unlisted && probe_instead {
                outcome.unlisted = true;
                let status = if kind == Kind::MethodNotAllowed {
                    405
                } else {
                    404
                };
                recorder.skipped(
                    Stage::Models,
                    &format!(
                        "HTTP {status}: this server does not list models; a one-token chat request checks the model instead"
                    ),
                );
                return true;
            }
            recorder.failed(Stage::Models, started, failure);
            unlisted
        }
    }
}

/// The chat probe with `model`, on a fresh deadline.
async fn chat_stage(
    session: &mut Session<'_>,
    target: &Target,
    model: &str,
    recorder: &mut Recorder<'_>,
    outcome: &mut Outcome,
) {
    let started = Instant::now();
    session.restart_deadline();
    match probe_chat(session, target, model, outcome.models.as_deref()).await {
        Ok(first_token) => {
            outcome.first_token = Some(first_token);
            recorder.ok(
                Stage::Chat,
                started,
                format!(
                    "`{model}` answered; first token after {} ms",
                    millis(first_token)
                ),
            );
        }
        Err(error) => recorder.failed(Stage::Chat, started, error.failure()),
    }
}

/// Most deployments one test checks (each is a billed one-token request).
const MAX_DEPLOYMENTS_CHECKED: usize = 8;

/// Azure: one chat probe per deployment, on fresh deadlines. The stage
/// fails with the first deployment that does not answer.
async fn deployments_stage(
    session: &mut Session<'_>,
    target: &Target,
    deployments: &[String],
    recorder: &mut Recorder<'_>,
    outcome: &mut Outcome,
) {
    let started = Instant::now();
    let mut answered = Vec::new();
    for deployment in deployments.iter().take(MAX_DEPLOYMENTS_CHECKED) {
        session.restart_deadline();
        match probe_chat(session, target, deployment, None).await {
            Ok(first_token) => {
                outcome.first_token.get_or_insert(first_token);
                answered.push(format!("`{deployment}` in {} ms", millis(first_token)));
            }
            Err(error) => {
                let mut failure = error.failure();
                failure.message = format!("Deployment `{deployment}`: {}", failure.message);
                recorder.failed(Stage::Chat, started, failure);
                return;
            }
        }
    }
    let more = deployments.len().saturating_sub(MAX_DEPLOYMENTS_CHECKED);
    let mut detail = format!("deployments answered: {}", answered.join(", "));
    if more > 0 {
        detail.push_str(&format!(" ({more} more not checked)"));
    }
    recorder.ok(Stage::Chat, started, detail);
}

struct Listing {
    status: u16,
    models: Vec<DiscoveredModel>,
    reply_latency: Duration,
}

async fn fetch_listing(
    session: &mut Session<'_>,
    url: &Url,
    base_url: &Url,
) -> Result<Listing, NetError> {
    let sent = Instant::now();
    let reply = session.get(url, Resource::Models).await?;
    let models = openai::models_from(&reply, session.secrets(), session.target())?;
    if let Some((api, suggested)) = openai::native_api(&reply.body, base_url) {
        return Err(NetError::NativeApi { api, suggested });
    }
    Ok(Listing {
        status: reply.status.as_u16(),
        models,
        reply_latency: reply.headers_at.saturating_duration_since(sent),
    })
}

/// `v1`, `v1beta`, `v2alpha`, `v4`, …
fn has_version_segment(url: &Url) -> bool {
    url.path_segments().is_some_and(|mut segments| {
        segments.any(|segment| {
            let mut characters = segment.chars();
            characters
                .next()
                .is_some_and(|first| first.eq_ignore_ascii_case(&'v'))
                && characters
                    .next()
                    .is_some_and(|second| second.is_ascii_digit())
        })
    })
}

/// One try of `{base}/v1/models`; a suggestion if it lists models.
async fn try_v1(session: &mut Session<'_>, base_url: &Url) -> Option<Suggestion> {
    let v1_base = endpoint(base_url, "v1");
    session.restart_deadline();
    let listing = match fetch_listing(session, &endpoint(&v1_base, "models"), &v1_base).await {
        Ok(listing) => listing,
        Err(error) => {
            tracing::debug!(kind = %error.kind(), "the /v1 fallback did not answer with a model list either");
            return None;
        }
    };
    let shown = display_url(&v1_base);
    let count = listing.models.len();
    Some(Suggestion {
        kind: "use_v1".to_owned(),
        message: format!(
            "{shown}/models answers with {count} model{}: use {shown} as the base URL.",
            if count == 1 { "" } else { "s" }
        ),
        base_url: shown,
    })
}

/// The chat probe; returns the time to the first token.
async fn probe_chat(
    session: &mut Session<'_>,
    target: &Target,
    model: &str,
    known: Option<&[DiscoveredModel]>,
) -> Result<Duration, NetError> {
    let (url, body) = if target.api == Api::Anthropic {
        (
            target.request_url("messages", Some(model)),
            openai::messages_probe_body(model),
        )
    } else {
        (
            target.request_url("chat/completions", Some(model)),
            openai::chat_probe_body(model),
        )
    };
    let sent = Instant::now();
    let reply = session
        .send(
            Method::POST,
            &url,
            Some(body),
            Resource::Chat,
            ReadMode::FirstEvent,
        )
        .await?;
    if let Err(error) =
        openai::check_status(&reply, Resource::Chat, session.secrets(), session.target())
    {
        return Err(openai::refine_chat_failure(error, model, known));
    }
    if reply.looks_like_html() {
        return Err(NetError::NotJson {
            resource: Resource::Chat,
            content_type: reply.content_type(),
            web_page: true,
        });
    }
    if let Some(message) = openai::embedded_error(&reply, session.secrets()) {
        let error = NetError::ErrorEnvelope {
            status: reply.status.as_u16(),
            provider_message: message,
        };
        return Err(openai::refine_chat_failure(error, model, known));
    }
    if reply.is_event_stream() {
        return match reply.first_event_at {
            Some(at) => Ok(at.saturating_duration_since(sent)),
            None => Err(NetError::BadResponse {
                detail: "the stream ended before the first token".to_owned(),
            }),
        };
    }
    // The server ignored `stream: true` and answered in one piece.
    match serde_json::from_slice::<serde_json::Value>(&reply.body) {
        Ok(value) if value.get("choices").is_some() => {
            Ok(reply.headers_at.saturating_duration_since(sent))
        }
        Ok(_) => Err(NetError::BadResponse {
            detail: "the chat answer has no `choices`".to_owned(),
        }),
        Err(_) => Err(NetError::NotJson {
            resource: Resource::Chat,
            content_type: reply.content_type(),
            web_page: false,
        }),
    }
}

fn summarize(ok: bool, stages: &[StageReport], outcome: &Outcome) -> String {
    if ok {
        let mut parts = vec!["Connected".to_owned()];
        if outcome.unlisted {
            parts.push("this server does not list models; the model you typed answered".to_owned());
        }
        if let Some(models) = &outcome.models {
            parts.push(format!(
                "{} model{}",
                models.len(),
                if models.len() == 1 { "" } else { "s" }
            ));
        }
        if let Some(latency) = outcome.models_latency {
            parts.push(format!("{} ms", millis(latency)));
        }
        if let Some(first_token) = outcome.first_token {
            parts.push(format!("first token {} ms", millis(first_token)));
        }
        return parts.join(" · ");
    }
    match stages
        .iter()
        .find(|stage| stage.status == StageStatus::Failed)
    {
        Some(stage) => match &stage.failure {
            Some(failure) => format!(
                "{} failed: {}",
                capitalize(&stage.stage.to_string()),
                failure.message
            ),
            None => format!("{} failed", capitalize(&stage.stage.to_string())),
        },
        None => "Failed".to_owned(),
    }
}

fn capitalize(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_segments() {
        for (url, expected) in [
            ("https://api.openai.com/v1", true),
            (
                "https://generativelanguage.googleapis.com/v1beta/openai",
                true,
            ),
            ("https://gateway.ai.cloudflare.com/v1/acct/gw/openai", true),
            ("http://127.0.0.1:11434", false),
            ("https://openrouter.ai/api", false),
            ("https://host/video", false),
        ] {
            let parsed = Url::parse(url).ok();
            assert_eq!(
                parsed.as_ref().map(has_version_segment),
                Some(expected),
                "{url}"
            );
        }
    }
}
