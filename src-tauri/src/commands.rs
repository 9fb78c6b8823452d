//! The IPC surface of the settings window. Each command parses its
//! arguments, calls one domain function and maps the error; the logic lives
//! in `patchbay-core`. Domain calls touch the disk and the keychain, so they
//! run on the blocking pool and the window never freezes. No command returns
//! a secret: keys travel only inward, inside a `ProviderDraft`.

// `#[tauri::command]` expands async commands into a `let _ = …` of the
// result future's output; the lint fires on the macro's code, not ours.
#![allow(clippy::let_underscore_must_use)]

use patchbay_core::base_url;
use patchbay_core::presets::{self, Preset};
use patchbay_core::store::ProviderView;
use patchbay_core::validation::ProviderDraft;
use patchbay_core::ApiKey;
use patchbay_core::{NetworkAllowance, ProviderId};
use patchbay_net::discovery::DiscoveredModel;
use patchbay_net::policy::{check_for_save, judge_url};
use patchbay_net::probe::{StageReport, TestReport};
use tauri::ipc::Channel;
use tauri::State;

use crate::background::blocking;
use crate::connection::{self, ModelCatalog, Network, TestTarget};
use crate::error::AppError;
use crate::state::{Providers, RunningTests, StartupNotice};
use crate::views::{BaseUrlPreview, PolicyPreview, ProviderList, SavedView};

#[tauri::command]
pub(crate) async fn list_providers(
    providers: State<'_, Providers>,
    notice: State<'_, StartupNotice>,
) -> Result<ProviderList, AppError> {
    let store = providers.store();
    let listing = blocking(move || store.list()).await?;
    Ok(ProviderList::new(listing, notice.get()))
}

#[tauri::command]
pub(crate) async fn get_provider(
    providers: State<'_, Providers>,
    id: String,
) -> Result<ProviderView, AppError> {
    let id = ProviderId::parse(&id)?;
    let store = providers.store();
    let provider = blocking(move || store.get(&id)).await?;
    Ok(ProviderView::from(&provider))
}

#[tauri::command]
pub(crate) async fn add_provider(
    providers: State<'_, Providers>,
    draft: ProviderDraft,
) -> Result<SavedView, AppError> {
    check_for_save(&draft.base_url, draft.network)?;
    let store = providers.store();
    let saved = blocking(move || store.add(draft)).await?;
    Ok(SavedView::from(saved))
}

#[tauri::command]
pub(crate) async fn edit_provider(
    providers: State<'_, Providers>,
    id: String,
    draft: ProviderDraft,
) -> Result<SavedView, AppError> {
    let id = ProviderId::parse(&id)?;
    check_for_save(&draft.base_url, draft.network)?;
    let store = providers.store();
    let saved = blocking(move || store.edit(&id, draft)).await?;
    Ok(SavedView::from(saved))
}

#[tauri::command]
pub(crate) async fn set_provider_enabled(
    providers: State<'_, Providers>,
    id: String,
    enabled: bool,
) -> Result<ProviderView, AppError> {
    let id = ProviderId::parse(&id)?;
    let store = providers.store();
    let provider = blocking(move || store.set_enabled(&id, enabled)).await?;
    Ok(ProviderView::from(&provider))
}

#[tauri::command]
pub(crate) async fn remove_provider_key(
    providers: State<'_, Providers>,
    id: String,
) -> Result<ProviderView, AppError> {
    let id = ProviderId::parse(&id)?;
    let store = providers.store();
    let provider = blocking(move || store.remove_key(&id)).await?;
    Ok(ProviderView::from(&provider))
}

#[tauri::command]
pub(crate) async fn delete_provider(
    providers: State<'_, Providers>,
    id: String,
) -> Result<(), AppError> {
    let id = ProviderId::parse(&id)?;
    let store = providers.store();
    blocking(move || store.remove(&id)).await
}

#[tauri::command]
pub(crate) fn list_presets() -> &'static [Preset] {
    presets::all()
}

/// Pure and fast (no DNS), called debounced while the user types; includes
/// the egress policy's verdict on the normalised URL.
#[tauri::command]
pub(crate) async fn preview_base_url(input: String, network: NetworkAllowance) -> BaseUrlPreview {
    let check = base_url::normalize(&input, network);
    let policy = check
        .as_ref()
        .ok()
        .map(|check| PolicyPreview::from(judge_url(check.normalized.as_str(), network)));
    BaseUrlPreview {
        policy,
        ..BaseUrlPreview::from(check)
    }
}

/// Runs the staged connection test of a saved provider or of the form's
/// typed values (`target`, see [`TestTarget`]) under the window's
/// `test_id`. Each stage is sent on `on_stage` as it completes;
/// `cancel_test` ends the test, which then fails with `cancelled`. Only a
/// saved provider's result is recorded, as its last test.
#[tauri::command]
pub(crate) async fn test_connection(
    providers: State<'_, Providers>,
    network: State<'_, Network>,
    tests: State<'_, RunningTests>,
    test_id: String,
    target: TestTarget,
    model: Option<String>,
    on_stage: Channel<StageReport>,
) -> Result<TestReport, AppError> {
    let client = network.client()?;
    let send = |stage: &StageReport| {
        if let Err(error) = on_stage.send(stage.clone()) {
            tracing::warn!(%error, "could not send a test stage to the window");
        }
    };
    let store = providers.store();
    connection::test_connection(store, &client, &tests, &test_id, target, model, &send).await
}

/// Cancels the test running under `test_id`: its connection is dropped at
/// once. `false` when none is running (it already finished).
#[tauri::command]
pub(crate) fn cancel_test(tests: State<'_, RunningTests>, test_id: String) -> bool {
    tests.cancel(&test_id)
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
    let store = providers.store();
    let provider = blocking(move || store.set_trusted_cert(&id, sha256)).await?;
    Ok(ProviderView::from(&provider))
}

/// The models a saved provider's server lists, for the model picker.
#[tauri::command]
pub(crate) async fn discover_models(
    providers: State<'_, Providers>,
    network: State<'_, Network>,
    id: String,
) -> Result<Vec<DiscoveredModel>, AppError> {
    let id = ProviderId::parse(&id)?;
    let client = network.client()?;
    connection::discover_saved(providers.store(), &client, id).await
}

/// The models at a base URL typed into the form (not saved yet), with the
/// key typed there. The key only travels inward.
#[tauri::command]
pub(crate) async fn discover_models_at(
    network: State<'_, Network>,
    base_url: String,
    network_allowance: NetworkAllowance,
    key: Option<ApiKey>,
    proxy: Option<String>,
) -> Result<Vec<DiscoveredModel>, AppError> {
    let client = network.client()?;
    connection::discover_draft(&client, &base_url, network_allowance, key, proxy.as_deref()).await
}

/// Fetches a saved provider's models and records the outcome in its stored
/// catalog. On success the provider's chosen models are marked where the
/// server no longer lists them; on failure the last good list comes back
/// `stale` with the error (or the error itself when no refresh ever
/// succeeded).
#[tauri::command]
pub(crate) async fn refresh_models(
    providers: State<'_, Providers>,
    network: State<'_, Network>,
    id: String,
) -> Result<ModelCatalog, AppError> {
    let id = ProviderId::parse(&id)?;
    let client = network.client()?;
    connection::refresh_models(providers.store(), &client, id).await
}
