//! Patchbay's local IPC server: host apps connect over a Unix domain socket
//! (a named pipe on Windows), speak JSON-RPC 2.0 one object per line
//! (`patchbay_protocol::rpc`, `docs/ipc.md`), read and subscribe to the
//! model-picker entries, pair with the person's consent, and resolve an entry
//! into a ready request (base URL, model id, headers).
//!
//! - [`server`]: [`Server::start`] (inside the app) and [`serve_foreground`]
//!   (`patchbay serve`);
//! - [`admin`]: what `patchbay hosts …` calls;
//! - [`supervisor`]: serve host apps, or follow the Patchbay that already
//!   serves them (what the window runs, with a callback for its prompt).
//!
//! Providers, their tests and keys, pairing, the host registry
//! (`hosts.json`) and resolve are `patchbay-service`'s use cases: the
//! server calls them, as the window and the CLI do.

pub mod admin;
mod dispatch;
mod endpoint;
pub mod error;
mod feed;
mod gateway_slot;
pub mod instance;
pub mod server;
pub mod supervisor;
mod wire;

pub use dispatch::METHODS;
pub use endpoint::default_endpoint;
pub use error::{IpcError, Result};
pub use gateway_slot::GatewayStatus;
pub use patchbay_gateway::GatewayOptions;
pub use patchbay_service::{HostRegistry, PairingCallback, PairingEvent, Pairings};
pub use server::{serve_foreground, GatewaySwitch, Server, ServerHandle, ServerOptions};
pub use supervisor::{HostSupervisor, HostsObserver, HostsStatus, Silent};
