//! Patchbay's network edge: the egress policy ([`policy`]), the one HTTP
//! client ([`client`]), the staged connection test ([`probe`]) and model
//! discovery ([`discovery`]). Every request to a provider goes through
//! [`client::HttpClient`], which connects only to addresses the policy
//! checked. Errors are [`error::NetError`], with a `kind()` callers branch on.

pub mod client;
pub mod discovery;
pub mod error;
pub mod policy;
pub mod probe;

pub use client::{ClientOptions, HttpClient, Stage};
pub use discovery::{fetch_models, merge_refresh, parse_models, DiscoveredModel, DiscoveryError};
pub use error::{Failure, FailureKind, NetError};
pub use probe::{run_test, StageReport, StageStatus, Target, TestOptions, TestReport};
