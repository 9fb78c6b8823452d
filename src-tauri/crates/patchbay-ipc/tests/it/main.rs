//! Integration tests of the IPC server: real Unix sockets in temp runtime
//! directories (real named pipes on Windows), real config files, the client
//! crate and raw frames. One binary; shared helpers in `support`.
//!
//! The protocol, pairing, resolve, robustness, concurrency, subscription and
//! single-server tests run on both platforms (Windows under Wine in CI, see
//! `scripts/test.sh`). Unix only: `endpoint` (file modes, `SO_PEERCRED`,
//! stale socket files), and the tests that need the `patchbay` CLI or the
//! example host built by cargo (`cli_serve`, `example_host`), the docs'
//! Python host (`docs_example`) or the Secret Service (`keyring`). Windows
//! only: `pipe` (the lock, the pipe name, not running).

#[cfg(unix)]
mod cli_serve;
mod concurrency;
#[cfg(unix)]
mod docs_example;
#[cfg(unix)]
mod endpoint;
mod entries;
#[cfg(unix)]
mod example_host;
#[cfg(unix)]
mod keyring;
mod pairing;
mod pairing_feed;
#[cfg(windows)]
mod pipe;
mod provider_test;
mod resolve;
mod robustness;
mod single_server;
mod supervisor;
mod support;
