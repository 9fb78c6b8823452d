//! Patchbay's domain: what a provider is, how a form draft becomes a validated
//! provider, where keys live (the OS keychain) and where everything else lives
//! (the shared config file), and the model-picker entries host apps read.
//!
//! Nothing here knows about Tauri, IPC or HTTP: the app, the CLI and the IPC
//! server are thin shells around [`store::ProviderStore`].

pub mod azure;
pub mod base_url;
pub mod catalog;
pub mod certificates;
pub mod config;
pub mod curation;
pub mod egress;
pub mod entries;
pub mod error;
pub mod id;
pub mod keychain;
pub mod model;
pub mod portable;
pub mod presets;
pub mod safe_url;
pub mod secret;
pub mod settings;
pub mod store;
pub mod validation;

pub use error::{Error, Kind};
pub use id::ProviderId;
pub use model::{Auth, NetworkAllowance, Provider};
pub use secret::ApiKey;
