//! The formats Patchbay publishes to host apps, with as few dependencies as
//! possible so a host can depend on them cheaply:
//!
//! - [`config`]: the shared config file `providers.json` (schema version 1);
//! - [`capabilities`]: what a model can do, advertised or probed;
//! - [`entries`]: model-picker entries and how they are derived from the file;
//! - [`rpc`]: the JSON-RPC 2.0 frames of the local IPC channel;
//! - [`kind`]: the one error vocabulary every boundary reports in;
//! - [`paths`]: where the config file and the IPC socket live on each platform.

pub mod capabilities;
pub mod config;
pub mod entries;
pub mod kind;
pub mod paths;
pub mod rpc;

pub use kind::Kind;
