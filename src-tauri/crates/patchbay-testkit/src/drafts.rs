//! Provider drafts as the window, the IPC server and `ProviderDraft`'s
//! serde read them, built by type instead of by hand-written JSON:
//! `Draft::new("Gateway").base_url(…).key(…).models(&[…]).json()`.
//! [`Draft::parse`] turns one into any deserialisable draft type (core's
//! `ProviderDraft`), so this crate does not depend on core.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// A draft: by default a remote provider with no authentication and one
/// model, `model-a`, at `https://api.example.com/v1`.
#[derive(Debug, Clone)]
pub struct Draft(Value);

impl Draft {
    pub fn new(label: &str) -> Self {
        Self(json!({
            "label": label,
            "base_url": "https://api.example.com/v1",
            "auth": "none",
            "models": ["model-a"],
            "network": "remote",
        }))
    }

    fn set(mut self, field: &str, value: Value) -> Self {
        if let Some(object) = self.0.as_object_mut() {
            object.insert(field.to_owned(), value);
        }
        self
    }

    /// The provider's API (`openai`, `azure_openai`, `anthropic`).
    pub fn api(self, api: &str) -> Self {
        self.set("api", Value::from(api))
    }

    /// Azure OpenAI; `api_version` picks the classic deployments API.
    pub fn azure(self, api_version: Option<&str>) -> Self {
        self.set("api", Value::from("azure_openai"))
            .set("api_version", api_version.map_or(Value::Null, Value::from))
    }

    pub fn base_url(self, url: &str) -> Self {
        self.set("base_url", json!(url))
    }

    /// API key authentication with `key` set.
    pub fn key(self, key: &str) -> Self {
        self.set("auth", json!("api_key"))
            .set("key", json!({"action": "set", "value": key}))
    }

    /// API key authentication keeping the stored key (an edit, or a test of
    /// an edit, of a saved provider).
    pub fn keep_key(self) -> Self {
        self.set("auth", json!("api_key"))
            .set("key", json!({"action": "keep"}))
    }

    /// The person confirmed sending the stored secrets to this draft's
    /// base URL ("Send your key for <old> to <new>?").
    pub fn move_key(self) -> Self {
        self.set("move_key", json!(true))
    }

    /// No authentication (the default).
    pub fn no_auth(self) -> Self {
        self.set("auth", json!("none"))
    }

    pub fn models<S: AsRef<str>>(self, ids: &[S]) -> Self {
        let ids: Vec<&str> = ids.iter().map(AsRef::as_ref).collect();
        self.set("models", json!(ids))
    }

    /// `remote`, `local` or `private`.
    pub fn network(self, network: &str) -> Self {
        self.set("network", json!(network))
    }

    /// A loopback provider: `network: local` at `base_url`.
    pub fn local(self, base_url: &str) -> Self {
        self.base_url(base_url).network("local")
    }

    pub fn header(mut self, name: &str, value: &str, secret: bool) -> Self {
        let header = json!({"name": name, "value": value, "secret": secret});
        match self.0.get_mut("headers").and_then(Value::as_array_mut) {
            Some(headers) => headers.push(header),
            None => self = self.set("headers", json!([header])),
        }
        self
    }

    /// A secret header whose stored value the draft keeps (no value sent).
    pub fn kept_secret_header(mut self, name: &str) -> Self {
        let header = json!({"name": name, "secret": true});
        match self.0.get_mut("headers").and_then(Value::as_array_mut) {
            Some(headers) => headers.push(header),
            None => self = self.set("headers", json!([header])),
        }
        self
    }

    pub fn proxy(self, url: &str) -> Self {
        self.set("proxy", json!(url))
    }

    pub fn timeout_secs(self, seconds: u32) -> Self {
        self.set("timeout_secs", json!(seconds))
    }

    pub fn preset(self, id: &str) -> Self {
        self.set("preset", json!(id))
    }

    pub fn enabled(self, enabled: bool) -> Self {
        self.set("enabled", json!(enabled))
    }

    /// The draft as JSON (a command's or an IPC method's argument).
    pub fn json(&self) -> Value {
        self.0.clone()
    }

    /// The draft as a typed value, e.g. `patchbay_core::validation::ProviderDraft`.
    pub fn parse<T: DeserializeOwned>(&self) -> T {
        serde_json::from_value(self.0.clone())
            .unwrap_or_else(|error| panic!("the test draft does not parse: {error}: {}", self.0))
    }
}
