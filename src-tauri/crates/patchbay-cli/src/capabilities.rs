//! `patchbay model check PROVIDER MODEL`: says what the capability check
//! will send (how many requests, about how many tokens), asks on a
//! terminal (or takes `--yes`), runs it through
//! `patchbay_gateway::capabilities` and prints what each probe found and
//! where each capability now comes from.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use patchbay_core::model::{capabilities_of, Capabilities, Capability, Known, Source, PROBED};
use patchbay_gateway::capabilities::{check_capabilities, plan_for, CheckPlan};
use patchbay_service::Service;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::cli::ModelArgs;
use crate::error::CliError;
use crate::output::{self, Output};

pub(crate) fn check(
    service: &Service,
    args: &ModelArgs,
    yes: bool,
    output: Output,
) -> Result<ExitCode, CliError> {
    let plan = plan_for(service, &args.provider, &args.model)?;
    output.notice(&plan.summary);
    for request in &plan.requests {
        output.notice(&format!("  - {}", request.what));
    }
    if !yes && !ask(&plan)? {
        return Err(patchbay_core::Error::invalid(
            "yes",
            format!(
                "Nothing was sent. The check needs your agreement to {} chat requests: answer y when asked in a terminal, or add --yes.",
                plan.chat_requests
            ),
        )
        .into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let report = runtime.block_on(async {
        let cancel = CancellationToken::new();
        let on_interrupt = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_interrupt.cancel();
            }
        });
        check_capabilities(service, &args.provider, &args.model, cancel).await
    })?;
    let model = report
        .provider
        .models
        .iter()
        .find(|model| model.id == args.model)
        .map(capabilities_of)
        .unwrap_or_default();
    if output.is_json() {
        return output
            .json(&CheckJson {
                entry_id: &report.entry_id,
                probed: &report.probed,
                capabilities: &model,
                list_failure: report.list_failure.as_deref(),
            })
            .map(|()| ExitCode::SUCCESS);
    }
    let mut lines = Vec::new();
    for capability in PROBED {
        let found = report.probed.get(capability);
        let verdict = match found.and_then(|outcome| outcome.supported) {
            Some(true) => "yes",
            Some(false) => "no",
            None => "could not tell",
        };
        let detail = found
            .and_then(|outcome| outcome.detail.as_deref())
            .map(|detail| format!(" — {}", output::clean(detail)))
            .unwrap_or_default();
        lines.push((label(capability), format!("{verdict}{detail}")));
    }
    lines.push(("context window", limit(&model.context_window)));
    lines.push(("output limit", limit(&model.max_output_tokens)));
    if let Some(failure) = &report.list_failure {
        output.notice(&format!(
            "note: the model list could not be refreshed: {}",
            output::clean(failure)
        ));
    }
    output.text(&format!("{}\n{}", report.entry_id, output::fields(&lines)))?;
    Ok(ExitCode::SUCCESS)
}

/// Asks on a terminal; `false` without one (scripts pass --yes).
fn ask(plan: &CheckPlan) -> Result<bool, CliError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Ok(false);
    }
    eprint!("Send these {} requests? [y/N] ", plan.chat_requests);
    std::io::stderr().flush().map_err(CliError::Output)?;
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(CliError::Output)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

fn label(capability: Capability) -> &'static str {
    match capability {
        Capability::Streaming => "streaming",
        Capability::Tools => "tool calls",
        Capability::ImageInput => "image input",
        Capability::JsonOutput => "JSON output",
    }
}

fn limit(known: &Known<u64>) -> String {
    match (known.value, known.source) {
        (Some(value), Source::Advertised) => format!("{value} tokens (advertised)"),
        (Some(value), _) => format!("{value} tokens"),
        (None, _) => "unknown".to_owned(),
    }
}

/// The capabilities an entry is known to have, for the `entries` table:
/// `stream,tools,image,json`.
pub(crate) fn short_list(capabilities: &Capabilities) -> String {
    PROBED
        .iter()
        .filter(|capability| capabilities.has(**capability))
        .map(|capability| match capability {
            Capability::Streaming => "stream",
            Capability::Tools => "tools",
            Capability::ImageInput => "image",
            Capability::JsonOutput => "json",
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[derive(Debug, Serialize)]
struct CheckJson<'a> {
    entry_id: &'a str,
    probed: &'a patchbay_core::model::ProbedCapabilities,
    capabilities: &'a Capabilities,
    #[serde(skip_serializing_if = "Option::is_none")]
    list_failure: Option<&'a str>,
}
