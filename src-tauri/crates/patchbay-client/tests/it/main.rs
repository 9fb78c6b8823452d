//! Integration tests of the client crate on its own: the shared-config
//! fallback and the client's behaviour against a scripted peer on a real
//! Unix socket (a named pipe on Windows, where all of it runs too, under
//! Wine in CI). The client against the real server is tested in
//! `patchbay-ipc/tests/it`.

mod connection;
mod shared_config;
mod transport;
#[cfg(unix)]
mod trust;
