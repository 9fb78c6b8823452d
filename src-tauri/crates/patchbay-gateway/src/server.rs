//! The listener and the routes. One task per connection (HTTP/1.1, kept
//! alive); each request is checked in this order: a loopback `Host`, no
//! browser `Origin`, a host token, then the route.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{header, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use patchbay_core::Kind;
use patchbay_net::{NetError, Pool, Upstream};
use patchbay_protocol::entries::PickerEntry;
use patchbay_protocol::rpc::PairedHost;
use patchbay_service::hosts::{ActivityLog, ActivityRecord, Usage};
use patchbay_service::{HostRegistry, HostsError, Service};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::anthropic;
use crate::call;
use crate::reply::{self, Body, Failure};
use crate::request::{bearer, find_model, is_loopback_host, with_model, ModelProblem};

/// The documented default address: `http://127.0.0.1:4141/v1`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:4141";
/// Request bodies larger than this are refused with `413`.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Connections served at once; more wait in the listen queue.
pub const MAX_CONNECTIONS: usize = 512;
/// A successful answer of known length up to this size is passed on whole.
const WHOLE_BODY_LIMIT: u64 = 1024 * 1024;
/// An error body from a provider is passed on up to this size.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Where and how the gateway serves.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// A loopback address; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The longest wait for a provider's answer to start, and then between
    /// two chunks of it (long generations are not cut by a total limit).
    pub idle_timeout: Duration,
    /// Browser origins (`https://app.example`) whose pages may call the
    /// gateway (with CORS); every other request with an `Origin` is refused.
    pub allowed_origins: Vec<String>,
}

impl GatewayOptions {
    pub fn at(addr: SocketAddr) -> Self {
        Self {
            addr,
            idle_timeout: Duration::from_secs(300),
            allowed_origins: Vec::new(),
        }
    }
}

/// Why the gateway did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    #[error("The gateway listens on loopback only; {addr} is not a loopback address. Use 127.0.0.1:PORT or [::1]:PORT.")]
    NotLoopback { addr: SocketAddr },
    #[error("Could not listen on {addr}: {source}. Another program may use that port; pick another with --gateway-addr (port 0 picks a free one).")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
}

/// Patchbay's local OpenAI-compatible gateway.
#[derive(Debug)]
pub struct Gateway;

/// A running gateway; dropping it (or [`GatewayHandle::shutdown`]) stops it.
#[derive(Debug)]
pub struct GatewayHandle {
    addr: SocketAddr,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
    /// One permit per open connection: all back means none is in flight.
    slots: Arc<Semaphore>,
}

struct State {
    service: Arc<Service>,
    registry: HostRegistry,
    idle_timeout: Duration,
    /// Kept-alive connections to providers, shared by every request.
    pool: Arc<Pool>,
    /// One record per authenticated request (`activity.jsonl`).
    activity: ActivityLog,
    /// Lowercased.
    allowed_origins: Vec<String>,
}

/// What is known about a request as it goes: recorded as its activity.
#[derive(Debug, Clone)]
struct Trace {
    started: Instant,
    at: time::OffsetDateTime,
    app: Option<(String, String)>,
    endpoint: String,
    entry_id: Option<String>,
    first_byte: Option<Duration>,
    stream: bool,
    /// The pass-through relay records it when the stream ends.
    deferred: bool,
}

impl Trace {
    fn record(
        &self,
        activity: &ActivityLog,
        status: StatusCode,
        usage: Option<Usage>,
        error_code: Option<&str>,
    ) {
        let Some((app_id, app_name)) = self.app.clone() else {
            return;
        };
        let millis = |duration: Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        activity.record(ActivityRecord {
            at: self.at,
            app_id,
            app_name,
            entry_id: self.entry_id.clone(),
            endpoint: self.endpoint.clone(),
            status: status.as_u16(),
            duration_ms: millis(self.started.elapsed()),
            first_byte_ms: self.first_byte.map(millis),
            stream: self.stream,
            usage,
            error_code: error_code.map(str::to_owned),
        });
    }
}

impl Gateway {
    /// Binds `options.addr` and serves until the handle is shut down or
    /// dropped. Host tokens are checked against `registry` (`hosts.json`).
    pub async fn start(
        options: GatewayOptions,
        service: Arc<Service>,
        registry: HostRegistry,
    ) -> Result<GatewayHandle, GatewayError> {
        let addr = options.addr;
        if !addr.ip().is_loopback() {
            return Err(GatewayError::NotLoopback { addr });
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| GatewayError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| GatewayError::Bind { addr, source })?;
        let activity = ActivityLog::in_dir(&service.store().paths().dir);
        let state = Arc::new(State {
            service,
            registry,
            idle_timeout: options.idle_timeout,
            pool: Pool::new(),
            activity,
            allowed_origins: options
                .allowed_origins
                .iter()
                .map(|origin| origin.trim().trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        });
        let stop = CancellationToken::new();
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let task = tokio::spawn(accept_loop(
            listener,
            state,
            stop.clone(),
            Arc::clone(&slots),
        ));
        tracing::info!(%addr, "gateway listening");
        Ok(GatewayHandle {
            addr,
            stop,
            task: Some(task),
            slots,
        })
    }
}

impl GatewayHandle {
    /// The address it listens on (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL host apps use: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Stops accepting; connections still open finish their request.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            if let Err(error) = task.await {
                tracing::debug!(%error, "the gateway's accept loop ended abnormally");
            }
        }
    }

    /// Stops accepting and waits up to `grace` for the requests in flight
    /// (a streamed answer included) to finish; `false` when some were still
    /// running at the deadline (they end with the process).
    pub async fn shutdown_within(mut self, grace: Duration) -> bool {
        self.stop_accepting().await;
        self.drained_within(grace).await
    }

    /// Closes the listening socket (the port is free when this returns);
    /// connections already open go on.
    pub async fn stop_accepting(&mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            if let Err(error) = task.await {
                tracing::debug!(%error, "the gateway's accept loop ended abnormally");
            }
        }
    }

    /// Waits up to `grace` until no connection is open; `false` at the
    /// deadline.
    pub async fn drained_within(&self, grace: Duration) -> bool {
        let all = u32::try_from(MAX_CONNECTIONS).unwrap_or(u32::MAX);
        let drained = tokio::time::timeout(grace, self.slots.acquire_many(all)).await;
        matches!(drained, Ok(Ok(_)))
    }
}

impl Drop for GatewayHandle {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    stop: CancellationToken,
    slots: Arc<Semaphore>,
) {
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::debug!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        let state = Arc::clone(&state);
        let stop = stop.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let service = service_fn(move |request| {
                let state = Arc::clone(&state);
                async move { Ok::<_, std::convert::Infallible>(handle(&state, request).await) }
            });
            let connection = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                outcome = connection.as_mut() => {
                    if let Err(error) = outcome {
                        tracing::debug!(%peer, %error, "gateway connection ended with an error");
                    }
                }
                () = stop.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    if let Err(error) = connection.await {
                        tracing::debug!(%peer, %error, "gateway connection ended with an error");
                    }
                }
            }
        });
    }
}

async fn handle(state: &State, request: Request<Incoming>) -> Response<Body> {
    let mut trace = Trace {
        started: Instant::now(),
        at: time::OffsetDateTime::now_utc(),
        app: None,
        endpoint: request
            .uri()
            .path()
            .trim_start_matches("/v1/")
            .chars()
            .take(100)
            .collect(),
        entry_id: None,
        first_byte: None,
        stream: false,
        deferred: false,
    };
    let cors = allowed_origin(state, &request);
    if request.method() == Method::OPTIONS {
        return preflight(cors);
    }
    let outcome = route(state, request, &mut trace).await;
    let mut response = match outcome {
        Ok(response) => {
            if !trace.deferred {
                trace.record(&state.activity, response.status(), None, None);
            }
            response
        }
        Err(failure) => {
            trace.record(&state.activity, failure.status, None, Some(failure.code));
            failure.into_response()
        }
    };
    if let Some(origin) = cors {
        allow_origin(&mut response, &origin);
    }
    response
}

/// The request's `Origin` when the person allowed it (`settings.json`'s
/// `gateway.allowed_origins`).
fn allowed_origin(state: &State, request: &Request<Incoming>) -> Option<String> {
    let origin = request.headers().get(header::ORIGIN)?.to_str().ok()?;
    let normalized = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    state
        .allowed_origins
        .contains(&normalized)
        .then(|| origin.to_owned())
}

fn allow_origin(response: &mut Response<Body>, origin: &str) {
    if let Ok(value) = header::HeaderValue::from_str(origin) {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::VARY, header::HeaderValue::from_static("Origin"));
    }
}

/// A browser's preflight: answered for allowed origins only.
fn preflight(origin: Option<String>) -> Response<Body> {
    let Some(origin) = origin else {
        return Failure::new(
            StatusCode::FORBIDDEN,
            "browser_origin_refused",
            "Requests from web pages are refused unless you allow the page's origin in Patchbay (settings.json, gateway.allowed_origins).",
        )
        .into_response();
    };
    let mut response = Response::new(reply::full(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    allow_origin(&mut response, &origin);
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        header::HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        header::HeaderValue::from_static("authorization, content-type"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        header::HeaderValue::from_static("600"),
    );
    response
}

async fn route(
    state: &State,
    request: Request<Incoming>,
    trace: &mut Trace,
) -> Result<Response<Body>, Failure> {
    admit(state, &request)?;
    let host = authenticate(state, &request).await?;
    trace.app = Some((host.app_id.clone(), host.app_name.clone()));
    let path = request.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/v1/") else {
        return Err(unknown_route(&path));
    };
    match (request.method(), rest) {
        (&Method::GET, "models") => list_models(state, &host).await,
        (&Method::GET, id) if id.starts_with("models/") => {
            let raw = &id["models/".len()..];
            let id = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
            one_model(state, &host, &id).await
        }
        (&Method::POST, endpoint) => {
            let endpoint = match request.uri().query() {
                Some(query) => format!("{endpoint}?{query}"),
                None => endpoint.to_owned(),
            };
            forward(state, &host, request, &endpoint, trace).await
        }
        _ => Err(Failure::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "The gateway answers GET /v1/models, GET /v1/models/{id} and POST /v1/... with a JSON body that names a model.",
        )),
    }
}

fn unknown_route(path: &str) -> Failure {
    let shown: String = path.chars().take(100).collect();
    Failure::new(
        StatusCode::NOT_FOUND,
        "unknown_route",
        format!("No route {shown}. The gateway's base URL ends in /v1: GET /v1/models, POST /v1/chat/completions, …"),
    )
}

/// A loopback `Host`, and no browser `Origin`: a web page cannot use the
/// gateway, not even through a name it rebinds to 127.0.0.1.
fn admit(state: &State, request: &Request<Incoming>) -> Result<(), Failure> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if !is_loopback_host(host) {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            "host_not_allowed",
            "The gateway answers requests to 127.0.0.1, [::1] or localhost only.",
        ));
    }
    if request.headers().contains_key(header::ORIGIN) && allowed_origin(state, request).is_none() {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            "browser_origin_refused",
            "Requests from web pages are refused unless you allow the page's origin in Patchbay (settings.json, gateway.allowed_origins).",
        ));
    }
    Ok(())
}

async fn authenticate(state: &State, request: &Request<Incoming>) -> Result<PairedHost, Failure> {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer)
        // Anthropic's SDKs send their key as `x-api-key`: a host using one
        // against /v1/messages gives its token there.
        .or_else(|| {
            request
                .headers()
                .get("x-api-key")
                .and_then(|value| value.to_str().ok())
        })
        .map(str::to_owned)
        .ok_or_else(|| {
            Failure::new(
                StatusCode::UNAUTHORIZED,
                "missing_token",
                "Send Authorization: Bearer <token>, with the token Patchbay gave this app (pair with Patchbay, or create one under Connected apps).",
            )
        })?;
    // One `stat` of hosts.json per request; the file is read again only
    // when it changed, so this stays on the runtime.
    match state.registry.authenticate(&token) {
        Ok(host) => Ok(host),
        Err(HostsError::Unauthorized) => Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "The token is unknown or was revoked. Pair with Patchbay again.",
        )),
        Err(error) => Err(Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "hosts_unreadable",
            error.to_string(),
        )),
    }
}

fn internal(detail: &str) -> Failure {
    tracing::error!(detail, "gateway failure");
    Failure::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "Patchbay failed to handle the request; its log has the details.",
    )
}

async fn entries(state: &State) -> Result<Vec<PickerEntry>, Failure> {
    let service = Arc::clone(&state.service);
    match tokio::task::spawn_blocking(move || service.entries()).await {
        Ok(Ok(entries)) => Ok(entries),
        Ok(Err(error)) => Err(Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "config_unreadable",
            error.to_string(),
        )),
        Err(error) => Err(internal(&error.to_string())),
    }
}

/// An entry as an OpenAI model object, with Patchbay's metadata.
fn model_object(entry: &PickerEntry) -> serde_json::Value {
    let mut object = json!({
        "id": entry.id,
        "object": "model",
        "created": 0,
        "owned_by": entry.provider.label,
    });
    if let Some(window) = entry.context_window {
        object["context_window"] = json!(window);
    }
    if let Some(limit) = entry.max_output_tokens {
        object["max_output_tokens"] = json!(limit);
    }
    if !entry.input_modalities.is_empty() {
        object["input_modalities"] = json!(entry.input_modalities);
    }
    if let Some(tools) = entry.supports_tools {
        object["supports_tools"] = json!(tools);
    }
    object["display_name"] = json!(entry.label);
    object["capabilities"] = json!(entry.capabilities);
    object
}

/// The entries this app may use (all, unless the person limited it).
async fn list_models(state: &State, host: &PairedHost) -> Result<Response<Body>, Failure> {
    let data: Vec<serde_json::Value> = entries(state)
        .await?
        .iter()
        .filter(|entry| host.may_use(&entry.id))
        .map(model_object)
        .collect();
    Ok(reply::json(
        StatusCode::OK,
        &json!({"object": "list", "data": data}),
    ))
}

async fn one_model(state: &State, host: &PairedHost, id: &str) -> Result<Response<Body>, Failure> {
    if !host.may_use(id) {
        return Err(entry_not_allowed(host, id));
    }
    entries(state)
        .await?
        .iter()
        .find(|entry| entry.id == id)
        .map(|entry| reply::json(StatusCode::OK, &model_object(entry)))
        .ok_or_else(|| entry_not_found(id))
}

fn entry_not_found(id: &str) -> Failure {
    let shown: String = id.chars().take(200).collect();
    Failure::new(
        StatusCode::NOT_FOUND,
        "model_not_found",
        format!("No enabled entry `{shown}`. GET /v1/models lists the ids this token may use (`<provider_id>/<model_id>`)."),
    )
}

/// 403 for an entry the person did not allow this app.
fn entry_not_allowed(host: &PairedHost, id: &str) -> Failure {
    let shown: String = id.chars().take(200).collect();
    Failure::new(
        StatusCode::FORBIDDEN,
        "entry_not_allowed",
        format!(
            "{} may not use `{shown}`: the person limited it to other models (Patchbay › Connected apps). GET /v1/models lists the ones it may use.",
            host.app_name
        ),
    )
}

async fn forward(
    state: &State,
    host: &PairedHost,
    request: Request<Incoming>,
    endpoint: &str,
    trace: &mut Trace,
) -> Result<Response<Body>, Failure> {
    let json_body = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|kind| kind.to_ascii_lowercase().contains("json"));
    if !json_body {
        return Err(Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "The gateway forwards JSON bodies that name a model (Content-Type: application/json); other bodies, such as multipart audio uploads, are not supported yet.",
        ));
    }
    let body = Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|_| {
            Failure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!(
                    "Request bodies are limited to {} MiB.",
                    MAX_BODY_BYTES / (1024 * 1024)
                ),
            )
        })?
        .to_bytes();
    let (entry_id, span) = find_model(&body).map_err(|problem| {
        let message = match problem {
            ModelProblem::NotJson => "The body is not valid JSON.",
            ModelProblem::NotObject => "The body must be a JSON object.",
            ModelProblem::Missing => "The body names no \"model\". Use an id from GET /v1/models.",
            ModelProblem::Duplicate => "The body names \"model\" more than once.",
            ModelProblem::NotString => "\"model\" must be a string: an id from GET /v1/models.",
        };
        Failure::new(StatusCode::BAD_REQUEST, "invalid_body", message)
    })?;
    trace.entry_id = Some(entry_id.chars().take(300).collect());
    if !host.may_use(&entry_id) {
        return Err(entry_not_allowed(host, &entry_id));
    }
    let entry = state
        .service
        .entry_target(&entry_id)
        .await
        .map_err(|error| entry_failure(&error, &entry_id))?;
    let body = Bytes::from(with_model(&body, span, &entry.model_id));
    let call::Sent { upstream, shape } = call::send(
        &state.service,
        &state.pool,
        &entry,
        endpoint,
        body,
        state.idle_timeout,
    )
    .await
    .map_err(Failure::from)?;
    trace.first_byte = Some(trace.started.elapsed());
    trace.stream = upstream.is_event_stream();
    Ok(match shape {
        Some(shape) => translated(upstream, shape, &entry_id, trace, state.activity.clone()).await,
        None => pass_through(upstream, trace, state.activity.clone()).await,
    })
}

/// An Anthropic answer, as the chat completion the host asked for.
async fn translated(
    mut upstream: Upstream,
    shape: anthropic::Shape,
    entry_id: &str,
    trace: &mut Trace,
    activity: ActivityLog,
) -> Response<Body> {
    let status = StatusCode::from_u16(upstream.status()).unwrap_or(StatusCode::BAD_GATEWAY);
    let created = time::OffsetDateTime::now_utc().unix_timestamp();
    let (body, content_type) = if !status.is_success() {
        let body = upstream.error_body(ERROR_BODY_LIMIT).await;
        trace.deferred = true;
        trace.record(&activity, status, None, None);
        (reply::full(anthropic::error(&body)), "application/json")
    } else if shape.stream && upstream.is_event_stream() {
        let mut stream = anthropic::Stream::new(entry_id, created, shape.include_usage);
        trace.deferred = true;
        let body = relay(upstream, trace.clone(), activity, status, move |chunk| {
            Bytes::from(stream.feed(&chunk))
        });
        (body, "text/event-stream")
    } else {
        let mut whole = Vec::new();
        while let Some(chunk) = upstream.next_chunk().await {
            match chunk {
                Ok(chunk) => whole.extend_from_slice(&chunk),
                Err(error) => return upstream_failure(&error).into_response(),
            }
        }
        let Some(completion) = anthropic::answer(&whole, entry_id, created) else {
            return Failure::new(
                StatusCode::BAD_GATEWAY,
                "bad_upstream_answer",
                "The provider's answer is not an Anthropic message.",
            )
            .into_response();
        };
        trace.deferred = true;
        trace.record(&activity, status, usage_in_json(&completion), None);
        (reply::full(completion), "application/json")
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

fn entry_failure(error: &HostsError, entry_id: &str) -> Failure {
    let unavailable = |code| Failure::new(StatusCode::SERVICE_UNAVAILABLE, code, error.to_string());
    match error.kind() {
        Kind::EntryNotFound | Kind::ProviderNotFound => entry_not_found(entry_id),
        Kind::KeyMissing => unavailable("key_missing"),
        Kind::KeyWithheld => unavailable("key_withheld"),
        Kind::KeychainLocked => unavailable("keychain_locked"),
        Kind::KeychainUnavailable | Kind::KeychainTimeout | Kind::Keychain => {
            unavailable("keychain_unavailable")
        }
        Kind::ConfigIo | Kind::ConfigCorrupt | Kind::ConfigVersion | Kind::ConfigBusy => {
            unavailable("config_unreadable")
        }
        _ => internal(&error.to_string()),
    }
}

fn upstream_failure(error: &NetError) -> Failure {
    Failure::upstream(error)
}

/// Token usage in a JSON answer (`usage`, Chat Completions or Responses
/// names).
fn usage_in_json(body: &[u8]) -> Option<Usage> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    usage_of(value.get("usage")?)
}

/// Token usage in the events of a stream chunk (the last event that has
/// one; `stream_options.include_usage` makes providers send it).
fn usage_in_events(chunk: &[u8]) -> Option<Usage> {
    if !chunk.windows(7).any(|window| window == b"\"usage\"") {
        return None;
    }
    let text = std::str::from_utf8(chunk).ok()?;
    text.lines()
        .rev()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str::<serde_json::Value>(data.trim()).ok())
        .filter_map(|event| {
            event
                .get("usage")
                .or_else(|| {
                    event
                        .get("response")
                        .and_then(|response| response.get("usage"))
                })
                .and_then(usage_of)
        })
        .next()
}

fn usage_of(usage: &serde_json::Value) -> Option<Usage> {
    let number = |names: &[&str]| names.iter().find_map(|name| usage.get(*name)?.as_u64());
    let found = Usage {
        prompt_tokens: number(&["prompt_tokens", "input_tokens"]),
        completion_tokens: number(&["completion_tokens", "output_tokens"]),
        total_tokens: number(&["total_tokens"]),
    };
    (found.prompt_tokens.is_some()
        || found.completion_tokens.is_some()
        || found.total_tokens.is_some())
    .then_some(found)
}

/// The provider's answer: its status and content type; a 2xx body chunk by
/// chunk as it arrives (redacted by value), an error body whole (redacted
/// by value and by shape).
async fn pass_through(
    mut upstream: Upstream,
    trace: &mut Trace,
    activity: ActivityLog,
) -> Response<Body> {
    let status = StatusCode::from_u16(upstream.status()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = upstream
        .content_type()
        .and_then(|kind| header::HeaderValue::from_str(kind).ok());
    let small = upstream
        .content_length()
        .is_some_and(|length| length <= WHOLE_BODY_LIMIT);
    let body = if status.is_success() && small && !upstream.is_event_stream() {
        // A small answer of known length: passed on whole, without a relay
        // task in between.
        let mut whole = Vec::new();
        while let Some(chunk) = upstream.next_chunk().await {
            match chunk {
                Ok(chunk) => whole.extend_from_slice(&chunk),
                Err(error) => return upstream_failure(&error).into_response(),
            }
        }
        trace.deferred = true;
        trace.record(&activity, status, usage_in_json(&whole), None);
        reply::full(whole)
    } else if status.is_success() {
        trace.deferred = true;
        relay(upstream, trace.clone(), activity, status, |chunk| chunk)
    } else {
        let body = upstream.error_body(ERROR_BODY_LIMIT).await;
        trace.deferred = true;
        trace.record(&activity, status, None, None);
        reply::full(body)
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    response
}

/// Streams the provider's answer to the client as it arrives, each chunk
/// through `map` (empty results are not sent), and records the request
/// when it ends. The client hanging up closes the provider connection.
fn relay(
    mut upstream: Upstream,
    mut trace: Trace,
    activity: ActivityLog,
    status: StatusCode,
    mut map: impl FnMut(Bytes) -> Bytes + Send + 'static,
) -> Body {
    let (sender, receiver) = mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        let mut usage = None;
        let mut first = true;
        loop {
            tokio::select! {
                // The client hung up: dropping the upstream closes the
                // provider connection, even while it is silent.
                () = sender.closed() => break,
                chunk = upstream.next_chunk() => match chunk {
                    Some(Ok(chunk)) => {
                        if first {
                            // Time to the first byte of the answer's body.
                            trace.first_byte = Some(trace.started.elapsed());
                            first = false;
                        }
                        let chunk = map(chunk);
                        if let Some(found) = usage_in_events(&chunk) {
                            usage = Some(found);
                        }
                        if chunk.is_empty() {
                            continue;
                        }
                        if sender.send(chunk).await.is_err() {
                            break;
                        }
                    }
                    Some(Err(error)) => {
                        tracing::debug!(%error, "the provider's answer ended early");
                        break;
                    }
                    None => break,
                },
            }
        }
        trace.record(&activity, status, usage, None);
    });
    let frames = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| {
            (
                Ok::<_, std::convert::Infallible>(Frame::data(chunk)),
                receiver,
            )
        })
    });
    BodyExt::boxed_unsync(StreamBody::new(frames))
}
