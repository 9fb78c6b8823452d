//! What a host app links to show a person's own AI endpoints in its model
//! picker: connect to the local Patchbay server, list and subscribe to the
//! picker entries, pair once, and resolve an entry into what a request needs.
//! When no server is running, [`read_shared_config`] reads the entries from
//! the shared config file instead.
//!
//! [`Client::resolve`] speaks protocol 2: it answers with Patchbay's local
//! OpenAI-compatible gateway as the base URL, the entry id as the model and
//! the app's own token as the bearer — hand those to any OpenAI client. The
//! provider's key never reaches the app (protocol 1, [`Client::resolve_with`],
//! gets it only where the person allowed raw keys for the app).
//!
//! ```no_run
//! # async fn run() -> Result<(), patchbay_client::ClientError> {
//! let client = patchbay_client::Client::connect().await?;
//! client.hello().await?;
//! for entry in &client.list_entries().await? {
//!     println!("{} — {}", entry.id, entry.label);
//! }
//! # Ok(()) }
//! ```
//!
//! The protocol itself is documented in `docs/ipc.md`; this crate depends on
//! `patchbay-protocol`, tokio (sockets only), serde_json and thiserror.

mod client;
mod entry_list;
mod error;
mod frame;
mod pairing_feed;
mod shared_config;
mod transport;

pub use client::{Client, Subscription, DEFAULT_TIMEOUT, PAIR_TIMEOUT, TEST_TIMEOUT};
pub use entry_list::EntryList;
pub use error::{ClientError, ErrorKind};
pub use frame::{read_frame, FrameRead};
pub use pairing_feed::{PairingNotice, PairingSubscription};
pub use shared_config::{read_shared_config, read_shared_config_from, SharedConfig};
pub use transport::{connect_stream, default_endpoint};

/// The wire types, re-exported so hosts need no second dependency.
pub use patchbay_protocol::entries::{split_entry_id, EntryLastTest, EntryProvider, PickerEntry};
pub use patchbay_protocol::rpc::{
    HelloResult, HostsChanged, PairResult, PairedHost, PendingPairing, ResolveRecord,
    ResolveResult, LATEST_PROTOCOL, PROTOCOL_VERSION, PROTOCOL_VERSIONS,
};
