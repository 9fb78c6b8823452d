//! The IPC surface of the settings window. Each command parses its
//! arguments, calls one use case of `patchbay-service` and maps the result;
//! nothing is decided here. Use cases touch the disk and the keychain, so
//! the synchronous ones run on the blocking pool and the window never
//! freezes. No command returns a secret: keys travel only inward, inside a
//! `ProviderDraft`.

// `#[tauri::command]` expands async commands into a `let _ = …` of the
// result future's output; the lint fires on the macro's code, not ours.
#![allow(clippy::let_underscore_must_use)]

use patchbay_core::base_url;
use patchbay_core::curation::{ModelChange, Placement};
use patchbay_core::portable::{ImportChoices, ImportPlan};
use patchbay_core::presets::{self, Preset};
use patchbay_core::store::ProviderView;
use patchbay_core::validation::ProviderDraft;
use patchbay_core::{NetworkAllowance, ProviderId};
use patchbay_gateway::capabilities::{check_capabilities as run_check, plan_for, CheckPlan};
use patchbay_gateway::prompt::{try_prompt as try_prompt_with, PromptOutcome, PromptRequest};
use patchbay_net::discovery::DiscoveredModel;
use patchbay_net::policy::judge_url;
use patchbay_net::probe::{StageReport, TestReport};
use patchbay_service::{Subject, TestRequest};
use serde::Deserialize;
use tauri::ipc::Channel;
use tauri::State;

use crate::background::blocking;
use crate::error::AppError;
use crate::state::{Providers, RunningCalls, StartupNotice};
use crate::views::{BaseUrlPreview, ModelCatalog, PolicyPreview, ProviderList, SavedView};

#[tauri::command]
pub(crate) async fn list_providers(
    providers: State<'_, Providers>,
    notice: State<'_, StartupNotice>,
) -> Result<ProviderList, AppError> {
    let service = providers.service();
    let listing = blocking(move || service.list_providers()).await?;
    Ok(ProviderList::new(listing, notice.get()))
}

#[tauri::command]
pub(crate) async fn get_provider(
    providers: State<'_, Providers>,
    id: String,
) -> Result<ProviderView, AppError> {
    let id = ProviderId::parse(&id)?;
    let service = providers.service();
    let provider = blocking(move || service.provider(&id)).await?;
    Ok(ProviderView::from(&provider))
}

#[tauri::command]
pub(crate) async fn add_provider(
    providers: State<'_, Providers>,
    draft: ProviderDraft,
) -> Result<SavedView, AppError> {
    let service = providers.service();
    let saved = blocking(move || service.add_provider(draft)).await?;
    Ok(SavedView::from(saved))
}

/// The form's live validation: what saving `draft` would report, by the
/// same rules, without saving. `id` when the form edits a saved provider.
#[tauri::command]
pub(crate) async fn check_provider_draft(
    providers: State<'_, Providers>,
    draft: ProviderDraft,
    id: Option<String>,
) -> Result<Vec<patchbay_core::error::FieldError>, AppError> {
    let id = id.map(|id| ProviderId::parse(&id)).transpose()?;
    let service = providers.service();
    blocking(move || service.check_draft(&draft, id.as_ref())).await
}

#[tauri::command]
pub(crate) async fn edit_provider(
    providers: State<'_, Providers>,
    id: String,
    draft: ProviderDraft,
) -> Result<SavedView, AppError> {
    let id = ProviderId::parse(&id)?;
    let service = providers.service();
    let saved = blocking(move || service.edit_provider(&id, draft)).await?;
    Ok(SavedView::from(saved))
}

#[tauri::command]
pub(crate) async fn set_provider_enabled(
    providers: State<'_, Providers>,
    id: String,
    enabled: bool,
) -> Result<ProviderView, AppError> {
    let id = ProviderId::parse(&id)?;
    let service = providers.service();
    let provider = blocking(move || service.set_provider_enabled(&id, enabled)).await?;
    Ok(ProviderView::from(&provider))
}

/// Moves a provider before another one (`before`) or to `position`
/// (from 0); returns every provider in the new order.
#[tauri::command]
pub(crate) async fn move_provider(
    providers: State<'_, Providers>,
    id: String,
    before: Option<String>,
    position: Option<usize>,
) -> Result<Vec<ProviderView>, AppError> {
    let id = ProviderId::parse(&id)?;
    let placement = match (before, position) {
        (Some(other), _) => Placement::Before(other),
        (None, position) => Placement::At(position.unwrap_or(0)),
    };
    let service = providers.service();
    let moved = blocking(move || service.move_provider(&id, placement)).await?;
    Ok(moved.iter().map(ProviderView::from).collect())
}

/// One change to a provider's models, as the window's Models card sends it.
#[derive(Debug, Deserialize)]
#[serde(
    tag = "action",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub(crate) enum ModelChangeArgs {
    Add {
        model: String,
        display_name: Option<String>,
    },
    Remove {
        model: String,
    },
    Hide {
        model: String,
    },
    Show {
        model: String,
    },
    Rename {
        model: String,
        display_name: Option<String>,
    },
    Move {
        model: String,
        position: usize,
    },
}

impl From<ModelChangeArgs> for ModelChange {
    fn from(args: ModelChangeArgs) -> Self {
        match args {
            ModelChangeArgs::Add {
                model,
                display_name,
            } => Self::Add {
                id: model,
                display_name,
            },
            ModelChangeArgs::Remove { model } => Self::Remove { id: model },
            ModelChangeArgs::Hide { model } => Self::Hide { id: model },
            ModelChangeArgs::Show { model } => Self::Show { id: model },
            ModelChangeArgs::Rename {
                model,
                display_name,
            } => Self::Rename {
                id: model,
                display_name,
            },
            ModelChangeArgs::Move { model, position } => Self::Move {
                id: model,
                placement: Placement::At(position),
            },
        }
    }
}

#[tauri::command]
pub(crate) async fn change_model(
    providers: State<'_, Providers>,
    id: String,
    change: ModelChangeArgs,
) -> Result<ProviderView, AppError> {
    let id = ProviderId::parse(&id)?;
    let service = providers.service();
    let provider = blocking(move || service.change_model(&id, change.into())).await?;
    Ok(ProviderView::from(&provider))
}

#[tauri::command]
pub(crate) async fn remove_provider_key(
    providers: State<'_, Providers>,
    id: String,
) -> Result<ProviderView, AppError> {
    let id = ProviderId::parse(&id)?;
    let service = providers.service();
    let provider = blocking(move || service.remove_provider_key(&id)).await?;
    Ok(ProviderView::from(&provider))
}

/// "Send your key for <old> to <new>": the person confirms that the stored
/// key and secret header values may go to the provider's base URL now (the
/// file was edited by hand).
#[tauri::command]
pub(crate) async fn move_provider_key(
    providers: State<'_, Providers>,
    id: String,
) -> Result<ProviderView, AppError> {
    let id = ProviderId::parse(&id)?;
    let service = providers.service();
    let provider = blocking(move || service.move_provider_key(&id)).await?;
    Ok(ProviderView::from(&provider))
}

#[tauri::command]
pub(crate) async fn delete_provider(
    providers: State<'_, Providers>,
    id: String,
) -> Result<(), AppError> {
    let id = ProviderId::parse(&id)?;
    let service = providers.service();
    blocking(move || service.remove_provider(&id)).await
}

#[tauri::command]
pub(crate) fn list_presets() -> &'static [Preset] {
    presets::all()
}

/// Pure and fast (no DNS), called debounced while the user types; includes
/// the egress policy's verdict on the normalised URL.
#[tauri::command]
pub(crate) async fn preview_base_url(
    input: String,
    network: NetworkAllowance,
    api: Option<patchbay_core::model::Api>,
    api_version: Option<String>,
) -> BaseUrlPreview {
    if api == Some(patchbay_core::model::Api::AzureOpenai) && !input.trim().is_empty() {
        return azure_preview(&input, network, api_version.as_deref());
    }
    let mut preview = preview_under(&input, network);
    if accepted(&preview) {
        return preview;
    }
    // A server on this computer or the LAN typed under a narrower
    // allowance: offer the allowance that works.
    let wider: &[NetworkAllowance] = match network {
        NetworkAllowance::Remote => &[NetworkAllowance::Local, NetworkAllowance::Private],
        NetworkAllowance::Local => &[NetworkAllowance::Private],
        _ => &[],
    };
    preview.suggested_network = wider
        .iter()
        .copied()
        .find(|candidate| accepted(&preview_under(&input, *candidate)));
    if preview.suggested_network.is_none() {
        // Refused under every allowance (a metadata or link-local
        // address): say only that, never "choose Local/Private access".
        let widest = preview_under(&input, NetworkAllowance::Private);
        if let Some(policy) = widest.policy.filter(|policy| !policy.allowed) {
            preview.error = None;
            preview.policy = Some(policy);
        }
    }
    preview
}

/// Azure OpenAI: the pasted URL reduced to the chosen API's base, and the
/// requests that API makes (a deployment's chat URL on the classic API).
fn azure_preview(
    input: &str,
    network: NetworkAllowance,
    api_version: Option<&str>,
) -> BaseUrlPreview {
    let reduced = match patchbay_core::azure::reduce(input, api_version) {
        Ok(reduced) => reduced,
        Err(problem) => {
            return BaseUrlPreview {
                error: Some(problem),
                ..BaseUrlPreview::default()
            }
        }
    };
    let mut preview = preview_under(&reduced.base, network);
    let mut notices = reduced.notices;
    notices.append(&mut preview.notices);
    preview.notices = notices;
    if let (Some(base), Some(version)) = (&preview.normalized, &reduced.api_version) {
        preview.models_url = Some(format!("{base}/models?api-version={version}"));
        preview.chat_url = Some(format!(
            "{base}/deployments/<deployment>/chat/completions?api-version={version}"
        ));
    }
    preview
}

/// The preview of `input` under one allowance.
fn preview_under(input: &str, network: NetworkAllowance) -> BaseUrlPreview {
    let check = base_url::normalize(input, network);
    let policy = check
        .as_ref()
        .ok()
        .map(|check| PolicyPreview::from(judge_url(check.normalized.as_str(), network)));
    BaseUrlPreview {
        policy,
        ..BaseUrlPreview::from(check)
    }
}

fn accepted(preview: &BaseUrlPreview) -> bool {
    preview.ok && preview.policy.as_ref().is_none_or(|policy| policy.allowed)
}

/// What a connection test runs against, as the window sends it:
/// `{"kind": "saved", "id": "gateway"}` is a saved provider as stored (its
/// result is recorded as the provider's last test);
/// `{"kind": "draft", "draft": {…}, "id": "gateway"}` is the form's typed
/// values before saving, with `id` when the form edits a saved provider (its
/// stored key and secret header values fill in what the form keeps).
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum TestTarget {
    Saved {
        id: String,
    },
    Draft {
        draft: Box<ProviderDraft>,
        #[serde(default)]
        id: Option<String>,
    },
}

impl TryFrom<TestTarget> for Subject {
    type Error = AppError;

    fn try_from(target: TestTarget) -> Result<Self, AppError> {
        Ok(match target {
            TestTarget::Saved { id } => Subject::Saved(ProviderId::parse(&id)?),
            TestTarget::Draft { draft, id } => Subject::Draft {
                draft,
                editing: id.map(|id| ProviderId::parse(&id)).transpose()?,
            },
        })
    }
}

/// Runs the staged connection test of a saved provider or of the form's
/// typed values under the window's `test_id`. Each stage is sent on
/// `on_stage` as it completes; `cancel_test` ends the test, which then
/// fails with `cancelled`. Only a saved provider's result is recorded.
#[tauri::command]
pub(crate) async fn test_connection(
    providers: State<'_, Providers>,
    test_id: String,
    target: TestTarget,
    model: Option<String>,
    on_stage: Channel<StageReport>,
) -> Result<TestReport, AppError> {
    let request = TestRequest {
        subject: Subject::try_from(target)?,
        chat_model: model,
        test_id: Some(test_id),
    };
    let send = |stage: &StageReport| {
        if let Err(error) = on_stage.send(stage.clone()) {
            tracing::warn!(%error, "could not send a test stage to the window");
        }
    };
    Ok(providers.service().test(request, &send).await?)
}

/// Cancels the test running under `test_id`: its connection is dropped at
/// once. `false` when none is running (it already finished).
#[tauri::command]
pub(crate) fn cancel_test(providers: State<'_, Providers>, test_id: String) -> bool {
    providers.service().cancel_test(&test_id)
}

/// "Try a prompt": sends `prompt` to `model` of provider `id` the way a host
/// app's request goes (the gateway's code path) and sends each piece of the
/// answer on `on_text` as it arrives; `cancel_call` stops it (the
/// provider connection is dropped) and it fails with `cancelled`. Nothing
/// is stored.
#[tauri::command]
pub(crate) async fn try_prompt(
    providers: State<'_, Providers>,
    prompts: State<'_, RunningCalls>,
    prompt_id: String,
    id: String,
    model: String,
    prompt: String,
    on_text: Channel<String>,
) -> Result<PromptOutcome, AppError> {
    let request = PromptRequest {
        provider: ProviderId::parse(&id)?,
        model,
        prompt,
        max_tokens: None,
    };
    let (generation, cancel) = prompts.start(&prompt_id);
    let send = |text: &str| {
        if let Err(error) = on_text.send(text.to_owned()) {
            tracing::warn!(%error, "could not send a piece of the answer to the window");
        }
    };
    let outcome = try_prompt_with(&providers.service(), request, cancel, &send).await;
    prompts.finish(&prompt_id, generation);
    Ok(outcome?)
}

/// What checking `model`'s capabilities will send (how many requests,
/// about how many tokens), for the question the window asks first.
#[tauri::command]
pub(crate) async fn capability_plan(
    providers: State<'_, Providers>,
    id: String,
    model: String,
) -> Result<CheckPlan, AppError> {
    let id = ProviderId::parse(&id)?;
    let service = providers.service();
    blocking(move || plan_for(&service, &id, &model)).await
}

/// Checks `model`'s capabilities (after the person said yes in the window)
/// under `call_id` (`cancel_call` stops it; nothing is recorded then) and
/// returns the provider with the findings recorded.
#[tauri::command]
pub(crate) async fn check_capabilities(
    providers: State<'_, Providers>,
    calls: State<'_, RunningCalls>,
    call_id: String,
    id: String,
    model: String,
) -> Result<ProviderView, AppError> {
    let id = ProviderId::parse(&id)?;
    let service = providers.service();
    let (generation, cancel) = calls.start(&call_id);
    let report = run_check(&service, &id, &model, cancel).await;
    calls.finish(&call_id, generation);
    Ok(ProviderView::from(&report?.provider))
}

/// Where an export was written, and how many providers it holds.
#[derive(Debug, serde::Serialize)]
pub(crate) struct ExportedFile {
    path: String,
    providers: usize,
}

/// Exports `ids` (every provider when empty) to a new file in the person's
/// Downloads folder (their home folder without one), never over another.
#[tauri::command]
pub(crate) async fn export_providers<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    providers: State<'_, Providers>,
    ids: Vec<String>,
) -> Result<ExportedFile, AppError> {
    use tauri::Manager;
    let ids = ids
        .iter()
        .map(|id| ProviderId::parse(id))
        .collect::<Result<Vec<_>, _>>()?;
    let folder = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|error| {
            patchbay_core::Error::invalid(
                "output",
                format!("No folder to save the export in: {error}"),
            )
        })?;
    let service = providers.service();
    blocking(move || {
        let date = time::OffsetDateTime::now_utc().date();
        let path = (1..)
            .map(|n| {
                let suffix = if n == 1 {
                    String::new()
                } else {
                    format!("-{n}")
                };
                folder.join(format!("patchbay-export-{date}{suffix}.json"))
            })
            .find(|candidate| !candidate.exists())
            .unwrap_or_else(|| folder.join("patchbay-export.json"));
        let document = service.export_to(&ids, &path)?;
        Ok::<_, patchbay_service::ServiceError>(ExportedFile {
            path: path.display().to_string(),
            providers: document.providers.len(),
        })
    })
    .await
}

/// What importing `contents` (a Patchbay export, Zed's settings or
/// Continue's config.yaml) with `choices` would do; writes nothing.
#[tauri::command]
pub(crate) async fn preview_import(
    providers: State<'_, Providers>,
    contents: String,
    choices: ImportChoices,
) -> Result<ImportPlan, AppError> {
    import(&providers, contents, choices, false).await
}

/// Imports `contents` with `choices`, all or nothing, after the person
/// confirmed the preview.
#[tauri::command]
pub(crate) async fn apply_import(
    providers: State<'_, Providers>,
    contents: String,
    choices: ImportChoices,
) -> Result<ImportPlan, AppError> {
    import(&providers, contents, choices, true).await
}

async fn import(
    providers: &Providers,
    contents: String,
    choices: ImportChoices,
    apply: bool,
) -> Result<ImportPlan, AppError> {
    let service = providers.service();
    blocking(move || {
        let candidates = service.read_import(contents.as_bytes())?;
        if apply {
            service.apply_import(&candidates, &choices)
        } else {
            service.preview_import(&candidates, &choices)
        }
    })
    .await
}

/// Stops the prompt or capability check running under `call_id` (the
/// provider connection is dropped); `false` when none is.
#[tauri::command]
pub(crate) fn cancel_call(calls: State<'_, RunningCalls>, call_id: String) -> bool {
    calls.cancel(&call_id)
}

/// Trusts (or, with `null`, stops trusting) a self-signed certificate for
/// this provider only, after the person saw its fingerprint.
#[tauri::command]
pub(crate) async fn trust_certificate(
    providers: State<'_, Providers>,
    id: String,
    sha256: Option<String>,
) -> Result<ProviderView, AppError> {
    let id = ProviderId::parse(&id)?;
    let service = providers.service();
    let provider = blocking(move || service.trust_seen_certificate(&id, sha256)).await?;
    Ok(ProviderView::from(&provider))
}

/// The models a saved provider's server lists, for the model picker.
#[tauri::command]
pub(crate) async fn discover_models(
    providers: State<'_, Providers>,
    id: String,
) -> Result<Vec<DiscoveredModel>, AppError> {
    let subject = Subject::Saved(ProviderId::parse(&id)?);
    Ok(providers.service().discover_models(subject).await?)
}

/// The models at the server the form describes (not saved yet): its base
/// URL, allowance, key, custom headers, timeout and proxy, as a test of the
/// form uses them. `id`: the saved provider the form edits, whose stored key
/// and secret header values fill in what the form keeps (for the origin
/// they were given for only). The key only travels inward.
#[tauri::command]
pub(crate) async fn discover_models_at(
    providers: State<'_, Providers>,
    draft: ProviderDraft,
    id: Option<String>,
) -> Result<Vec<DiscoveredModel>, AppError> {
    let editing = id.map(|id| ProviderId::parse(&id)).transpose()?;
    let subject = Subject::Draft {
        draft: Box::new(draft),
        editing,
    };
    Ok(providers.service().discover_models(subject).await?)
}

/// Fetches a saved provider's models and records the outcome in its stored
/// catalog. On success the provider's chosen models are marked where the
/// server no longer lists them; on failure the last good list comes back
/// `stale` with the error (or the error itself when no refresh ever
/// succeeded).
#[tauri::command]
pub(crate) async fn refresh_models(
    providers: State<'_, Providers>,
    id: String,
) -> Result<ModelCatalog, AppError> {
    let id = ProviderId::parse(&id)?;
    let refreshed = providers.service().refresh_models(id).await?;
    Ok(ModelCatalog::from(refreshed))
}
