//! `patchbay chat PROVIDER/MODEL "prompt"`: the window's "Try a prompt" in a
//! terminal, through the same use case (`patchbay_gateway::prompt`). The
//! answer streams to stdout as it arrives; how it went (time to first
//! token, tokens/s, usage) goes to stderr, so `> file` keeps only the
//! answer. `--json` prints one object at the end instead. Ctrl-C cancels:
//! the provider connection is dropped at once. Nothing is stored.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::Mutex;

use patchbay_core::ProviderId;
use patchbay_gateway::prompt::{try_prompt, PromptOutcome, PromptRequest};
use patchbay_protocol::entries::split_entry_id;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::cli::ChatArgs;
use crate::error::CliError;
use crate::output::Output;
use crate::provider::open_service;

pub(crate) fn run(args: &ChatArgs, output: Output) -> Result<ExitCode, CliError> {
    let Some((provider, model)) = split_entry_id(&args.entry) else {
        return Err(patchbay_core::Error::invalid(
            "entry",
            format!(
                "`{}` is not PROVIDER/MODEL: give a provider id, a `/`, then the model id (e.g. `ollama/qwen2.5:7b`; `patchbay entries` lists them).",
                args.entry.chars().take(200).collect::<String>()
            ),
        )
        .into());
    };
    let provider = ProviderId::parse(provider)
        .map_err(|error| patchbay_core::Error::invalid("entry", error.to_string()))?;
    let prompt = match args.prompt.as_deref() {
        Some(prompt) if prompt != "-" => prompt.to_owned(),
        _ => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(CliError::Output)?;
            text
        }
    };
    let request = PromptRequest {
        provider,
        model: model.to_owned(),
        prompt,
        max_tokens: args.max_tokens,
    };
    let service = open_service()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let answer = Mutex::new(String::new());
    let write_failed = Mutex::new(None);
    let on_text = |text: &str| {
        if output.is_json() {
            answer
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push_str(text);
            return;
        }
        let mut stdout = std::io::stdout().lock();
        if let Err(error) = stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            write_failed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get_or_insert(error);
        }
    };
    let outcome = runtime.block_on(async {
        let cancel = CancellationToken::new();
        let on_interrupt = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_interrupt.cancel();
            }
        });
        try_prompt(&service, request, cancel, &on_text).await
    });
    if let Some(error) = write_failed
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        return Err(CliError::Output(error));
    }
    let outcome = outcome?;
    if output.is_json() {
        let text = answer
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        output.json(&ChatJson {
            text: &text,
            outcome: &outcome,
        })?;
    } else {
        println!();
        output.notice(&summary(&outcome));
    }
    Ok(ExitCode::SUCCESS)
}

/// "first token 120 ms · 2.4 s · 42 tokens out, 12 in · 35.2 tokens/s · stop"
pub(crate) fn summary(outcome: &PromptOutcome) -> String {
    let mut parts = Vec::new();
    match outcome.first_token_ms {
        Some(first) => parts.push(format!("first token {first} ms")),
        None => parts.push("no answer text".to_owned()),
    }
    parts.push(format!("{:.1} s", outcome.duration_ms as f64 / 1000.0));
    match &outcome.usage {
        Some(usage) => parts.push(format!(
            "{} tokens out, {} in",
            usage
                .completion_tokens
                .map_or_else(|| "?".to_owned(), |n| n.to_string()),
            usage
                .prompt_tokens
                .map_or_else(|| "?".to_owned(), |n| n.to_string()),
        )),
        None => parts.push("no usage reported".to_owned()),
    }
    if let Some(rate) = outcome.tokens_per_second {
        parts.push(format!("{rate:.1} tokens/s"));
    }
    if let Some(reason) = &outcome.finish_reason {
        parts.push(reason.clone());
    }
    format!("— {} ({})", parts.join(" · "), outcome.entry_id)
}

#[derive(Debug, Serialize)]
struct ChatJson<'a> {
    text: &'a str,
    #[serde(flatten)]
    outcome: &'a PromptOutcome,
}
