//! Raw flags → a [`ProviderDraft`], the same form draft the app's panel
//! sends, so the CLI and the UI go through one validation in
//! `patchbay-core`. This module decides only what the flags mean:
//!
//! - `add`: preset defaults first, explicit flags over them;
//! - `edit`: the stored provider first, then the preset (if given), then
//!   explicit flags. Only what is given changes; stored secrets (the key,
//!   secret header values) are kept unless replaced or removed, and go to a
//!   new base URL's origin only with `--move-key`.

use patchbay_core::base_url;
use patchbay_core::model::{Auth, Provider};
use patchbay_core::presets::{self, Preset};
use patchbay_core::validation::{display_proxy, HeaderDraft, KeyChange, ProviderDraft};
use patchbay_core::ApiKey;

use crate::cli::{AddArgs, EditArgs, SharedFlags};
use crate::error::CliError;
use crate::stdin_secrets::StdinSecrets;

/// The draft for `provider add`.
pub(crate) fn for_add(args: &AddArgs, secrets: StdinSecrets) -> Result<ProviderDraft, CliError> {
    let preset = find_preset(args.shared.preset.as_deref())?;
    let mut draft = ProviderDraft {
        label: args.label.clone(),
        preset: preset.map(|preset| preset.id.to_owned()),
        base_url: String::new(),
        auth: Auth::ApiKey,
        key: KeyChange::Keep,
        models: args.models.clone(),
        enabled: !args.disabled,
        network: Default::default(),
        headers: Vec::new(),
        timeout_secs: None,
        proxy: None,
        proxy_username: None,
        proxy_password: KeyChange::Keep,
        ca_certificate: None,
        api: Default::default(),
        api_version: None,
        move_key: false,
    };
    if let Some(preset) = preset {
        apply_preset(&mut draft, preset);
    }
    if let Some(base_url) = &args.base_url {
        draft.base_url = base_url.clone();
    }
    apply_shared(&mut draft, &args.shared, secrets)?;
    Ok(draft)
}

/// The draft for `provider edit`: `existing` with the given flags applied.
pub(crate) fn for_edit(
    existing: &Provider,
    args: &EditArgs,
    secrets: StdinSecrets,
) -> Result<ProviderDraft, CliError> {
    let preset = find_preset(args.shared.preset.as_deref())?;
    let mut draft = from_provider(existing);
    if let Some(preset) = preset {
        draft.preset = Some(preset.id.to_owned());
        apply_preset(&mut draft, preset);
    }
    if let Some(label) = &args.label {
        draft.label = label.clone();
    }
    if let Some(base_url) = &args.base_url {
        draft.base_url = base_url.clone();
    }
    if !args.models.is_empty() {
        draft.models = args.models.clone();
    }
    if args.enabled {
        draft.enabled = true;
    }
    if args.disabled {
        draft.enabled = false;
    }
    if args.no_timeout {
        draft.timeout_secs = None;
    }
    if args.no_proxy {
        draft.proxy = None;
    }
    if args.no_proxy || args.no_proxy_auth {
        draft.proxy_username = None;
        draft.proxy_password = KeyChange::Remove;
    }
    if args.no_ca_cert {
        draft.ca_certificate = None;
    }
    if args.no_api_version {
        draft.api_version = None;
    }
    draft.move_key = args.move_key;
    draft.headers.retain(|header| {
        !args
            .remove_headers
            .iter()
            .any(|name| name.eq_ignore_ascii_case(&header.name))
    });
    apply_shared(&mut draft, &args.shared, secrets)?;
    Ok(draft)
}

/// The stored provider as a draft that changes nothing when saved.
fn from_provider(provider: &Provider) -> ProviderDraft {
    ProviderDraft {
        label: provider.label.clone(),
        preset: provider.preset.clone(),
        base_url: base_url::display(&provider.base_url),
        auth: provider.auth,
        key: KeyChange::Keep,
        models: provider
            .models
            .iter()
            .map(|model| model.id.clone())
            .collect(),
        enabled: provider.enabled,
        network: provider.network,
        headers: provider
            .headers
            .iter()
            .map(|header| HeaderDraft {
                name: header.name.clone(),
                // `None` keeps a secret header's stored value.
                value: if header.secret {
                    None
                } else {
                    header.value.clone().map(ApiKey::new)
                },
                secret: header.secret,
            })
            .collect(),
        timeout_secs: provider.timeout_secs,
        proxy: provider.proxy.as_ref().map(display_proxy),
        proxy_username: provider.proxy_username.clone(),
        proxy_password: KeyChange::Keep,
        ca_certificate: provider.ca_certificate.clone(),
        api: provider.api,
        api_version: provider.api_version.clone(),
        move_key: false,
    }
}

fn find_preset(name: Option<&str>) -> Result<Option<&'static Preset>, CliError> {
    match name {
        None => Ok(None),
        Some(name) => presets::find(name)
            .map(Some)
            .ok_or_else(|| CliError::UnknownPreset(name.to_owned())),
    }
}

fn apply_preset(draft: &mut ProviderDraft, preset: &Preset) {
    if !preset.base_url.is_empty() {
        draft.base_url = preset.base_url.to_owned();
    }
    draft.auth = preset.auth;
    draft.network = preset.network;
    draft.api = preset.api;
}

/// Applies the flags `add` and `edit` share. Switching to `--no-auth`
/// leaves the key change at "keep": validation then removes a stored key and
/// says so in a notice.
fn apply_shared(
    draft: &mut ProviderDraft,
    flags: &SharedFlags,
    secrets: StdinSecrets,
) -> Result<(), CliError> {
    if flags.no_auth {
        draft.auth = Auth::None;
    }
    if let Some(network) = flags.network.network() {
        draft.network = network;
    }
    if let Some(timeout) = flags.timeout {
        draft.timeout_secs = Some(timeout);
    }
    if let Some(proxy) = &flags.proxy {
        draft.proxy = Some(proxy.clone());
    }
    if let Some(api) = flags.extras.api {
        draft.api = api;
    }
    if let Some(version) = &flags.extras.api_version {
        draft.api_version = Some(version.clone());
    }
    if let Some(name) = &flags.extras.proxy_user {
        draft.proxy_username = Some(name.clone());
    }
    if let Some(password) = secrets.proxy_password {
        draft.proxy_password = KeyChange::Set { value: password };
    }
    if let Some(path) = &flags.extras.ca_cert {
        draft.ca_certificate = Some(read_ca_file(path)?);
    }
    if let Some(key) = secrets.api_key {
        draft.auth = Auth::ApiKey;
        draft.key = KeyChange::Set { value: key };
    }
    for header in &flags.headers {
        upsert_header(
            draft,
            HeaderDraft {
                name: header.name.clone(),
                value: Some(ApiKey::new(header.value.clone())),
                secret: false,
            },
        );
    }
    for (name, value) in secrets.headers {
        upsert_header(
            draft,
            HeaderDraft {
                name,
                value: Some(value),
                secret: true,
            },
        );
    }
    Ok(())
}

/// A `--ca-cert FILE`, checked and turned into the PEM to store.
pub(crate) fn read_ca_file(path: &std::path::Path) -> Result<String, CliError> {
    let invalid = |message: String| {
        CliError::Domain(patchbay_core::Error::invalid(
            patchbay_core::validation::CA_CERTIFICATE_FIELD,
            message,
        ))
    };
    let bytes = std::fs::read(path)
        .map_err(|error| invalid(format!("cannot read {}: {error}", path.display())))?;
    patchbay_core::certificates::read_ca_bundle(&bytes)
        .map(|bundle| bundle.pem)
        .map_err(|problem| invalid(format!("{}: {problem}", path.display())))
}

/// Replaces a header of the same name (case-insensitive) in place, or adds it.
fn upsert_header(draft: &mut ProviderDraft, header: HeaderDraft) {
    match draft
        .headers
        .iter_mut()
        .find(|existing| existing.name.eq_ignore_ascii_case(&header.name))
    {
        Some(existing) => *existing = header,
        None => draft.headers.push(header),
    }
}
