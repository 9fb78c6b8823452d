//! The commands that judge or reach an endpoint: `check-url`, `provider
//! test`, `test` and `models`. Tests and discovery are `patchbay-service`'s
//! use cases; this module turns flags into a subject (a saved provider, or
//! an unsaved endpoint as a draft), prints stages as they complete and maps
//! the outcome to an exit status.
//!
//! Keys for unsaved endpoints come from stdin or an environment variable,
//! never from an argument, and go through the same key validation as a
//! saved provider's.

use std::process::ExitCode;

use clap::CommandFactory;
use patchbay_core::catalog::Catalog;
use patchbay_core::model::{ModelEntry, ModelMetadata, NetworkAllowance};
use patchbay_core::validation::{validate_connection, HeaderDraft, KeyChange, ProviderDraft};
use patchbay_core::{ApiKey, Error as DomainError};
use patchbay_net::policy::{judge_url, judge_url_resolved, SystemLookup, Verdict};
use patchbay_net::{DiscoveredModel, Kind, StageReport, StageStatus, TestReport};
use patchbay_service::{Service, Subject, TestRequest};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{
    AdhocTestArgs, CheckUrlArgs, Cli, CredentialFlags, ModelsArgs, NetworkFlags, ProviderTestArgs,
};
use crate::error::{flag_for, CliError};
use crate::output::{self, Output};
use crate::stdin_secrets;

/// One single-threaded runtime per invocation: the CLI does one thing at a
/// time, and a current-thread runtime starts in microseconds.
fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}

pub(crate) fn check_url(args: &CheckUrlArgs, output: Output) -> Result<ExitCode, CliError> {
    let network = args.network.network().unwrap_or_default();
    let verdict = if args.no_dns {
        judge_url(&args.url, network)
    } else {
        runtime()?.block_on(judge_url_resolved(&args.url, network, &SystemLookup))
    };
    if output.is_json() {
        output.json(&verdict)?;
    } else {
        output.text(&describe_verdict(&verdict, network))?;
    }
    Ok(if verdict.allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn describe_verdict(verdict: &Verdict, network: NetworkAllowance) -> String {
    let addresses = if verdict.resolved {
        let list: Vec<String> = verdict.addresses.iter().map(ToString::to_string).collect();
        if list.is_empty() {
            "none".to_owned()
        } else {
            list.join(", ")
        }
    } else {
        "not resolved (checked when Patchbay connects)".to_owned()
    };
    output::fields(&[
        (
            "verdict",
            if verdict.allowed {
                "allowed".to_owned()
            } else {
                format!("denied ({})", verdict.reason.as_str())
            },
        ),
        ("message", verdict.message.clone()),
        (
            "normalized",
            verdict
                .normalized
                .clone()
                .unwrap_or_else(|| "(could not be parsed)".to_owned()),
        ),
        ("network", network.as_str().to_owned()),
        ("addresses", addresses),
    ])
}

/// `patchbay provider test ID [--model M]`: the staged test of a saved
/// provider; the outcome is recorded as its last test.
pub(crate) fn provider_test(
    service: &Service,
    args: &ProviderTestArgs,
    output: Output,
) -> Result<ExitCode, CliError> {
    let request = TestRequest {
        chat_model: args.model.clone(),
        ..TestRequest::new(Subject::Saved(args.id.clone()))
    };
    let report = run_and_print(service, request, output)?;
    let tls_failure = report
        .failed_stage()
        .and_then(|stage| stage.failure.as_ref())
        .filter(|failure| matches!(failure.kind, Kind::TlsUntrusted | Kind::Tls));
    if let (Some(failure), Some(certificate)) = (tls_failure, &report.certificate) {
        output.notice(&certificate_lines(certificate));
        let untrusted = failure.kind == Kind::TlsUntrusted;
        if untrusted && failure.reason.as_deref() == Some("unknown_issuer") {
            output.notice(&format!(
                "If “{}” is your organisation's CA, add its certificate to this provider:\n  patchbay provider edit {} --ca-cert FILE",
                certificate.issuer, args.id
            ));
        }
        if untrusted {
            output.notice(&format!(
                "Or, if this is your own server, compare the fingerprint with its certificate, then trust it for this provider only:\n  patchbay provider trust-cert {} {}",
                args.id, certificate.sha256
            ));
        }
    }
    finish_report(&report, output)
}

/// The presented certificate, for a person deciding what to trust.
fn certificate_lines(certificate: &patchbay_core::certificates::CertificateSummary) -> String {
    let mut lines = vec![
        "The server's certificate:".to_owned(),
        format!("  subject   {}", certificate.subject),
        format!("  issuer    {}", certificate.issuer),
        format!(
            "  valid     {} to {}",
            certificate.not_before, certificate.not_after
        ),
    ];
    if !certificate.names.is_empty() {
        lines.push(format!("  names     {}", certificate.names.join(", ")));
    }
    lines.push(format!("  sha256    {}", certificate.sha256));
    lines.join("\n")
}

/// `patchbay test --base-url U …`: the staged test of an unsaved endpoint.
pub(crate) fn adhoc_test(args: &AdhocTestArgs, output: Output) -> Result<ExitCode, CliError> {
    let subject = adhoc_subject(&args.base_url, &args.credentials, &args.network, output)?;
    let request = TestRequest {
        chat_model: args.model.clone(),
        ..TestRequest::new(subject)
    };
    let report = run_and_print(&crate::provider::open_service()?, request, output)?;
    finish_report(&report, output)
}

fn run_and_print(
    service: &Service,
    request: TestRequest,
    output: Output,
) -> Result<TestReport, CliError> {
    let on_stage = move |stage: &StageReport| output.progress(&stage_line(stage));
    Ok(runtime()?.block_on(service.test(request, &on_stage))?)
}

/// One line per stage, as it completes (plus a hint line under a failure).
fn stage_line(stage: &StageReport) -> String {
    let status = match stage.status {
        StageStatus::Ok => "ok",
        StageStatus::Failed => "FAILED",
        StageStatus::Skipped => "skipped",
    };
    let duration = match stage.status {
        StageStatus::Skipped => String::new(),
        _ => format!("{} ms", stage.duration_ms),
    };
    let mut line = format!(
        "{status:<8} {:<12} {duration:>8}  {}",
        stage.stage.to_string(),
        output::clean(&stage.detail)
    );
    if let Some(failure) = &stage.failure {
        line.push_str(&format!(
            "\n{:<8} {:<12} {:>8}  hint ({}): {}",
            "",
            "",
            "",
            failure.kind,
            output::clean(&failure.hint)
        ));
    }
    line
}

/// Prints the report's conclusion; exit 0 when every stage passed.
fn finish_report(report: &TestReport, output: Output) -> Result<ExitCode, CliError> {
    if output.is_json() {
        output.json(report)?;
    } else {
        let mut text = format!("\n{}\n", output::clean(&report.summary));
        if let Some(suggestion) = &report.suggestion {
            text.push_str(&format!(
                "suggestion: {} (--base-url {})\n",
                output::clean(&suggestion.message),
                suggestion.base_url
            ));
        }
        if let Some(fingerprint) = &report.certificate_sha256 {
            text.push_str(&format!("certificate sha256: {fingerprint}\n"));
        }
        if !report.redirects.is_empty() {
            text.push_str(&format!("redirects: {}\n", report.redirects.join(" -> ")));
        }
        output.text(&text)?;
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `patchbay models …`.
pub(crate) fn models(
    service: Option<&Service>,
    args: &ModelsArgs,
    output: Output,
) -> Result<ExitCode, CliError> {
    match (&args.id, &args.base_url, service) {
        (Some(id), _, Some(service)) => {
            if args.credentials.is_given() || args.network.network().is_some() {
                Cli::command()
                    .error(
                        clap::error::ErrorKind::ArgumentConflict,
                        "a saved provider uses its own key, headers and network allowance: use `patchbay provider edit` to change them, or --base-url for an unsaved endpoint",
                    )
                    .exit();
            }
            let provider = service.provider(id)?;
            if !args.refresh {
                let chosen: Vec<ModelJson<'_>> =
                    provider.models.iter().map(ModelJson::from_entry).collect();
                let Some(catalog) = &provider.catalog else {
                    output.notice(&format!(
                        "note: the server's list was never fetched; these are the chosen models (run `patchbay models {id} --refresh`)"
                    ));
                    return print_models(&chosen, None, Freshness::default(), output);
                };
                let listed: Vec<ModelJson<'_>> =
                    catalog.models.iter().map(ModelJson::from_entry).collect();
                return print_models(&listed, Some(&chosen), Freshness::of(catalog), output);
            }
            // A failure is recorded (the last good list stays, marked stale,
            // with the reason) and then reported; the chosen models are left
            // exactly as they were.
            let refreshed = runtime()?.block_on(service.refresh_models(id.clone()))?;
            if let Some(failure) = refreshed.failure {
                return Err(CliError::Net(failure));
            }
            let (discovered, updated) = (refreshed.models, refreshed.provider);
            for missing in updated.models.iter().filter(|model| model.missing_upstream) {
                output.notice(&format!(
                    "note: {} is no longer listed by the server (kept, marked missing_upstream)",
                    output::clean(&missing.id)
                ));
            }
            let listed: Vec<ModelJson<'_>> =
                discovered.iter().map(ModelJson::from_discovered).collect();
            let chosen: Vec<ModelJson<'_>> =
                updated.models.iter().map(ModelJson::from_entry).collect();
            let freshness = updated
                .catalog
                .as_ref()
                .map(Freshness::of)
                .unwrap_or_default();
            print_models(&listed, Some(&chosen), freshness, output)
        }
        (None, Some(base_url), _) => {
            let subject = adhoc_subject(base_url, &args.credentials, &args.network, output)?;
            let discovered =
                runtime()?.block_on(crate::provider::open_service()?.discover_models(subject))?;
            let listed: Vec<ModelJson<'_>> =
                discovered.iter().map(ModelJson::from_discovered).collect();
            let freshness = Freshness {
                fetched_at: Some(OffsetDateTime::now_utc()),
                ..Freshness::default()
            };
            print_models(&listed, None, freshness, output)
        }
        _ => Err(CliError::Domain(DomainError::invalid(
            "base_url",
            "give a provider id or --base-url",
        ))),
    }
}

/// When a model list was fetched and whether its last refresh failed
/// (`--json`: `fetched_at`, `stale`, `last_error`, `last_attempt_at`).
#[derive(Debug, Default, Serialize)]
struct Freshness {
    #[serde(with = "time::serde::rfc3339::option")]
    fetched_at: Option<OffsetDateTime>,
    stale: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    last_attempt_at: Option<OffsetDateTime>,
}

impl Freshness {
    fn of(catalog: &Catalog) -> Self {
        Self {
            fetched_at: catalog.fetched_at,
            stale: catalog.stale,
            last_error: catalog.last_error.clone(),
            last_attempt_at: Some(catalog.last_attempt_at),
        }
    }

    /// The lines under the table: "fetched …" and, when stale, why.
    fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(fetched) = self.fetched_at {
            lines.push(format!("fetched {}", rfc3339(fetched)));
        }
        if self.stale {
            let at = self
                .last_attempt_at
                .map_or_else(|| "an unknown time".to_owned(), rfc3339);
            let reason = self
                .last_error
                .as_deref()
                .map(output::clean)
                .unwrap_or_else(|| "no reason recorded".to_owned());
            lines.push(format!("stale: last refresh failed at {at} ({reason})"));
        }
        lines
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

fn print_models(
    models: &[ModelJson<'_>],
    chosen: Option<&[ModelJson<'_>]>,
    freshness: Freshness,
    output: Output,
) -> Result<ExitCode, CliError> {
    if output.is_json() {
        output.json(&ModelsJson {
            models,
            chosen,
            freshness,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    if models.is_empty() {
        output.text("No models listed.")?;
        for line in freshness.describe() {
            output.text(&line)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let chosen_ids: Vec<&str> = chosen
        .unwrap_or_default()
        .iter()
        .map(|model| model.id)
        .collect();
    let rows: Vec<Vec<String>> = models
        .iter()
        .map(|model| {
            let mut row = vec![
                model.id.to_owned(),
                model.metadata.name.clone().unwrap_or_default(),
                model
                    .metadata
                    .context_window
                    .map(|tokens| tokens.to_string())
                    .unwrap_or_default(),
                model
                    .metadata
                    .max_output_tokens
                    .map(|tokens| tokens.to_string())
                    .unwrap_or_default(),
                model.metadata.input_modalities.join(","),
                match model.metadata.supports_tools {
                    Some(true) => "yes".to_owned(),
                    Some(false) => "no".to_owned(),
                    None => String::new(),
                },
            ];
            if chosen.is_some() {
                row.push(if chosen_ids.contains(&model.id) {
                    "yes".to_owned()
                } else {
                    String::new()
                });
            } else if model.missing_upstream {
                row.push("missing upstream".to_owned());
            }
            row
        })
        .collect();
    let mut headers = vec!["MODEL", "NAME", "CONTEXT", "MAX OUTPUT", "INPUT", "TOOLS"];
    if chosen.is_some() {
        headers.push("CHOSEN");
    } else if models.iter().any(|model| model.missing_upstream) {
        headers.push("STATUS");
    }
    output.text(&output::table(&headers, &rows))?;
    for line in freshness.describe() {
        output.text(&line)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// An unsaved endpoint as a draft, checked by the rules a save applies:
/// the base URL, the key from stdin or the environment, the headers, the
/// timeout, the proxy. Validation's notices (a removed `/chat/completions`,
/// a trimmed key) are printed by the use case's caller.
fn adhoc_subject(
    raw_base_url: &str,
    credentials: &CredentialFlags,
    network: &NetworkFlags,
    output: Output,
) -> Result<Subject, CliError> {
    let (key, proxy_password) = credentials.secrets(output)?;
    if key.is_none() && !credentials.no_auth {
        output.notice("note: no key given (--api-key-stdin or --api-key-env VAR): testing without authentication.");
    }
    let draft = ProviderDraft {
        headers: credentials
            .headers
            .iter()
            .map(|header| HeaderDraft {
                name: header.name.clone(),
                value: Some(ApiKey::new(header.value.clone())),
                secret: false,
            })
            .collect(),
        timeout_secs: credentials.timeout,
        proxy: credentials.proxy.clone(),
        proxy_username: credentials.extras.proxy_user.clone(),
        proxy_password: proxy_password.map_or(KeyChange::Keep, |value| KeyChange::Set { value }),
        ca_certificate: credentials
            .extras
            .ca_cert
            .as_deref()
            .map(crate::draft::read_ca_file)
            .transpose()?,
        api: credentials.extras.api.unwrap_or_default(),
        api_version: credentials.extras.api_version.clone(),
        ..ProviderDraft::endpoint(
            raw_base_url.to_owned(),
            network.network().unwrap_or_default(),
            key,
        )
    };
    for notice in validate_connection(&draft, None)?.notices {
        output.notice(&format!(
            "note: {} ({}): {}",
            flag_for(&notice.field),
            notice.field,
            notice.message
        ));
    }
    Ok(Subject::draft(draft))
}

impl CredentialFlags {
    fn is_given(&self) -> bool {
        self.no_auth
            || self.api_key_stdin
            || self.api_key_env.is_some()
            || !self.headers.is_empty()
            || self.timeout.is_some()
            || self.proxy.is_some()
            || self.extras.ca_cert.is_some()
    }

    /// The key and the proxy password the flags point at (validated with
    /// the rest of the draft). Stdin holds the key first, then the proxy
    /// password.
    fn secrets(&self, output: Output) -> Result<(Option<ApiKey>, Option<ApiKey>), CliError> {
        let from_stdin = stdin_secrets::read(
            stdin_secrets::Wanted {
                key: self.api_key_stdin,
                headers: &[],
                proxy_password: self.extras.proxy_password_stdin,
            },
            output,
        )?;
        let raw = if self.api_key_stdin {
            from_stdin.api_key
        } else if let Some(variable) = &self.api_key_env {
            match std::env::var(variable) {
                Ok(value) => Some(ApiKey::new(value)),
                Err(_) => {
                    return Err(CliError::SecretInput {
                        field: "key",
                        message: format!("the environment variable {variable} (--api-key-env) is not set or not UTF-8"),
                    })
                }
            }
        } else {
            None
        };
        Ok((raw, from_stdin.proxy_password))
    }
}

/// A model in `--json` output: `{id, …metadata…, missing_upstream?}`, the
/// same for discovered and chosen models.
#[derive(Debug, Serialize)]
struct ModelJson<'a> {
    id: &'a str,
    #[serde(flatten)]
    metadata: &'a ModelMetadata,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    missing_upstream: bool,
}

impl<'a> ModelJson<'a> {
    fn from_entry(entry: &'a ModelEntry) -> Self {
        Self {
            id: &entry.id,
            metadata: &entry.metadata,
            missing_upstream: entry.missing_upstream,
        }
    }

    fn from_discovered(model: &'a DiscoveredModel) -> Self {
        Self {
            id: &model.id,
            metadata: &model.metadata,
            missing_upstream: false,
        }
    }
}

#[derive(Debug, Serialize)]
struct ModelsJson<'a> {
    models: &'a [ModelJson<'a>],
    #[serde(skip_serializing_if = "Option::is_none")]
    chosen: Option<&'a [ModelJson<'a>]>,
    #[serde(flatten)]
    freshness: Freshness,
}
