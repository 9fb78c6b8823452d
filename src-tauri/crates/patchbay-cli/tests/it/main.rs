//! The `patchbay` binary, run for real: each test gets a private config
//! directory and keychain service; keychain tests talk to a real Secret
//! Service (see `docs/cli.md` for the command that starts one).

mod capabilities;
mod catalog;
mod chat;
mod concurrency;
mod curation;
mod desktop;
mod hosting;
mod keychain;
mod network;
mod presets;
mod provider;
mod proxy;
mod support;
mod transfer;
mod usage;
