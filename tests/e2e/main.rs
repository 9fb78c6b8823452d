//! End-to-end tests in the real Patchbay window: tauri-driver +
//! WebKitWebDriver under Xvfb, a private D-Bus session with an unlocked
//! gnome-keyring, and a fresh config directory per test. Run with
//! `scripts/test.sh` (or see `tests/support/app.rs` for the pieces).

mod background;
mod bad_base_url;
mod catalog_curation;
mod config_changed_elsewhere;
mod corrupt_config;
mod form_polish;
mod form_test;
mod gateway;
mod key_origin;
mod keyboard;
mod layout;
mod live_validation;
mod model_picker;
mod notifications;
mod pairing;
mod provider_apis;
mod provider_lifecycle;
mod proxy_field;
mod stale_results;
mod test_connection;
mod transfer;
mod tray;
mod trust_and_proxy_auth;
mod try_prompt;
mod ui_state;
mod unsaved_changes;
mod window_size;
