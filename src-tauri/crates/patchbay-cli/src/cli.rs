//! The command line as typed: clap definitions and the raw flags, before any
//! domain meaning is attached (that happens in [`crate::draft`]).
//!
//! Combinations the domain would reject anyway (`--no-auth` with
//! `--api-key-stdin`, two network allowances, `--enabled` with `--disabled`)
//! are declared as clap conflicts here, so they are usage errors (exit 2)
//! before anything is read or written.

use clap::{Args, Parser, Subcommand};
use patchbay_core::{NetworkAllowance, ProviderId};

/// Patchbay: your own OpenAI-compatible endpoints, keys in the OS keychain.
///
/// Keys are read only from standard input (`--api-key-stdin`), never from
/// the command line, where other users could see them in `ps`.
#[derive(Debug, Parser)]
#[command(
    name = "patchbay",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    /// Print machine-readable JSON on stdout (errors too, as {"error": …}).
    #[arg(long, global = true)]
    pub(crate) json: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Add, list, show, edit, enable, disable and remove providers.
    #[command(subcommand)]
    Provider(ProviderCommand),
    /// List the presets `--preset` accepts.
    Presets,
    /// Judge a URL under the egress policy: exit 0 when allowed, 1 when denied.
    CheckUrl(CheckUrlArgs),
    /// Test an endpoint that is not saved as a provider, stage by stage.
    Test(AdhocTestArgs),
    /// A provider's models (--refresh asks the server), or an endpoint's (--base-url).
    Models(ModelsArgs),
    /// Add, remove, hide, show, rename or move one model of a provider.
    #[command(subcommand)]
    Model(ModelCommand),
    /// The model-picker entries host apps see (enabled providers × models),
    /// in the person's order; --supports keeps those known to have a capability.
    Entries(EntriesArgs),
    /// Export providers and models (never a key, a secret header value, a
    /// token or a trusted certificate) as versioned JSON.
    Export(ExportArgs),
    /// Import a Patchbay export, Zed's settings.json or Continue's
    /// config.yaml: a preview of what is new, changes or collides, then one
    /// all-or-nothing write (none with --dry-run).
    Import(ImportArgs),
    /// Try a prompt on a provider's model: the answer streams to stdout,
    /// the time to first token, tokens/s and usage to stderr. Nothing is stored.
    Chat(ChatArgs),
    /// Serve host apps in the foreground (until Ctrl-C): the IPC socket and
    /// the local OpenAI-compatible gateway.
    Serve(ServeArgs),
    /// Decide pairing requests and manage the apps paired with Patchbay.
    #[command(subcommand)]
    Hosts(HostsCommand),
    /// Start Patchbay at login, in the background (off by default): `on`,
    /// `off` or `status`. The window's switch does the same.
    Autostart {
        #[arg(value_enum)]
        action: AutostartAction,
    },
    /// For machines without a desktop session: a systemd user unit that
    /// runs `patchbay serve` (install, uninstall, status).
    #[command(subcommand)]
    Service(ServiceCommand),
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum AutostartAction {
    /// Start Patchbay (the app, in the background) at login.
    On,
    /// Do not start Patchbay at login.
    Off,
    /// Say whether Patchbay starts at login.
    Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub(crate) enum ServiceCommand {
    /// Write ~/.config/systemd/user/patchbay.service and, where a user
    /// systemd runs, enable and start it.
    Install,
    /// Stop, disable and remove the unit.
    Uninstall,
    /// Whether the unit is installed, enabled and running.
    Status,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Where the gateway listens: a loopback IP:PORT (port 0 picks a free
    /// one). Overrides PATCHBAY_GATEWAY_ADDR and settings.json.
    #[arg(long, value_name = "ADDR", value_parser = parse_gateway_addr, conflicts_with = "no_gateway")]
    pub(crate) gateway_addr: Option<std::net::SocketAddr>,
    /// Serve over IPC only: no gateway listens.
    #[arg(long)]
    pub(crate) no_gateway: bool,
    /// Be Patchbay in the background, as the app runs it when its window
    /// closes: the app's single-instance endpoint, the tray icon, desktop
    /// notifications for pairing requests, and the window opened again when
    /// asked (a second launch, the tray, a notification). Prints nothing.
    #[arg(long, conflicts_with_all = ["gateway_addr", "no_gateway"])]
    pub(crate) resident: bool,
}

fn parse_gateway_addr(text: &str) -> Result<std::net::SocketAddr, String> {
    patchbay_core::settings::parse_gateway_addr(text)
}

#[derive(Debug, Subcommand)]
pub(crate) enum HostsCommand {
    /// Pairing requests waiting for a decision (needs a running server).
    Pending,
    /// Allow a waiting app: it receives its token.
    Approve {
        /// The request id from `patchbay hosts pending`.
        #[arg(value_name = "REQUEST_ID")]
        request_id: String,
    },
    /// Refuse a waiting app.
    Deny {
        #[arg(value_name = "REQUEST_ID")]
        request_id: String,
    },
    /// Paired apps: name, when paired, last used.
    List,
    /// Revoke a paired app's token.
    Revoke {
        /// The app id from `patchbay hosts list`.
        #[arg(value_name = "APP_ID")]
        app_id: String,
    },
    /// Which app resolved which entry, and when.
    Log,
    /// Allow (or stop) handing an app the providers' raw keys from
    /// entries.resolve (protocol 1). Off by default: apps use the gateway.
    #[command(group(clap::ArgGroup::new("decision").required(true).args(["allow", "deny"])))]
    RawKeys {
        /// The app id from `patchbay hosts list`.
        #[arg(value_name = "APP_ID")]
        app_id: String,
        /// The app may receive raw keys (it can then use them outside Patchbay).
        #[arg(long)]
        allow: bool,
        /// The app gets no raw key (the default).
        #[arg(long)]
        deny: bool,
    },
    /// Limit which entries an app may use through the gateway and
    /// entries.resolve (--only ENTRY…), or let it use all again (--all).
    Entries {
        /// The app id from `patchbay hosts list`.
        #[arg(value_name = "APP_ID")]
        app_id: String,
        /// Every enabled entry (the default).
        #[arg(long, conflicts_with = "only", required_unless_present = "only")]
        all: bool,
        /// Only these entries (`<provider_id>/<model_id>`; `patchbay entries` lists them).
        #[arg(long, value_name = "ENTRY", num_args = 1..)]
        only: Vec<String>,
    },
    /// Create a token for an app yourself (no pairing prompt) and print it
    /// once: the app sends it to the gateway as `Authorization: Bearer …`.
    /// Issuing again for the same app id replaces its old token.
    Issue {
        /// A stable id for the app (letters, digits, `.`, `_`, `-`), e.g. com.example.editor.
        #[arg(long, value_name = "APP_ID")]
        app_id: String,
        /// The name Patchbay shows for it.
        #[arg(long, value_name = "NAME")]
        app_name: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProviderCommand {
    /// Add a provider. The key, if any, is read from stdin (--api-key-stdin).
    Add(AddArgs),
    /// List providers (never touches the keychain).
    List,
    /// Show one provider.
    Show(IdArgs),
    /// Change a provider; only the options given change.
    Edit(EditArgs),
    /// Enable a provider (its key, models and headers are kept while disabled).
    Enable(IdArgs),
    /// Disable a provider without forgetting anything about it.
    Disable(IdArgs),
    /// Replace a provider's key with one read from stdin.
    SetKey(SetKeyArgs),
    /// Delete a provider's key from the keychain.
    RemoveKey(IdArgs),
    /// Delete a provider and its keychain items.
    Remove(IdArgs),
    /// Test a saved provider's connection, stage by stage.
    Test(ProviderTestArgs),
    /// Trust a self-signed certificate for this provider only, by its SHA-256 fingerprint.
    TrustCert(TrustCertArgs),
    /// Stop trusting the certificate pinned with trust-cert.
    UntrustCert(IdArgs),
    /// Move a provider in the order every list follows (the window, entries,
    /// the gateway's model list, the shared config file).
    Move(MoveProviderArgs),
}

/// Where to put a provider or a model: exactly one of the two.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct PlacementArgs {
    /// Put it just before this one.
    #[arg(long, value_name = "OTHER")]
    pub(crate) before: Option<String>,
    /// Put it at this position, counting from 1 (past the end: last).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) to: Option<u32>,
}

#[derive(Debug, Args)]
pub(crate) struct MoveProviderArgs {
    #[arg(value_name = "ID", value_parser = parse_provider_id)]
    pub(crate) id: ProviderId,
    #[command(flatten)]
    pub(crate) placement: PlacementArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ModelCommand {
    /// Add a model to a provider's list (offered to apps at once).
    Add {
        #[command(flatten)]
        model: ModelArgs,
        /// The name apps show for it (default: the discovered name or the id).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
    },
    /// Remove a model from a provider's list.
    Remove(ModelArgs),
    /// Keep a model in the list but stop offering it to apps.
    Hide(ModelArgs),
    /// Offer a hidden model to apps again.
    Show(ModelArgs),
    /// Set the name apps show for a model, or --clear it.
    Rename {
        #[command(flatten)]
        model: ModelArgs,
        #[arg(
            value_name = "NAME",
            required_unless_present = "clear",
            conflicts_with = "clear"
        )]
        name: Option<String>,
        /// Go back to the discovered name or the id.
        #[arg(long)]
        clear: bool,
    },
    /// Check what a model can do (streaming, tools, images, JSON) with a few
    /// small real requests, after saying how many and asking (or --yes).
    Check {
        #[command(flatten)]
        model: ModelArgs,
        /// Agree to the requests without being asked (scripts).
        #[arg(long)]
        yes: bool,
    },
    /// Move a model in the provider's list (the first one offered is the default).
    Move {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        placement: PlacementArgs,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Write to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: Option<std::path::PathBuf>,
    /// Only these providers (default: all).
    #[arg(long, value_name = "ID", num_args = 1.., value_parser = parse_provider_id)]
    pub(crate) providers: Vec<ProviderId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ConflictArg {
    Rename,
    Replace,
    Skip,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The file to import (`-`: stdin).
    #[arg(value_name = "FILE")]
    pub(crate) file: std::path::PathBuf,
    /// Show what would happen; write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// For a provider whose id, or base URL, is already here: add it under
    /// a new id (rename), overwrite the one here (replace) or leave it (skip).
    #[arg(long, value_enum, default_value = "skip")]
    pub(crate) on_conflict: ConflictArg,
    /// A choice for one provider of the file: ID=rename|replace|skip.
    #[arg(long = "choose", value_name = "ID=CHOICE", value_parser = parse_choice)]
    pub(crate) choices: Vec<(String, ConflictArg)>,
    /// Agree that this provider of the file may widen what Patchbay reaches
    /// (a local or private network allowance, a proxy, custom headers).
    #[arg(long = "allow", value_name = "ID")]
    pub(crate) allow: Vec<String>,
    /// Leave this provider of the file out.
    #[arg(long = "exclude", value_name = "ID")]
    pub(crate) exclude: Vec<String>,
}

fn parse_choice(raw: &str) -> Result<(String, ConflictArg), String> {
    let (id, choice) = raw
        .split_once('=')
        .ok_or_else(|| "expected ID=rename, ID=replace or ID=skip".to_owned())?;
    let choice = match choice {
        "rename" => ConflictArg::Rename,
        "replace" => ConflictArg::Replace,
        "skip" => ConflictArg::Skip,
        _ => return Err("expected ID=rename, ID=replace or ID=skip".to_owned()),
    };
    Ok((id.to_owned(), choice))
}

#[derive(Debug, Args)]
pub(crate) struct EntriesArgs {
    /// Only entries known (advertised or probed) to have this capability:
    /// streaming, tools, image_input, json_output. Repeat to require several.
    #[arg(long, value_name = "CAPABILITY", value_parser = parse_capability)]
    pub(crate) supports: Vec<patchbay_core::model::Capability>,
    /// Also which paired apps used each entry last (through the gateway or
    /// by resolving it): the window's "What apps see".
    #[arg(long)]
    pub(crate) apps: bool,
}

fn parse_capability(raw: &str) -> Result<patchbay_core::model::Capability, String> {
    patchbay_core::model::Capability::parse(raw)
        .ok_or_else(|| "expected streaming, tools, image_input or json_output".to_owned())
}

#[derive(Debug, Args)]
pub(crate) struct ChatArgs {
    /// `PROVIDER/MODEL`: a saved provider's id, then the raw model id (any
    /// model, also one not in its list, hidden, or of a disabled provider).
    #[arg(value_name = "PROVIDER/MODEL")]
    pub(crate) entry: String,
    /// The prompt; without it (or with `-`) it is read from stdin.
    #[arg(value_name = "PROMPT")]
    pub(crate) prompt: Option<String>,
    /// Ask for at most this many tokens in the answer.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_tokens: Option<u32>,
}

#[derive(Debug, Args)]
pub(crate) struct ModelArgs {
    /// The provider's id.
    #[arg(value_name = "PROVIDER", value_parser = parse_provider_id)]
    pub(crate) provider: ProviderId,
    /// The raw upstream model id, exactly as the provider spells it.
    #[arg(value_name = "MODEL")]
    pub(crate) model: String,
}

#[derive(Debug, Args)]
pub(crate) struct TrustCertArgs {
    #[arg(value_name = "ID", value_parser = parse_provider_id)]
    pub(crate) id: ProviderId,
    /// The fingerprint `patchbay provider test` showed (64 hex digits; colons
    /// and case are ignored). Compare it with the server's before trusting it.
    #[arg(value_name = "SHA256", value_parser = parse_fingerprint)]
    pub(crate) sha256: String,
}

#[derive(Debug, Args)]
pub(crate) struct ProviderTestArgs {
    #[arg(value_name = "ID", value_parser = parse_provider_id)]
    pub(crate) id: ProviderId,
    /// Also probe chat with this model (one short message, max_tokens 1).
    #[arg(long, value_name = "MODEL")]
    pub(crate) model: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CheckUrlArgs {
    /// The URL to judge, e.g. https://api.openai.com/v1.
    #[arg(value_name = "URL")]
    pub(crate) url: String,
    /// Judge without resolving the host name (its addresses are then not checked).
    #[arg(long)]
    pub(crate) no_dns: bool,
    #[command(flatten)]
    pub(crate) network: NetworkFlags,
}

/// How an unsaved endpoint authenticates: no key, a key on stdin, or a key
/// in an environment variable (never a key as an argument).
#[derive(Debug, Args)]
pub(crate) struct CredentialFlags {
    /// Send no Authorization header.
    #[arg(long, conflicts_with_all = ["api_key_stdin", "api_key_env"])]
    pub(crate) no_auth: bool,
    /// Read the API key from stdin (one trailing newline is removed).
    #[arg(long, conflicts_with = "api_key_env")]
    pub(crate) api_key_stdin: bool,
    /// Read the API key from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub(crate) api_key_env: Option<String>,
    /// A custom header, 'Name: value'; repeatable.
    #[arg(long = "header", value_name = "'NAME: VALUE'", value_parser = parse_header)]
    pub(crate) headers: Vec<HeaderArg>,
    /// Overall request timeout in seconds.
    #[arg(long, value_name = "SECS")]
    pub(crate) timeout: Option<u32>,
    /// Go through this http(s) proxy (http://proxy.corp:3128). Loopback
    /// hosts never use it; proxy variables of the environment are never used.
    #[arg(long, value_name = "URL")]
    pub(crate) proxy: Option<String>,
    #[command(flatten)]
    pub(crate) extras: EndpointFlags,
}

#[derive(Debug, Args)]
pub(crate) struct AdhocTestArgs {
    /// The base URL to test, e.g. http://127.0.0.1:11434/v1.
    #[arg(long, value_name = "URL")]
    pub(crate) base_url: String,
    /// Also probe chat with this model (one short message, max_tokens 1).
    #[arg(long, value_name = "MODEL")]
    pub(crate) model: Option<String>,
    #[command(flatten)]
    pub(crate) credentials: CredentialFlags,
    #[command(flatten)]
    pub(crate) network: NetworkFlags,
}

#[derive(Debug, Args)]
pub(crate) struct ModelsArgs {
    /// A saved provider's id.
    #[arg(value_name = "ID", value_parser = parse_provider_id, required_unless_present = "base_url", conflicts_with = "base_url")]
    pub(crate) id: Option<ProviderId>,
    /// Ask the provider's server for its current list, and mark chosen models it no longer lists.
    #[arg(long, requires = "id", conflicts_with = "base_url")]
    pub(crate) refresh: bool,
    /// Discover the models of an unsaved endpoint instead.
    #[arg(long, value_name = "URL")]
    pub(crate) base_url: Option<String>,
    #[command(flatten)]
    pub(crate) credentials: CredentialFlags,
    #[command(flatten)]
    pub(crate) network: NetworkFlags,
}

#[derive(Debug, Args)]
pub(crate) struct IdArgs {
    /// The provider id (see `patchbay provider list`).
    #[arg(value_name = "ID", value_parser = parse_provider_id)]
    pub(crate) id: ProviderId,
}

#[derive(Debug, Args)]
pub(crate) struct SetKeyArgs {
    #[arg(value_name = "ID", value_parser = parse_provider_id)]
    pub(crate) id: ProviderId,
    /// Read the key from stdin (required: keys are never accepted as arguments).
    #[arg(long, required = true)]
    pub(crate) api_key_stdin: bool,
}

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// A name for the provider, 1–64 characters, unique.
    #[arg(long, value_name = "LABEL")]
    pub(crate) label: String,
    /// Base URL, e.g. https://openrouter.ai/api/v1 (filled by --preset when omitted).
    #[arg(long, value_name = "URL")]
    pub(crate) base_url: Option<String>,
    /// A model id; repeat for more. The first is the default.
    #[arg(long = "model", value_name = "MODEL")]
    pub(crate) models: Vec<String>,
    /// Save the provider disabled.
    #[arg(long)]
    pub(crate) disabled: bool,
    #[command(flatten)]
    pub(crate) shared: SharedFlags,
}

#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    #[arg(value_name = "ID", value_parser = parse_provider_id)]
    pub(crate) id: ProviderId,
    /// New label.
    #[arg(long, value_name = "LABEL")]
    pub(crate) label: Option<String>,
    /// New base URL.
    #[arg(long, value_name = "URL")]
    pub(crate) base_url: Option<String>,
    /// Replace the model list; repeat for more. The first is the default.
    #[arg(long = "model", value_name = "MODEL")]
    pub(crate) models: Vec<String>,
    /// Enable the provider.
    #[arg(long, conflicts_with = "disabled")]
    pub(crate) enabled: bool,
    /// Disable the provider.
    #[arg(long)]
    pub(crate) disabled: bool,
    /// Remove a custom header by name (case-insensitive); repeatable.
    #[arg(long = "remove-header", value_name = "NAME")]
    pub(crate) remove_headers: Vec<String>,
    /// Remove the per-provider timeout (use the default again).
    #[arg(long, conflicts_with = "timeout")]
    pub(crate) no_timeout: bool,
    /// Remove the provider's proxy (connect directly again); its user name
    /// and password go too.
    #[arg(long, conflicts_with_all = ["proxy", "proxy_user"])]
    pub(crate) no_proxy: bool,
    /// Remove the proxy's user name and password (keep the proxy).
    #[arg(long, conflicts_with = "proxy_user")]
    pub(crate) no_proxy_auth: bool,
    /// Remove the provider's CA certificate.
    #[arg(long, conflicts_with = "ca_cert")]
    pub(crate) no_ca_cert: bool,
    /// Azure OpenAI: back to the v1 API (drop the classic API version).
    #[arg(long, conflicts_with = "api_version")]
    pub(crate) no_api_version: bool,
    /// Send the stored key and secret header values to the base URL's new
    /// origin (scheme, host, port). Without it, a base URL on another
    /// origin needs a new key; with no other change, it confirms a base URL
    /// changed by hand in providers.json.
    #[arg(long)]
    pub(crate) move_key: bool,
    #[command(flatten)]
    pub(crate) shared: SharedFlags,
}

/// Flags `add` and `edit` share.
#[derive(Debug, Args)]
pub(crate) struct SharedFlags {
    /// Fill base URL, auth and network allowance from a preset (see `patchbay
    /// presets`); explicit flags override it.
    #[arg(long, value_name = "NAME")]
    pub(crate) preset: Option<String>,
    /// The endpoint needs no key (Ollama, LM Studio, vLLM, llama.cpp);
    /// no Authorization header is ever sent.
    #[arg(long, conflicts_with = "api_key_stdin")]
    pub(crate) no_auth: bool,
    /// Read the API key from stdin (one trailing newline is removed).
    #[arg(long)]
    pub(crate) api_key_stdin: bool,
    #[command(flatten)]
    pub(crate) network: NetworkFlags,
    /// A custom header, 'Name: value'; repeatable. The value is stored in the
    /// config file: use --secret-header for anything secret.
    #[arg(long = "header", value_name = "'NAME: VALUE'", value_parser = parse_header)]
    pub(crate) headers: Vec<HeaderArg>,
    /// A secret custom header by NAME; its value is read from stdin (after
    /// the key, one line each, in order) and kept in the keychain.
    #[arg(long = "secret-header", value_name = "NAME")]
    pub(crate) secret_headers: Vec<String>,
    /// Overall request timeout in seconds (for slow local models).
    #[arg(long, value_name = "SECS")]
    pub(crate) timeout: Option<u32>,
    /// Send this provider's requests through an http(s) proxy
    /// (http://proxy.corp:3128). Loopback hosts never use it; proxy
    /// variables of the environment are never used.
    #[arg(long, value_name = "URL")]
    pub(crate) proxy: Option<String>,
    #[command(flatten)]
    pub(crate) extras: EndpointFlags,
}

/// What saved providers and unsaved endpoints share beyond the URL and
/// the key: proxy credentials, a CA certificate, the API.
#[derive(Debug, Args)]
pub(crate) struct EndpointFlags {
    /// The proxy's user name (HTTP Basic). Its password is read from stdin
    /// with --proxy-password-stdin and kept in the keychain.
    #[arg(long, value_name = "NAME")]
    pub(crate) proxy_user: Option<String>,
    /// Read the proxy's password from stdin: the last line, after the key
    /// and the --secret-header values.
    #[arg(long, requires = "proxy_user")]
    pub(crate) proxy_password_stdin: bool,
    /// Trust the CA certificate(s) in FILE (PEM or DER) besides the
    /// system's: for a company gateway behind an internal CA or a proxy
    /// that inspects TLS. The certificate itself is stored.
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_cert: Option<std::path::PathBuf>,
    /// The API the endpoint speaks: `openai` (default), `anthropic`
    /// (Messages API) or `azure-openai` (the key goes as `api-key`; model
    /// ids are deployment names).
    #[arg(long, value_name = "API", value_parser = parse_api)]
    pub(crate) api: Option<patchbay_core::model::Api>,
    /// Azure OpenAI's classic deployments API with this version
    /// (2024-10-21); without it, Azure's v1 API.
    #[arg(long, value_name = "VERSION")]
    pub(crate) api_version: Option<String>,
}

impl SharedFlags {
    /// The secrets these flags read from stdin, in stdin order.
    pub(crate) fn wanted_secrets(&self) -> crate::stdin_secrets::Wanted<'_> {
        crate::stdin_secrets::Wanted {
            key: self.api_key_stdin,
            headers: &self.secret_headers,
            proxy_password: self.extras.proxy_password_stdin,
        }
    }
}

/// The network allowance flags, shared by every command that judges or
/// reaches a URL.
#[derive(Debug, Args)]
pub(crate) struct NetworkFlags {
    /// Also allow loopback hosts (127.0.0.1, ::1, localhost), http or https.
    #[arg(long, conflicts_with_all = ["allow_private", "network"])]
    pub(crate) allow_local: bool,
    /// Also allow loopback and private LAN hosts (RFC 1918, fc00::/7), http or https.
    #[arg(long, conflicts_with = "network")]
    pub(crate) allow_private: bool,
    /// Set the network allowance by name (`remote`, the default, is https to public hosts only).
    #[arg(long, value_name = "ALLOWANCE", value_parser = parse_network)]
    pub(crate) network: Option<NetworkAllowance>,
}

/// A `--header 'Name: value'` argument, split at the first colon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderArg {
    pub(crate) name: String,
    pub(crate) value: String,
}

fn parse_header(raw: &str) -> Result<HeaderArg, String> {
    match raw.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => Ok(HeaderArg {
            name: name.trim().to_owned(),
            value: value.trim().to_owned(),
        }),
        _ => Err(
            "expected 'Name: value', e.g. --header 'HTTP-Referer: https://example.com'".to_owned(),
        ),
    }
}

/// A SHA-256 fingerprint in the stored form: 64 lowercase hex digits.
fn parse_fingerprint(raw: &str) -> Result<String, String> {
    match patchbay_net::parse_fingerprint(raw) {
        Some(bytes) => Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect()),
        None => Err(
            "expected a SHA-256 fingerprint: 64 hex digits, optionally separated by colons"
                .to_owned(),
        ),
    }
}

fn parse_provider_id(raw: &str) -> Result<ProviderId, String> {
    ProviderId::parse(raw).map_err(|error| error.to_string())
}

fn parse_api(raw: &str) -> Result<patchbay_core::model::Api, String> {
    match raw {
        "openai" => Ok(patchbay_core::model::Api::Openai),
        "azure-openai" | "azure_openai" | "azure" => Ok(patchbay_core::model::Api::AzureOpenai),
        "anthropic" => Ok(patchbay_core::model::Api::Anthropic),
        _ => Err("expected openai, anthropic or azure-openai".to_owned()),
    }
}

fn parse_network(raw: &str) -> Result<NetworkAllowance, String> {
    match raw {
        "remote" => Ok(NetworkAllowance::Remote),
        "local" => Ok(NetworkAllowance::Local),
        "private" => Ok(NetworkAllowance::Private),
        _ => Err("expected remote, local or private".to_owned()),
    }
}

impl NetworkFlags {
    /// The allowance the flags ask for, if any.
    pub(crate) fn network(&self) -> Option<NetworkAllowance> {
        if self.allow_local {
            Some(NetworkAllowance::Local)
        } else if self.allow_private {
            Some(NetworkAllowance::Private)
        } else {
            self.network
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn fingerprints_are_stored_lowercase_without_separators() {
        let shown = "AB:".repeat(31) + "CD";
        assert_eq!(parse_fingerprint(&shown), Ok("ab".repeat(31) + "cd"));
        assert!(parse_fingerprint("abcd").is_err());
        assert!(parse_fingerprint(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn header_splits_at_the_first_colon() {
        assert_eq!(
            parse_header("HTTP-Referer: https://example.com:8443/x"),
            Ok(HeaderArg {
                name: "HTTP-Referer".into(),
                value: "https://example.com:8443/x".into()
            })
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header(": value").is_err());
    }

    #[test]
    fn no_auth_with_api_key_stdin_is_a_usage_error() {
        let parsed = Cli::try_parse_from([
            "patchbay",
            "provider",
            "add",
            "--label",
            "L",
            "--base-url",
            "https://h",
            "--no-auth",
            "--api-key-stdin",
        ]);
        let error = parsed.err().map(|error| error.kind());
        assert_eq!(error, Some(clap::error::ErrorKind::ArgumentConflict));
    }

    #[test]
    fn two_allowances_are_a_usage_error() {
        let parsed = Cli::try_parse_from([
            "patchbay",
            "provider",
            "edit",
            "x",
            "--allow-local",
            "--allow-private",
        ]);
        let error = parsed.err().map(|error| error.kind());
        assert_eq!(error, Some(clap::error::ErrorKind::ArgumentConflict));
    }
}
