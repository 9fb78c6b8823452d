//! A small W3C WebDriver client over one keep-alive HTTP connection pool
//! (tauri-driver 2.1 drops clients that send `Connection: close`). Only the
//! endpoints Patchbay's end-to-end tests use.

use std::time::Duration;

use serde_json::{json, Value};

/// The key W3C uses for element references in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver failure: transport, or an error answer from the remote end.
#[derive(Debug)]
pub struct WebDriverError {
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

impl std::error::Error for WebDriverError {}

pub type Result<T> = std::result::Result<T, WebDriverError>;

/// One WebDriver session.
#[derive(Debug)]
pub struct WebDriver {
    http: reqwest::blocking::Client,
    base: String,
    session: Option<String>,
}

/// A reference to a DOM element in the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element(String);

impl Element {
    /// The element as a script argument for [`WebDriver::execute`].
    pub fn to_json(&self) -> Value {
        json!({ ELEMENT_KEY: self.0 })
    }
}

impl WebDriver {
    /// A client for the remote end at `http://127.0.0.1:<port>`.
    pub fn new(port: u16) -> Self {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_idle_timeout(Duration::from_secs(300))
            .no_proxy()
            .build()
            .unwrap_or_else(|error| panic!("could not build the WebDriver HTTP client: {error}"));
        Self {
            http,
            base: format!("http://127.0.0.1:{port}"),
            session: None,
        }
    }

    fn request(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value> {
        let url = format!("{}{}", self.base, path);
        let mut request = self.http.request(method, &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().map_err(|error| WebDriverError {
            error: "transport".into(),
            message: format!("{url}: {error}"),
        })?;
        let status = response.status();
        let value: Value = response.json().map_err(|error| WebDriverError {
            error: "bad response".into(),
            message: format!("{url}: {error}"),
        })?;
        let value = value.get("value").cloned().unwrap_or(Value::Null);
        if status.is_success() {
            Ok(value)
        } else {
            Err(WebDriverError {
                error: value["error"]
                    .as_str()
                    .unwrap_or("unknown error")
                    .to_owned(),
                message: value["message"].as_str().unwrap_or("").to_owned(),
            })
        }
    }

    fn session_path(&self, rest: &str) -> String {
        format!(
            "/session/{}{}",
            self.session.as_deref().unwrap_or("none"),
            rest
        )
    }

    /// Whether the remote end answers `/status` with `ready: true`.
    pub fn is_ready(&self) -> bool {
        self.request(reqwest::Method::GET, "/status", None)
            .map(|value| value["ready"].as_bool().unwrap_or(true))
            .unwrap_or(false)
    }

    /// Starts a session launching `application` through `tauri:options`.
    pub fn start_session(&mut self, application: &std::path::Path) -> Result<()> {
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": { "tauri:options": { "application": application } }
            }
        });
        let value = self.request(reqwest::Method::POST, "/session", Some(capabilities))?;
        let id = value["sessionId"].as_str().ok_or_else(|| WebDriverError {
            error: "bad response".into(),
            message: format!("no sessionId in {value}"),
        })?;
        self.session = Some(id.to_owned());
        Ok(())
    }

    /// Ends the session, which closes the app.
    pub fn end_session(&mut self) -> Result<()> {
        if self.session.is_none() {
            return Ok(());
        }
        let path = self.session_path("");
        self.session = None;
        self.request(reqwest::Method::DELETE, &path, None).map(drop)
    }

    pub fn find(&self, css: &str) -> Result<Element> {
        let value = self.request(
            reqwest::Method::POST,
            &self.session_path("/element"),
            Some(json!({"using": "css selector", "value": css})),
        )?;
        element_of(&value)
    }

    pub fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        let value = self.request(
            reqwest::Method::POST,
            &self.session_path("/elements"),
            Some(json!({"using": "css selector", "value": css})),
        )?;
        value
            .as_array()
            .map(|items| items.iter().map(element_of).collect())
            .unwrap_or_else(|| Ok(Vec::new()))
    }

    pub fn click(&self, element: &Element) -> Result<()> {
        self.request(
            reqwest::Method::POST,
            &self.session_path(&format!("/element/{}/click", element.0)),
            Some(json!({})),
        )
        .map(drop)
    }

    pub fn clear(&self, element: &Element) -> Result<()> {
        self.request(
            reqwest::Method::POST,
            &self.session_path(&format!("/element/{}/clear", element.0)),
            Some(json!({})),
        )
        .map(drop)
    }

    pub fn send_keys(&self, element: &Element, text: &str) -> Result<()> {
        self.request(
            reqwest::Method::POST,
            &self.session_path(&format!("/element/{}/value", element.0)),
            Some(json!({"text": text})),
        )
        .map(drop)
    }

    pub fn text(&self, element: &Element) -> Result<String> {
        let value = self.request(
            reqwest::Method::GET,
            &self.session_path(&format!("/element/{}/text", element.0)),
            None,
        )?;
        Ok(value.as_str().unwrap_or("").to_owned())
    }

    /// The element's attribute, `None` when absent.
    pub fn attribute(&self, element: &Element, name: &str) -> Result<Option<String>> {
        let value = self.request(
            reqwest::Method::GET,
            &self.session_path(&format!("/element/{}/attribute/{name}", element.0)),
            None,
        )?;
        Ok(value.as_str().map(str::to_owned))
    }

    /// The element's DOM property (e.g. `checked`, `value`, `open`).
    pub fn property(&self, element: &Element, name: &str) -> Result<Value> {
        self.request(
            reqwest::Method::GET,
            &self.session_path(&format!("/element/{}/property/{name}", element.0)),
            None,
        )
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.request(
            reqwest::Method::POST,
            &self.session_path("/execute/sync"),
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Presses and releases each key in turn on whatever has focus, as a
    /// person at the keyboard would (W3C Actions). Keys are characters or
    /// the WebDriver codes in [`keys`]; `chord` keys (e.g. [`keys::SHIFT`])
    /// are held down around the whole sequence.
    pub fn press(&self, chord: &[&str], sequence: &[&str]) -> Result<()> {
        let mut actions = Vec::new();
        for key in chord {
            actions.push(json!({"type": "keyDown", "value": key}));
        }
        for key in sequence {
            actions.push(json!({"type": "keyDown", "value": key}));
            actions.push(json!({"type": "keyUp", "value": key}));
        }
        for key in chord.iter().rev() {
            actions.push(json!({"type": "keyUp", "value": key}));
        }
        let body = json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]});
        self.request(
            reqwest::Method::POST,
            &self.session_path("/actions"),
            Some(body),
        )?;
        self.request(
            reqwest::Method::DELETE,
            &self.session_path("/actions"),
            None,
        )
        .map(drop)
    }

    /// The window's outer size and position: `(x, y, width, height)`.
    pub fn window_rect(&self) -> Result<(i64, i64, i64, i64)> {
        let value = self.request(
            reqwest::Method::GET,
            &self.session_path("/window/rect"),
            None,
        )?;
        let number = |name: &str| value[name].as_f64().map(|n| n.round() as i64).unwrap_or(0);
        Ok((number("x"), number("y"), number("width"), number("height")))
    }

    /// Resizes the window (WebDriver "Set Window Rect").
    pub fn set_window_size(&self, width: i64, height: i64) -> Result<()> {
        self.request(
            reqwest::Method::POST,
            &self.session_path("/window/rect"),
            Some(json!({"width": width, "height": height})),
        )
        .map(drop)
    }

    /// A PNG of the window, as the webview renders it.
    pub fn screenshot_base64(&self) -> Result<String> {
        let value = self.request(
            reqwest::Method::GET,
            &self.session_path("/screenshot"),
            None,
        )?;
        Ok(value.as_str().unwrap_or("").to_owned())
    }
}

fn element_of(value: &Value) -> Result<Element> {
    value[ELEMENT_KEY]
        .as_str()
        .map(|id| Element(id.to_owned()))
        .ok_or_else(|| WebDriverError {
            error: "bad response".into(),
            message: format!("no element reference in {value}"),
        })
}

/// WebDriver codes of the special keys the tests press.
pub mod keys {
    pub const TAB: &str = "\u{E004}";
    pub const ENTER: &str = "\u{E007}";
    pub const SHIFT: &str = "\u{E008}";
    pub const ALT: &str = "\u{E00A}";
    pub const ESCAPE: &str = "\u{E00C}";
    pub const SPACE: &str = "\u{E00D}";
    pub const ARROW_UP: &str = "\u{E013}";
    pub const ARROW_DOWN: &str = "\u{E015}";
}
