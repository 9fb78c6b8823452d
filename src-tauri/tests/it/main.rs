//! The settings window's IPC surface, exercised through `tauri::test` on the
//! mock runtime with the real `tauri.conf.json` and capability files (so the
//! ACL is the one that ships), a temp `PATCHBAY_CONFIG_DIR` and an in-memory
//! secret store. No display needed.

mod support;

mod acl;
mod commands;
mod config_events;
mod connection;
mod hosts;
mod probe;
mod save_policy;
