//! Patchbay's network edge: the egress policy ([`policy`]), the one HTTP
//! client ([`client`]) and its per-target sessions (`session`: policy,
//! DNS, TCP, proxy, TLS, then requests and redirects), the OpenAI wire
//! format as pure functions (`openai`), the staged connection test
//! ([`probe`]) and model discovery ([`discovery`]). Every request to a
//! provider goes through a session, which connects only to addresses the
//! policy checked. Errors are [`error::NetError`], with a `kind()` callers
//! branch on.

pub mod client;
pub mod discovery;
pub mod error;
mod fetch;
pub mod forward;
mod openai;
pub mod policy;
pub mod probe;
mod reply;
mod session;
mod stage;
mod target;
mod tls;

pub use client::{ClientOptions, HttpClient};
pub use discovery::{merge_refresh, parse_models, DiscoveredModel, DiscoveryError};
pub use error::{Failure, NetError};
pub use fetch::fetch_models;
pub use forward::{forward, Pool, Upstream};
pub use patchbay_core::Kind;
pub use probe::{run_test, StageReport, StageStatus, TestOptions, TestReport};
pub use stage::Stage;
pub use target::Target;
pub use tls::parse_fingerprint;
