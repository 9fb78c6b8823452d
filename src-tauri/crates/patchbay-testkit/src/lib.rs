//! What Patchbay's tests share, so each crate's tests talk to the same real
//! components instead of a copy of their own: a scriptable OpenAI-compatible
//! server over HTTP or HTTPS on 127.0.0.1 that records what it received
//! ([`server`]), TLS identities for it ([`certificates`]), a recording
//! forwarding proxy ([`proxy`]), bodies in real providers' shapes
//! ([`shapes`]: OpenAI, Anthropic, Azure OpenAI), typed provider drafts ([`drafts`]), a
//! temporary world of directories and a keychain service ([`world`]), and
//! one background runtime so synchronous tests can run all of them
//! ([`background`]). Never linked into a shipped binary (`publish = false`,
//! dev-dependency only).

pub mod background;
pub mod certificates;
pub mod drafts;
pub mod proxy;
pub mod server;
pub mod shapes;
pub mod stalling;
pub mod world;

pub use background::block_on;
pub use drafts::Draft;
pub use proxy::{Proxy, ProxyMode};
pub use shapes::models_body;
pub use stalling::Stalling;
pub use world::TempWorld;

pub use certificates::{ca_signed, self_signed, Identity, TestCa};
pub use server::{
    closed_port, handler, routes, Canned, EndlessServer, Handler, Seen, Server, SilentServer,
};

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A made-up host name: tests resolve it only through scripted lookups.
pub const TEST_HOST: &str = "llm.patchbay-test.dev";

/// The API key canary: must never appear in anything a test can observe.
pub const CANARY_KEY: &str = "sk-canary-5e1f7c0d9b3a4e2f8a6b";
