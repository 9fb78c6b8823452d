//! `patchbay provider …` and `patchbay presets`: each subcommand reads its
//! inputs, calls one use case of `patchbay-service` and prints the result. The JSON
//! shapes are the documented ones (`docs/cli.md`): `ProviderView` from
//! `patchbay-core`, wrapped as `{"provider", "notices"}` for add/edit/set-key
//! and `{"providers", "problems"}` for list.

use std::process::ExitCode;
use std::sync::Arc;

use patchbay_core::base_url;
use patchbay_core::config::{ConfigPaths, LoadProblem};
use patchbay_core::keychain::KeyringStore;
use patchbay_core::model::{Auth, Provider, UntestedChange};
use patchbay_core::store::{origin_of, withheld_origin, ProviderStore, ProviderView, Saved};
use patchbay_core::validation::Notice;
use patchbay_core::{presets, ProviderId};
use patchbay_service::Service;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::cli::{AddArgs, EditArgs, ProviderCommand, SetKeyArgs};
use crate::draft;
use crate::error::{flag_for, CliError};
use crate::network;
use crate::output::{self, Output};
use crate::stdin_secrets;

/// The use cases over the shared config (`PATCHBAY_CONFIG_DIR` or the
/// platform default) with the OS keychain behind it.
pub(crate) fn open_service() -> Result<Service, CliError> {
    let paths = ConfigPaths::from_env()?;
    let secrets = Arc::new(KeyringStore::new());
    Ok(Service::new(Arc::new(ProviderStore::new(paths, secrets))))
}

pub(crate) fn run(command: ProviderCommand, output: Output) -> Result<ExitCode, CliError> {
    let service = open_service()?;
    match command {
        ProviderCommand::Test(args) => network::provider_test(&service, &args, output),
        ProviderCommand::Add(args) => add(&service, &args, output).map(success),
        ProviderCommand::List => list(&service, output).map(success),
        ProviderCommand::Show(args) => {
            print_provider(&service.provider(&args.id)?, output).map(success)
        }
        ProviderCommand::Edit(args) => edit(&service, &args, output).map(success),
        ProviderCommand::Enable(args) => set_enabled(&service, &args.id, true, output).map(success),
        ProviderCommand::Disable(args) => {
            set_enabled(&service, &args.id, false, output).map(success)
        }
        ProviderCommand::SetKey(args) => set_key(&service, &args, output).map(success),
        ProviderCommand::RemoveKey(args) => {
            let provider = service.remove_provider_key(&args.id)?;
            if output.is_json() {
                output.json(&ProviderView::from(&provider))?;
            } else {
                output.text(&format!(
                    "Removed the key of {} from the keychain.",
                    provider.id
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ProviderCommand::TrustCert(args) => {
            let provider = service.trust_certificate(&args.id, Some(args.sha256.clone()))?;
            if output.is_json() {
                output.json(&ProviderView::from(&provider))?;
            } else {
                output.text(&format!(
                    "{} now trusts the certificate with SHA-256 {} (this provider only).",
                    provider.id, args.sha256
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ProviderCommand::UntrustCert(args) => {
            let provider = service.trust_certificate(&args.id, None)?;
            if output.is_json() {
                output.json(&ProviderView::from(&provider))?;
            } else {
                output.text(&format!(
                    "{} no longer trusts a pinned certificate.",
                    provider.id
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ProviderCommand::Move(args) => crate::curation::move_provider(&service, &args, output),
        ProviderCommand::Remove(args) => {
            service.remove_provider(&args.id)?;
            if output.is_json() {
                output.json(&Removed { removed: &args.id })?;
            } else {
                output.text(&format!(
                    "Removed provider {} and its keychain items.",
                    args.id
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn success(_: ()) -> ExitCode {
    ExitCode::SUCCESS
}

fn add(service: &Service, args: &AddArgs, output: Output) -> Result<(), CliError> {
    let secrets = stdin_secrets::read(args.shared.wanted_secrets(), output)?;
    let draft = draft::for_add(args, secrets)?;
    let saved = service.add_provider(draft)?;
    print_saved(&saved, "Added", output)
}

fn edit(service: &Service, args: &EditArgs, output: Output) -> Result<(), CliError> {
    // Look the provider up before reading stdin, so a typo in the id fails
    // without asking for a key first.
    let existing = service.provider(&args.id)?;
    let secrets = stdin_secrets::read(args.shared.wanted_secrets(), output)?;
    let draft = draft::for_edit(&existing, args, secrets)?;
    let saved = service.edit_provider(&args.id, draft)?;
    print_saved(&saved, "Updated", output)
}

fn set_key(service: &Service, args: &SetKeyArgs, output: Output) -> Result<(), CliError> {
    service.provider(&args.id)?;
    let secrets = stdin_secrets::read(
        stdin_secrets::Wanted {
            key: args.api_key_stdin,
            ..Default::default()
        },
        output,
    )?;
    let Some(key) = secrets.api_key else {
        return Err(CliError::SecretInput {
            field: "api_key",
            message: "stdin gave no API key".to_owned(),
        });
    };
    let saved = service.set_provider_key(&args.id, key)?;
    print_saved(&saved, "Stored a new key for", output)
}

fn set_enabled(
    service: &Service,
    id: &ProviderId,
    enabled: bool,
    output: Output,
) -> Result<(), CliError> {
    let provider = service.set_provider_enabled(id, enabled)?;
    if output.is_json() {
        output.json(&ProviderView::from(&provider))
    } else {
        let state = if enabled { "Enabled" } else { "Disabled" };
        output.text(&format!("{state} {}.", provider.id))
    }
}

fn list(service: &Service, output: Output) -> Result<(), CliError> {
    let listing = service.list_providers()?;
    for problem in &listing.problems {
        let which = match &problem.id {
            Some(id) => format!("entry {} ({id})", problem.index),
            None => format!("entry {}", problem.index),
        };
        output.notice(&output::clean(&format!(
            "warning: {which} of the config file was not loaded and is kept as it is: {}",
            problem.message
        )));
    }
    if let Some(notice) = &listing.notice {
        output.notice(&format!("note: {}", output::clean(notice)));
    }
    if output.is_json() {
        let providers: Vec<ProviderView> =
            listing.providers.iter().map(ProviderView::from).collect();
        return output.json(&ListJson {
            providers,
            problems: &listing.problems,
            notice: listing.notice.as_deref(),
        });
    }
    if listing.providers.is_empty() {
        return output.text(
            "No providers yet. Add one with\n  patchbay provider add --label NAME --preset PRESET --model MODEL --api-key-stdin\n(`patchbay presets` lists the presets).",
        );
    }
    let rows: Vec<Vec<String>> = listing
        .providers
        .iter()
        .map(|provider| {
            vec![
                provider.id.to_string(),
                provider.label.clone(),
                provider.host().to_owned(),
                provider.default_model().to_owned(),
                yes_no(provider.enabled).to_owned(),
                key_column(provider),
            ]
        })
        .collect();
    output.text(&output::table(
        &["ID", "LABEL", "HOST", "DEFAULT MODEL", "ENABLED", "KEY"],
        &rows,
    ))
}

fn key_column(provider: &Provider) -> String {
    if withheld_origin(provider).is_some() {
        return "withheld".to_owned();
    }
    match (provider.auth, &provider.key_hint) {
        (Auth::None, _) => "no auth".to_owned(),
        (Auth::ApiKey, Some(hint)) => hint.clone(),
        (Auth::ApiKey, None) => "missing".to_owned(),
    }
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn print_saved(saved: &Saved, verb: &str, output: Output) -> Result<(), CliError> {
    for notice in &saved.notices {
        output.notice(&format!(
            "note: {} ({}): {}",
            flag_for(&notice.field),
            notice.field,
            notice.message
        ));
    }
    if output.is_json() {
        return output.json(&SavedJson {
            provider: ProviderView::from(&saved.provider),
            notices: &saved.notices,
        });
    }
    output.text(&format!(
        "{verb} provider {} ({}).",
        saved.provider.id,
        output::clean(&saved.provider.label)
    ))
}

fn print_provider(provider: &Provider, output: Output) -> Result<(), CliError> {
    if output.is_json() {
        return output.json(&ProviderView::from(provider));
    }
    let (models, headers) = (model_lines(provider), header_lines(provider));
    let mut auth = match provider.auth {
        Auth::None => "no authentication".to_owned(),
        Auth::ApiKey => format!(
            "API key {}",
            provider.key_hint.as_deref().unwrap_or("(missing)")
        ),
    };
    if let Some(given_for) = withheld_origin(provider) {
        auth.push_str(&format!(
            " — withheld: given for {given_for}, not {}; confirm with `patchbay provider edit {} --move-key` or set a new key",
            origin_of(&provider.base_url),
            provider.id
        ));
    }
    let last_test = match (&provider.last_test, &provider.untested_since) {
        (Some(test), _) => format!(
            "{} at {}: {}",
            if test.ok { "ok" } else { "failed" },
            timestamp(test.at),
            test.summary
        ),
        (None, Some(since)) => format!(
            "not tested since the {} changed ({})",
            match since.change {
                UntestedChange::Key => "key",
                UntestedChange::Connection => "connection",
            },
            timestamp(since.at)
        ),
        (None, None) => "never".to_owned(),
    };
    let mut pairs = vec![
        ("id", provider.id.to_string()),
        ("label", provider.label.clone()),
        (
            "preset",
            provider.preset.clone().unwrap_or_else(|| "none".to_owned()),
        ),
        ("base url", base_url::display(&provider.base_url)),
        ("auth", auth),
        ("models", models.join(", ")),
        ("enabled", yes_no(provider.enabled).to_owned()),
        ("network", provider.network.as_str().to_owned()),
        (
            "headers",
            if headers.is_empty() {
                "none".to_owned()
            } else {
                headers.join("; ")
            },
        ),
        (
            "timeout",
            provider
                .timeout_secs
                .map_or_else(|| "default".to_owned(), |seconds| format!("{seconds} s")),
        ),
        ("last test", last_test),
        ("created", timestamp(provider.created_at)),
        ("updated", timestamp(provider.updated_at)),
    ];
    if let Some(fingerprint) = &provider.trusted_cert_sha256 {
        pairs.push(("trusted cert", format!("sha256 {fingerprint}")));
    }
    if let Some(proxy) = &provider.proxy {
        let shown = patchbay_core::validation::display_proxy(proxy);
        pairs.push((
            "proxy",
            match &provider.proxy_username {
                Some(name) => format!("{shown} (user {name}, password in the keychain)"),
                None => shown,
            },
        ));
    }
    if let Some(pem) = &provider.ca_certificate {
        let certificates = patchbay_core::certificates::stored_ca_summaries(pem);
        let shown: Vec<String> = certificates
            .iter()
            .map(|certificate| {
                format!(
                    "{} (valid until {})",
                    certificate.subject,
                    certificate.valid_until()
                )
            })
            .collect();
        pairs.push(("ca certificate", shown.join("; ")));
    }
    if let Some(catalog) = &provider.catalog {
        let fetched = catalog
            .fetched_at
            .map_or_else(|| "never".to_owned(), timestamp);
        let mut line = format!("{} models, fetched {fetched}", catalog.models.len());
        if catalog.stale {
            line.push_str(&format!(
                "; stale: last refresh failed at {}",
                timestamp(catalog.last_attempt_at)
            ));
        }
        pairs.push(("catalog", line));
    }
    output.text(&output::fields(&pairs))
}

/// Each model id, with its display name, the default, hidden and retired
/// ones marked.
pub(crate) fn model_lines(provider: &Provider) -> Vec<String> {
    let default = provider.default_model();
    provider
        .models
        .iter()
        .map(|model| {
            let mut text = model.id.clone();
            if let Some(name) = &model.display_name {
                text.push_str(&format!(" \"{}\"", output::clean(name)));
            }
            if model.id == default {
                text.push_str(" (default)");
            }
            if model.hidden {
                text.push_str(" (hidden from apps)");
            }
            if model.missing_upstream {
                text.push_str(" (no longer listed upstream)");
            }
            text
        })
        .collect()
}

/// Each custom header: a plain one with its value, a secret one with its hint only.
fn header_lines(provider: &Provider) -> Vec<String> {
    provider
        .headers
        .iter()
        .map(
            |header| match (header.secret, &header.value, &header.hint) {
                (true, _, Some(hint)) => format!("{}: (secret, {hint})", header.name),
                (true, _, None) => format!("{}: (secret)", header.name),
                (false, Some(value), _) => format!("{}: {value}", header.name),
                (false, None, _) => header.name.clone(),
            },
        )
        .collect()
}

/// RFC 3339, as in the JSON output, falling back to `time`'s own format.
fn timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

pub(crate) fn presets(output: Output) -> Result<(), CliError> {
    let all = presets::all();
    if output.is_json() {
        return output.json(&PresetsJson { presets: all });
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|preset| {
            vec![
                preset.id.to_owned(),
                preset.name.to_owned(),
                if preset.base_url.is_empty() {
                    "(you type it)".to_owned()
                } else {
                    preset.base_url.to_owned()
                },
                match preset.auth {
                    Auth::ApiKey => "api key".to_owned(),
                    Auth::None => "no auth".to_owned(),
                },
                preset.network.as_str().to_owned(),
            ]
        })
        .collect();
    output.text(&output::table(
        &["PRESET", "NAME", "BASE URL", "AUTH", "NETWORK"],
        &rows,
    ))
}

#[derive(Debug, Serialize)]
struct SavedJson<'a> {
    provider: ProviderView,
    notices: &'a [Notice],
}

#[derive(Debug, Serialize)]
struct ListJson<'a> {
    providers: Vec<ProviderView>,
    problems: &'a [LoadProblem],
    #[serde(skip_serializing_if = "Option::is_none")]
    notice: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct Removed<'a> {
    removed: &'a ProviderId,
}

#[derive(Debug, Serialize)]
struct PresetsJson {
    presets: &'static [presets::Preset],
}
