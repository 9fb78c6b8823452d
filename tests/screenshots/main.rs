//! Takes the README screenshots from the real window: seeds a config with
//! three providers (a remote one with a key in the keychain, a local Ollama
//! with no authentication, a disabled gateway), opens the app through
//! tauri-driver, runs a real connection test of the Ollama entry against a
//! stand-in server on 127.0.0.1:11434, and captures the X screen with
//! ImageMagick's `import`. Nothing leaves the machine.
//!
//! Run inside a private D-Bus session with an unlocked keyring and an Xvfb
//! screen the size of the window:
//!
//! ```sh
//! HOME=$(mktemp -d) dbus-run-session -- sh -c 'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null;
//!   exec xvfb-run -a -s "-screen 0 960x680x24" cargo run -p patchbay-tests --bin patchbay-screenshots -- docs'
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use patchbay_core::keychain::KeyringStore;
use patchbay_testkit::{routes, Canned, Draft, Server};
use patchbay_tests::app::AppSession;
use patchbay_tests::seed::seed_with;

fn main() {
    let out_dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "docs".to_owned()));
    let config_dir = tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
    seed(config_dir.path());
    // Stands in for Ollama, answering its OpenAI-compatible model list.
    let ollama = Server::background_http_on(
        ([127, 0, 0, 1], 11434).into(),
        routes(&[("GET /v1/models", Canned::json(200, OLLAMA_MODELS))]),
    )
    .unwrap_or_else(|error| panic!("127.0.0.1:11434 must be free for the screenshot ({error})"));

    let session = AppSession::start_in(config_dir);
    session.select_provider("ollama");
    session.click("#test-connection");
    session.wait_until("the test to finish", || {
        session
            .attribute("#test-summary", "class")
            .filter(|class| class.contains("ok"))
            .map(drop)
    });
    settle();
    capture(&out_dir.join("screenshot.png"));
    drop(ollama);

    session.select_provider("openrouter");
    session.click("#edit-provider");
    session.wait_visible("#provider-form");
    session.type_into(
        "#field-base-url",
        "https://openrouter.ai/api/v1/chat/completions",
    );
    settle();
    capture(&out_dir.join("screenshot-form.png"));
}

const OLLAMA_MODELS: &str = r#"{"object":"list","data":[
  {"id":"llama3.2:3b","object":"model","owned_by":"library"},
  {"id":"qwen2.5-coder:7b","object":"model","owned_by":"library"},
  {"id":"hf.co/bartowski/Qwen2.5-7B-Instruct-GGUF:Q6_K","object":"model","owned_by":"library"}]}"#;

fn seed(dir: &Path) {
    let drafts = [
        Draft::new("OpenRouter")
            .preset("openrouter")
            .base_url("https://openrouter.ai/api/v1")
            .key("sk-or-v1-screenshot-0000000000009f3a")
            .models(&[
                "qwen/qwen-2.5-72b-instruct",
                "google/gemini-2.5-flash",
                "anthropic/claude-sonnet-4",
            ])
            .header("HTTP-Referer", "https://patchbay.dev", false),
        Draft::new("Ollama")
            .preset("ollama")
            .local("http://127.0.0.1:11434/v1")
            .models(&[
                "llama3.2:3b",
                "hf.co/bartowski/Qwen2.5-7B-Instruct-GGUF:Q6_K",
            ]),
        Draft::new("Work gateway")
            .base_url("https://ai-gateway.example.com/v1")
            .key("sk-work-screenshot-00000000001234")
            .models(&["gpt-4o"])
            .enabled(false),
    ];
    seed_with(dir, Arc::new(KeyringStore::new()), &drafts);
}

/// Lets transitions and the URL preview's debounce finish.
fn settle() {
    std::thread::sleep(Duration::from_millis(1200));
}

fn capture(path: &Path) {
    let status = Command::new("/usr/bin/import")
        .args(["-window", "root"])
        .arg(path)
        .status()
        .unwrap_or_else(|error| panic!("could not run /usr/bin/import: {error}"));
    assert!(status.success(), "import failed with {status}");
    println!("wrote {}", path.display());
}
