//! `settings.json`, beside `providers.json`: Patchbay's own settings that
//! scripts and people may read and edit (documented in `docs/config.md`).
//! Today: the local gateway's switch, address and allowed browser origins,
//! and whether closing the window keeps Patchbay serving in the background.
//! A missing file means the defaults; a file that does not parse is
//! reported (with its path) and the defaults are used, never overwritten
//! silently.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The gateway's documented default address.
pub const DEFAULT_GATEWAY_ADDR: &str = "127.0.0.1:4141";

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default = "version_one")]
    pub version: u32,
    #[serde(default)]
    pub gateway: GatewaySettings,
    #[serde(default)]
    pub background: BackgroundSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            version: 1,
            gateway: GatewaySettings::default(),
            background: BackgroundSettings::default(),
        }
    }
}

/// `background`: `{"keep_serving": true}` — whether closing the window
/// keeps Patchbay serving host apps (IPC and gateway) from the tray, or
/// quits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackgroundSettings {
    #[serde(default = "yes")]
    pub keep_serving: bool,
}

impl Default for BackgroundSettings {
    fn default() -> Self {
        Self { keep_serving: true }
    }
}

/// `gateway`: `{"enabled": true, "addr": "127.0.0.1:4141", "allowed_origins": []}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewaySettings {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "default_addr")]
    pub addr: String,
    /// Browser origins (`https://app.example`) whose pages may call the
    /// gateway; none by default.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            enabled: true,
            addr: default_addr(),
            allowed_origins: Vec::new(),
        }
    }
}

fn version_one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

fn default_addr() -> String {
    DEFAULT_GATEWAY_ADDR.to_owned()
}

/// `<config_dir>/settings.json`.
pub fn settings_file(config_dir: &Path) -> PathBuf {
    config_dir.join(patchbay_protocol::paths::SETTINGS_FILE_NAME)
}

/// The settings in `config_dir`: the defaults when there is no file;
/// `Err` (a sentence naming the file) when it cannot be read or parsed.
pub fn load(config_dir: &Path) -> Result<Settings, String> {
    let path = settings_file(config_dir);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| {
            format!(
                "{} is not valid ({error}); fix or remove it (the defaults apply meanwhile)",
                path.display()
            )
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
        Err(error) => Err(format!("could not read {}: {error}", path.display())),
    }
}

/// Writes the settings atomically.
pub fn save(config_dir: &Path, settings: &Settings) -> Result<(), String> {
    let path = settings_file(config_dir);
    let bytes = serde_json::to_vec_pretty(settings)
        .map_err(|error| format!("could not encode the settings: {error}"))?;
    crate::config::write_atomic(&path, &bytes)
        .map_err(|error| format!("could not write {}: {error}", path.display()))
}

/// A gateway address as typed: a loopback `IP:PORT` (`127.0.0.1:4141`,
/// `[::1]:4141`; port 0 picks a free one).
pub fn parse_gateway_addr(text: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not an address like 127.0.0.1:4141"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "`{text}` is not a loopback address: the gateway listens on 127.0.0.1 or [::1] only"
        ));
    }
    Ok(addr)
}

/// Where the gateway should listen, or `None` when it is switched off:
/// `env_addr` (`PATCHBAY_GATEWAY_ADDR`) over the settings' address.
pub fn gateway_addr(
    settings: &GatewaySettings,
    env_addr: Option<&str>,
) -> Result<Option<SocketAddr>, String> {
    if !settings.enabled {
        return Ok(None);
    }
    let text = env_addr
        .filter(|value| !value.trim().is_empty())
        .unwrap_or(&settings.addr);
    parse_gateway_addr(text).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_defaults_and_a_round_trip() {
        let dir = tempfile::tempdir().expect("dir");
        assert_eq!(load(dir.path()), Ok(Settings::default()));
        let mut settings = Settings::default();
        settings.gateway.enabled = false;
        settings.gateway.addr = "127.0.0.1:0".to_owned();
        save(dir.path(), &settings).expect("save");
        assert_eq!(load(dir.path()), Ok(settings));
        std::fs::write(settings_file(dir.path()), b"{oops").expect("write");
        assert!(load(dir.path())
            .expect_err("invalid")
            .contains("settings.json"));
    }

    #[test]
    fn addresses_are_loopback_and_the_variable_wins() {
        let settings = GatewaySettings::default();
        assert_eq!(
            gateway_addr(&settings, None),
            Ok(Some("127.0.0.1:4141".parse().expect("addr")))
        );
        assert_eq!(
            gateway_addr(&settings, Some("[::1]:0")),
            Ok(Some("[::1]:0".parse().expect("addr")))
        );
        assert!(gateway_addr(&settings, Some("0.0.0.0:4141")).is_err());
        assert!(gateway_addr(&settings, Some("localhost:4141")).is_err());
        let off = GatewaySettings {
            enabled: false,
            ..GatewaySettings::default()
        };
        assert_eq!(gateway_addr(&off, Some("127.0.0.1:1")), Ok(None));
    }
}
