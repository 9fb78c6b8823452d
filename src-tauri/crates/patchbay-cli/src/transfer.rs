//! `patchbay export` and `patchbay import`: the export document to stdout
//! or a file; an import's plan as a table (what is new, changes, collides,
//! is refused, widens what Patchbay reaches, needs a key), then the write
//! unless `--dry-run`. `--json` prints the plan with `"applied"`.

use std::io::Read;
use std::process::ExitCode;

use patchbay_core::portable::{Action, ImportChoices, ImportPlan, OnConflict, Standing};
use serde::Serialize;

use crate::cli::{ConflictArg, ExportArgs, ImportArgs};
use crate::error::CliError;
use crate::output::{self, Output};
use crate::provider::open_service;

pub(crate) fn export(args: &ExportArgs, output: Output) -> Result<ExitCode, CliError> {
    let service = open_service()?;
    match &args.output {
        Some(path) => {
            let document = service.export_to(&args.providers, path)?;
            if output.is_json() {
                output.json(&Exported {
                    path: &path.display().to_string(),
                    providers: document.providers.len(),
                })?;
            } else {
                output.text(&format!(
                    "Exported {} provider{} to {} (no keys, secret header values or certificates).",
                    document.providers.len(),
                    if document.providers.len() == 1 {
                        ""
                    } else {
                        "s"
                    },
                    path.display()
                ))?;
            }
        }
        None => output.json(&service.export(&args.providers)?)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn conflict(choice: ConflictArg) -> OnConflict {
    match choice {
        ConflictArg::Rename => OnConflict::Rename,
        ConflictArg::Replace => OnConflict::Replace,
        ConflictArg::Skip => OnConflict::Skip,
    }
}

pub(crate) fn import(args: &ImportArgs, output: Output) -> Result<ExitCode, CliError> {
    let bytes = if args.file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(CliError::Output)?;
        bytes
    } else {
        std::fs::read(&args.file).map_err(|error| {
            patchbay_core::Error::invalid(
                "file",
                format!("Could not read {}: {error}", args.file.display()),
            )
        })?
    };
    let service = open_service()?;
    let candidates = service.read_import(&bytes)?;
    let choices = ImportChoices {
        on_conflict: conflict(args.on_conflict),
        per_item: args
            .choices
            .iter()
            .map(|(id, choice)| (id.clone(), conflict(*choice)))
            .collect(),
        allow_widening: args.allow.iter().cloned().collect(),
        exclude: args.exclude.iter().cloned().collect(),
    };
    let plan = if args.dry_run {
        service.preview_import(&candidates, &choices)?
    } else {
        service.apply_import(&candidates, &choices)?
    };
    if output.is_json() {
        output.json(&Applied {
            applied: !args.dry_run,
            plan: &plan,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    print_plan(&plan, output)?;
    let summary = format!(
        "{} to add, {} to replace, {} skipped",
        plan.adds, plan.replaces, plan.skips
    );
    if args.dry_run {
        output.text(&format!("{summary}. Nothing was written (--dry-run)."))?;
    } else {
        output.text(&format!(
            "Imported: {}.{}",
            summary
                .replace(" to add", " added")
                .replace(" to replace", " replaced"),
            if plan
                .items
                .iter()
                .any(|item| item.action != Action::Skip && item.needs_key)
            {
                " Add the keys: `patchbay provider set-key ID --api-key-stdin`."
            } else {
                ""
            }
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_plan(plan: &ImportPlan, output: Output) -> Result<(), CliError> {
    let rows: Vec<Vec<String>> = plan
        .items
        .iter()
        .map(|item| {
            let standing = match &item.standing {
                Standing::New => "new".to_owned(),
                Standing::Unchanged => "unchanged".to_owned(),
                Standing::Changes { fields } => format!("changes {}", fields.join(",")),
                Standing::SameBaseUrl { with } => format!("same URL as {with}"),
            };
            let action = match item.action {
                Action::Add => "add",
                Action::Replace => "replace",
                Action::Skip => "skip",
            };
            let mut notes = Vec::new();
            if let Some(refused) = &item.refused {
                notes.push(refused.clone());
            }
            if let Some(reason) = &item.skip_reason {
                notes.push(reason.clone());
            }
            if !item.widens.is_empty() {
                notes.push(format!(
                    "widens to {}{}",
                    item.widens.join("; "),
                    if item.widening_allowed {
                        " (allowed)".to_owned()
                    } else {
                        format!(" (allow with --allow {})", item.source_id)
                    }
                ));
            }
            if item.needs_key && item.action != Action::Skip {
                notes.push("needs a key".to_owned());
            }
            for need in &item.needs {
                notes.push(format!("needs {need}"));
            }
            vec![
                action.to_owned(),
                item.id.clone(),
                output::clean(&item.label),
                standing,
                output::clean(&notes.join("; ")),
            ]
        })
        .collect();
    output.text(&output::table(
        &["ACTION", "ID", "LABEL", "STANDING", "NOTES"],
        &rows,
    ))?;
    for skipped in &plan.skipped {
        output.notice(&format!(
            "not imported: {} — {}",
            output::clean(&skipped.what),
            output::clean(&skipped.why)
        ));
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct Exported<'a> {
    path: &'a str,
    providers: usize,
}

#[derive(Debug, Serialize)]
struct Applied<'a> {
    applied: bool,
    #[serde(flatten)]
    plan: &'a ImportPlan,
}
