//! Integration tests of the IPC server: real Unix sockets in temp runtime
//! directories, real config files, the client crate and raw frames. One
//! binary; shared helpers in `support`.

mod cli_serve;
mod concurrency;
mod docs_example;
mod endpoint;
mod entries;
mod example_host;
mod keyring;
mod pairing;
mod provider_test;
mod robustness;
mod support;
