//! Patchbay's local OpenAI-compatible gateway. Host apps send OpenAI
//! requests to `http://127.0.0.1:PORT/v1` with their own host token; the
//! gateway finds the entry from the body's `model`, swaps in the raw
//! upstream model id (rewriting that one value in place), adds the
//! provider's key and headers, and sends the request through the same
//! pinned HTTP client and egress policy a connection test uses. The answer
//! comes back as it arrives. The key never leaves Patchbay.
//!
//! It is one more adapter over `patchbay-service`: entries, targets and the
//! host registry are the service's. See `docs/gateway.md`.

mod anthropic;
mod call;
pub mod capabilities;
pub mod prompt;
mod reply;
mod request;
mod server;

pub use server::{
    Gateway, GatewayError, GatewayHandle, GatewayOptions, DEFAULT_ADDR, MAX_BODY_BYTES,
    MAX_CONNECTIONS,
};
