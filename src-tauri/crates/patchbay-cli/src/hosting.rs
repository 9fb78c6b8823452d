//! What host apps see, from a terminal: `patchbay entries` (the model-picker
//! entries), `patchbay serve` (the IPC server in the foreground) and
//! `patchbay hosts …` (pairing decisions and paired apps). The server, the
//! pairing flow and `hosts.json` are `patchbay-ipc`'s; this module only
//! wires them up and prints.

use std::process::ExitCode;
use std::sync::Arc;

use patchbay_core::config::ConfigPaths;
use patchbay_core::entries::PickerEntry;
use patchbay_core::settings;
use patchbay_ipc::{
    admin, serve_foreground, GatewayOptions, HostRegistry, IpcError, PairingCallback, ServerOptions,
};
use patchbay_protocol::rpc::{PairedHost, PendingPairing, ResolveRecord};
use patchbay_service::hosts::{ActivityLog, ActivityRecord};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::cli::{HostsCommand, ServeArgs};
use crate::error::CliError;
use crate::output::{self, Output};
use crate::provider::open_service;

/// `patchbay entries`: one entry per enabled provider × model, read from
/// the config file (no server needed, no keychain touched).
pub(crate) fn entries(
    args: &crate::cli::EntriesArgs,
    output: Output,
) -> Result<ExitCode, CliError> {
    let service = open_service()?;
    let resolves = if args.apps {
        admin::resolve_log(&registry()?).map_err(CliError::Ipc)?
    } else {
        Vec::new()
    };
    // Who used what needs the activity log; plain entries do not read it.
    let mut seen = if args.apps {
        service.what_apps_see(&resolves)?
    } else {
        service
            .entries()?
            .into_iter()
            .map(|entry| patchbay_service::apps_view::SeenEntry {
                entry,
                used_by: Vec::new(),
            })
            .collect()
    };
    seen.retain(|seen| {
        args.supports
            .iter()
            .all(|capability| seen.entry.capabilities.has(*capability))
    });
    if output.is_json() {
        if args.apps {
            output.json(&SeenJson { entries: &seen })?;
        } else {
            let entries: Vec<&PickerEntry> = seen.iter().map(|seen| &seen.entry).collect();
            output.json(&EntriesJson { entries: &entries })?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if seen.is_empty() {
        output.text(if args.supports.is_empty() {
            "No entries: add a provider (or enable one) with `patchbay provider …`."
        } else {
            "No entry is known to have that: `patchbay model check PROVIDER MODEL` finds out."
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = seen
        .iter()
        .map(|seen| {
            let entry = &seen.entry;
            let mut row = vec![
                entry.id.clone(),
                output::clean(&entry.label),
                if entry.is_default {
                    "yes".to_owned()
                } else {
                    String::new()
                },
                match entry.auth {
                    patchbay_core::Auth::ApiKey => "api key".to_owned(),
                    patchbay_core::Auth::None => "no auth".to_owned(),
                },
                entry
                    .context_window
                    .map(|tokens| tokens.to_string())
                    .unwrap_or_default(),
                crate::capabilities::short_list(&entry.capabilities),
                match &entry.last_test {
                    Some(test) if test.ok => "ok".to_owned(),
                    Some(_) => "failed".to_owned(),
                    None => String::new(),
                },
            ];
            if args.apps {
                row.push(
                    seen.used_by
                        .iter()
                        .map(|used| {
                            format!(
                                "{} ({}, {})",
                                output::clean(&used.app_name),
                                used.via,
                                used.at
                                    .format(&time::format_description::well_known::Rfc3339)
                                    .unwrap_or_default()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                );
            }
            row
        })
        .collect();
    let mut headers = vec![
        "ENTRY",
        "LABEL",
        "DEFAULT",
        "AUTH",
        "CONTEXT",
        "CAN",
        "LAST TEST",
    ];
    if args.apps {
        headers.push("USED BY");
    }
    output.text(&output::table(&headers, &rows))?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Serialize)]
struct SeenJson<'a> {
    entries: &'a [patchbay_service::apps_view::SeenEntry],
}

/// The asking process as the OS reports it: `pid 1234 (/usr/bin/editor)`.
fn requester_text(requester: Option<&patchbay_protocol::rpc::Requester>) -> String {
    match requester {
        Some(requester) => match &requester.executable {
            Some(executable) => format!("pid {} ({executable})", requester.pid),
            None => format!("pid {}", requester.pid),
        },
        None => "not known".to_owned(),
    }
}

/// " It replaces the pairing of …" for a request whose app id is paired.
fn replaces_note(request: &PendingPairing) -> String {
    request
        .replaces
        .as_ref()
        .map(|host| {
            format!(
                " It replaces the pairing of \"{}\" made {}: allowing it revokes that app's access.",
                host.app_name,
                timestamp(host.paired_at)
            )
        })
        .unwrap_or_default()
}

/// `patchbay serve`: the IPC server in the foreground until Ctrl-C or
/// SIGTERM. Pairing requests are announced on stderr with the command that
/// answers them, because there is no window to ask in.
pub(crate) fn serve(args: &ServeArgs, output: Output) -> Result<ExitCode, CliError> {
    let service = Arc::new(open_service()?);
    report_unreadable_keys(&service, output)?;
    let mut options = ServerOptions::new(service).map_err(CliError::Ipc)?;
    options.gateway = gateway_options(args, &options.config.dir, output)?;
    let announce: PairingCallback = Arc::new(move |request: &PendingPairing| {
        output.notice(&output::clean(&format!(
            "Pairing request {id}: \"{name}\" ({app}) asks to use your AI endpoints.{replaces}\n  Asked by: {process}\n  Allow: patchbay hosts approve {id}\n  Deny:  patchbay hosts deny {id}",
            id = request.request_id,
            name = request.app_name,
            app = request.app_id,
            replaces = replaces_note(request),
            process = requester_text(request.requester.as_ref()),
        )));
    });
    options.on_pairing_request = Some(announce);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    runtime
        .block_on(serve_foreground(options))
        .map_err(CliError::Ipc)?;
    Ok(ExitCode::SUCCESS)
}

/// Says at start which enabled providers' keys cannot be read, and why (a
/// locked or absent keychain on a headless machine), so requests failing
/// later are no surprise. Serving goes on: providers without keys work.
fn report_unreadable_keys(
    service: &patchbay_service::Service,
    output: Output,
) -> Result<(), CliError> {
    let unreadable = service.unreadable_keys()?;
    if unreadable.is_empty() {
        return Ok(());
    }
    let mut text = format!(
        "warning: Patchbay cannot read {} key(s); requests to these providers fail until it can:",
        unreadable.len()
    );
    for (provider, error) in &unreadable {
        text.push_str(&format!(
            "\n  {} ({}): {error}",
            provider.id, provider.label
        ));
    }
    text.push_str(
        "\n  On a machine without a desktop session, unlock the keychain first: see \"Serving without a desktop\" in docs/cli.md.",
    );
    output.notice(&output::clean_lines(&text));
    Ok(())
}

/// How `patchbay serve` runs the gateway: `--no-gateway`, then
/// `--gateway-addr`, then `PATCHBAY_GATEWAY_ADDR`, then `settings.json`
/// (which also names the browser origins allowed to call it).
pub(crate) fn gateway_options(
    args: &ServeArgs,
    config_dir: &std::path::Path,
    output: Output,
) -> Result<Option<GatewayOptions>, CliError> {
    if args.no_gateway {
        return Ok(None);
    }
    let settings = settings::load(config_dir).unwrap_or_else(|problem| {
        output.notice(&format!("warning: {problem}"));
        settings::Settings::default()
    });
    let addr = match args.gateway_addr {
        Some(addr) => Some(addr),
        None => {
            let from_env = std::env::var(patchbay_protocol::paths::GATEWAY_ADDR_ENV).ok();
            settings::gateway_addr(&settings.gateway, from_env.as_deref()).map_err(|problem| {
                CliError::Domain(patchbay_core::Error::invalid(
                    "gateway_addr",
                    format!(
                        "{problem} (from {} or settings.json).",
                        patchbay_protocol::paths::GATEWAY_ADDR_ENV
                    ),
                ))
            })?
        }
    };
    Ok(addr.map(|addr| {
        let mut options = GatewayOptions::at(addr);
        options.allowed_origins = settings.gateway.allowed_origins.clone();
        options
    }))
}

/// `patchbay hosts …`. `pending`, `approve` and `deny` talk to the running
/// server (that is where a host waits for its answer); `list`, `revoke`
/// and `log` read or change `hosts.json` directly, with or without a server.
pub(crate) fn hosts(command: &HostsCommand, output: Output) -> Result<ExitCode, CliError> {
    match command {
        HostsCommand::Pending => {
            let pending = block_on(admin::pending(None))?;
            if output.is_json() {
                output.json(&PendingJson { pending: &pending })?;
            } else if pending.is_empty() {
                output.text("No pairing requests are waiting.")?;
            } else {
                let rows: Vec<Vec<String>> = pending
                    .iter()
                    .map(|request| {
                        vec![
                            request.request_id.clone(),
                            request.app_name.clone(),
                            request.app_id.clone(),
                            timestamp(request.requested_at),
                            timestamp(request.expires_at),
                            request.replaces.as_ref().map_or_else(
                                || "-".to_owned(),
                                |host| {
                                    format!(
                                        "{} (paired {})",
                                        host.app_name,
                                        timestamp(host.paired_at)
                                    )
                                },
                            ),
                        ]
                    })
                    .collect();
                output.text(&output::table(
                    &[
                        "REQUEST",
                        "APP",
                        "APP ID",
                        "REQUESTED",
                        "EXPIRES",
                        "REPLACES",
                    ],
                    &rows,
                ))?;
            }
        }
        HostsCommand::Approve { request_id } => {
            let secret = open_service()?.store().admin_secret()?;
            let host = block_on(admin::approve(None, request_id, &secret))?;
            if output.is_json() {
                output.json(&host)?;
            } else {
                output.text(&format!(
                    "Approved: {} ({}) may now use your AI endpoints.",
                    output::clean(&host.app_name),
                    output::clean(&host.app_id)
                ))?;
            }
        }
        HostsCommand::Deny { request_id } => {
            let secret = open_service()?.store().admin_secret()?;
            let request = block_on(admin::deny(None, request_id, &secret))?;
            if output.is_json() {
                output.json(&request)?;
            } else {
                output.text(&format!(
                    "Denied: {} ({}) gets no token.",
                    output::clean(&request.app_name),
                    output::clean(&request.app_id)
                ))?;
            }
        }
        HostsCommand::List => {
            let hosts = admin::list(&registry()?).map_err(CliError::Ipc)?;
            print_hosts(&hosts, output)?;
        }
        HostsCommand::Revoke { app_id } => {
            let revoked = admin::revoke(&registry()?, app_id).map_err(CliError::Ipc)?;
            if !revoked {
                return Err(CliError::UnknownHost(app_id.clone()));
            }
            if output.is_json() {
                output.json(&RevokedJson { revoked })?;
            } else {
                output.text(&format!(
                    "Revoked {}: its token is refused from now on.",
                    output::clean(app_id)
                ))?;
            }
        }
        HostsCommand::Log => {
            let records = admin::resolve_log(&registry()?).map_err(CliError::Ipc)?;
            let dir = ConfigPaths::from_env()?.dir;
            let requests = ActivityLog::read(&dir).unwrap_or_else(|error| {
                output.notice(&format!(
                    "warning: could not read the gateway's activity: {error}"
                ));
                Vec::new()
            });
            print_log(&records, &requests, output)?;
        }
        HostsCommand::Entries { app_id, all, only } => {
            let limit = (!*all).then(|| only.clone());
            let found = registry()?
                .set_entries(app_id, limit.clone())
                .map_err(|error| CliError::Ipc(error.into()))?;
            if !found {
                return Err(CliError::UnknownHost(app_id.clone()));
            }
            if output.is_json() {
                output.json(&serde_json::json!({ "app_id": app_id, "entries": limit }))?;
            } else {
                match &limit {
                    None => output.text(&format!(
                        "{} may use every enabled entry.",
                        output::clean(app_id)
                    ))?,
                    Some(entries) => output.text(&format!(
                        "{} may use only: {}. Other entries get `entry_not_allowed`; undo with `patchbay hosts entries {} --all`.",
                        output::clean(app_id),
                        output::clean(&entries.join(", ")),
                        output::clean(app_id)
                    ))?,
                }
            }
        }
        HostsCommand::RawKeys { app_id, allow, .. } => {
            let found = registry()?
                .set_raw_keys(app_id, *allow)
                .map_err(|error| CliError::Ipc(error.into()))?;
            if !found {
                return Err(CliError::UnknownHost(app_id.clone()));
            }
            if output.is_json() {
                output.json(&serde_json::json!({ "app_id": app_id, "raw_keys": allow }))?;
            } else if *allow {
                output.text(&format!(
                    "{} may now receive raw keys from entries.resolve: it can use them outside Patchbay, without the gateway's checks. Undo with `patchbay hosts raw-keys {} --deny`.",
                    output::clean(app_id),
                    output::clean(app_id)
                ))?;
            } else {
                output.text(&format!(
                    "{} gets no raw key any more; it can use the gateway.",
                    output::clean(app_id)
                ))?;
            }
        }
        HostsCommand::Issue { app_id, app_name } => {
            let (host, token) = registry()?
                .issue(app_id, app_name)
                .map_err(|error| CliError::Ipc(error.into()))?;
            let gateway = running_gateway();
            if output.is_json() {
                output.json(&IssuedJson {
                    app_id: &host.app_id,
                    app_name: &host.app_name,
                    token: &token,
                    gateway_base_url: gateway.as_deref(),
                })?;
            } else {
                let base_url = gateway
                    .unwrap_or_else(|| "the gateway's URL (patchbay serve prints it)".to_owned());
                output.text(&format!(
                    "Token for {} ({}), shown once — copy it now:\n\n  {token}\n\nThe app sends it as `Authorization: Bearer <token>` to {base_url}.\nRevoke it with `patchbay hosts revoke {}`.",
                    output::clean(&host.app_name),
                    output::clean(&host.app_id),
                    output::clean(&host.app_id),
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct IssuedJson<'a> {
    app_id: &'a str,
    app_name: &'a str,
    token: &'a str,
    gateway_base_url: Option<&'a str>,
}

/// The running gateway's base URL, from `gateway.json` in the runtime
/// directory.
fn running_gateway() -> Option<String> {
    let bytes = std::fs::read(patchbay_protocol::paths::gateway_file()?).ok()?;
    serde_json::from_slice::<patchbay_protocol::rpc::GatewayInfo>(&bytes)
        .ok()
        .map(|info| info.base_url)
}

/// `hosts.json` beside `providers.json`, where the server keeps it.
fn registry() -> Result<HostRegistry, CliError> {
    Ok(HostRegistry::in_dir(&ConfigPaths::from_env()?.dir))
}

fn block_on<T>(
    future: impl std::future::Future<Output = Result<T, IpcError>>,
) -> Result<T, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    runtime.block_on(future).map_err(CliError::Ipc)
}

fn print_hosts(hosts: &[PairedHost], output: Output) -> Result<(), CliError> {
    if output.is_json() {
        return output.json(&HostsJson { hosts });
    }
    if hosts.is_empty() {
        return output.text("No apps are paired.");
    }
    let rows: Vec<Vec<String>> = hosts
        .iter()
        .map(|host| {
            vec![
                host.app_id.clone(),
                host.app_name.clone(),
                timestamp(host.paired_at),
                host.last_used.map_or_else(|| "never".to_owned(), timestamp),
                host.entries.as_ref().map_or_else(
                    || "all".to_owned(),
                    |entries| format!("{} only", entries.len()),
                ),
            ]
        })
        .collect();
    output.text(&output::table(
        &["APP ID", "APP", "PAIRED", "LAST USED", "ENTRIES"],
        &rows,
    ))
}

fn print_log(
    records: &[ResolveRecord],
    requests: &[ActivityRecord],
    output: Output,
) -> Result<(), CliError> {
    if output.is_json() {
        return output.json(&LogJson { records, requests });
    }
    let resolves = if records.is_empty() {
        "No app has resolved an entry yet.".to_owned()
    } else {
        let rows: Vec<Vec<String>> = records
            .iter()
            .map(|record| {
                vec![
                    timestamp(record.at),
                    output::clean(&record.app_name),
                    output::clean(&record.app_id),
                    output::clean(&record.entry_id),
                ]
            })
            .collect();
        output::table(&["AT", "APP", "APP ID", "ENTRY"], &rows)
    };
    let gateway = if requests.is_empty() {
        "No app has sent a request through the gateway yet.".to_owned()
    } else {
        let rows: Vec<Vec<String>> = requests
            .iter()
            .map(|request| {
                vec![
                    timestamp(request.at),
                    output::clean(&request.app_name),
                    output::clean(request.entry_id.as_deref().unwrap_or("-")),
                    request.status.to_string(),
                    format!("{} ms", request.duration_ms),
                    request
                        .first_byte_ms
                        .map_or_else(|| "-".to_owned(), |ms| format!("{ms} ms")),
                    request
                        .usage
                        .and_then(|usage| usage.total_tokens)
                        .map_or_else(|| "-".to_owned(), |tokens| tokens.to_string()),
                ]
            })
            .collect();
        output::table(
            &[
                "AT",
                "APP",
                "ENTRY",
                "STATUS",
                "TIME",
                "FIRST BYTE",
                "TOKENS",
            ],
            &rows,
        )
    };
    output.text(&format!(
        "Resolves (entries.resolve):\n{resolves}\n\nGateway requests:\n{gateway}"
    ))
}

fn timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

#[derive(Debug, Serialize)]
struct EntriesJson<'a> {
    entries: &'a [&'a PickerEntry],
}

#[derive(Debug, Serialize)]
struct PendingJson<'a> {
    pending: &'a [PendingPairing],
}

#[derive(Debug, Serialize)]
struct HostsJson<'a> {
    hosts: &'a [PairedHost],
}

#[derive(Debug, Serialize)]
struct RevokedJson {
    revoked: bool,
}

#[derive(Debug, Serialize)]
struct LogJson<'a> {
    records: &'a [ResolveRecord],
    /// The gateway's activity (`activity.jsonl`), oldest first.
    requests: &'a [ActivityRecord],
}
