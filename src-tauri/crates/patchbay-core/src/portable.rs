//! Moving a setup between machines: the export document (versioned JSON,
//! schema in `docs/config.md`) and the plan of an import — what is new,
//! what changes, what collides, what the egress rules refuse, what widens
//! what Patchbay may reach — before anything is written.
//!
//! An export never holds a secret: no key (nor its hint), no secret header
//! value, no proxy password, no host token, and no trust decision (a pinned
//! certificate or a CA certificate is trusted again on the new machine).
//! Imports also read the custom-endpoint sections of Zed's settings and
//! Continue's `config.yaml` ([`foreign`]); their keys stay where they are.
//!
//! The store applies a plan in one locked write ([`crate::store::ProviderStore::apply_import`]):
//! all of it or nothing.

pub mod foreign;

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::base_url::display;
use crate::error::{Error, FieldError, Result};
use crate::id::ProviderId;
use crate::model::{Api, Auth, ModelEntry, ModelMetadata, NetworkAllowance, Provider};
use crate::store::origin_of;
use crate::validation::{self, HeaderDraft, KeyChange, ProviderDraft, ValidatedDraft};

/// `format` of an export document.
pub const EXPORT_FORMAT: &str = "patchbay-export";
/// The export schema this Patchbay reads and writes.
pub const EXPORT_VERSION: u64 = 1;
/// Largest file an import reads.
pub const IMPORT_LIMIT: usize = 4 * 1024 * 1024;

/// The export file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportDocument {
    pub format: String,
    pub version: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub exported_at: OffsetDateTime,
    pub providers: Vec<PortableProvider>,
}

/// One provider as exported: everything but secrets and trust decisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortableProvider {
    pub id: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    pub base_url: String,
    pub auth: Auth,
    #[serde(default, skip_serializing_if = "Api::is_default")]
    pub api: Api,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub models: Vec<PortableModel>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub network: NetworkAllowance,
    /// Plain headers with their values; secret ones by name only
    /// (`secret: true`, no value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<PortableHeader>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// The proxy's user name; its password is not exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_username: Option<String>,
}

fn yes() -> bool {
    true
}

/// One model as exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortableModel {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    #[serde(default, skip_serializing_if = "is_default_metadata")]
    pub metadata: ModelMetadata,
}

fn is_default_metadata(metadata: &ModelMetadata) -> bool {
    *metadata == ModelMetadata::default()
}

/// One header as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortableHeader {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

impl From<&Provider> for PortableProvider {
    fn from(provider: &Provider) -> Self {
        Self {
            id: provider.id.to_string(),
            label: provider.label.clone(),
            preset: provider.preset.clone(),
            base_url: display(&provider.base_url),
            auth: provider.auth,
            api: provider.api,
            api_version: provider.api_version.clone(),
            models: provider
                .models
                .iter()
                .map(|model| PortableModel {
                    id: model.id.clone(),
                    display_name: model.display_name.clone(),
                    hidden: model.hidden,
                    metadata: model.metadata.clone(),
                })
                .collect(),
            enabled: provider.enabled,
            network: provider.network,
            headers: provider
                .headers
                .iter()
                .map(|header| PortableHeader {
                    name: header.name.clone(),
                    value: header.shown_value(),
                    secret: header.secret,
                })
                .collect(),
            timeout_secs: provider.timeout_secs,
            proxy: provider.proxy.as_ref().map(validation::display_proxy),
            proxy_username: provider.proxy_username.clone(),
        }
    }
}

/// The export of `providers` (all, or those in `only`, in the file's order).
/// An id in `only` that is not a provider is an error naming it.
pub fn export(providers: &[Provider], only: &[ProviderId]) -> Result<ExportDocument> {
    for id in only {
        if !providers.iter().any(|provider| &provider.id == id) {
            return Err(Error::NotFound { id: id.to_string() });
        }
    }
    Ok(ExportDocument {
        format: EXPORT_FORMAT.to_owned(),
        version: EXPORT_VERSION,
        exported_at: OffsetDateTime::now_utc(),
        providers: providers
            .iter()
            .filter(|provider| only.is_empty() || only.contains(&provider.id))
            .map(PortableProvider::from)
            .collect(),
    })
}

/// Where an import's providers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportSource {
    /// A Patchbay export.
    Patchbay,
    /// Zed's `settings.json` (`language_models`).
    Zed,
    /// Continue's `config.yaml` (`models`).
    Continue,
}

/// What a file to import holds: the providers it describes and what was
/// left out of it, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidates {
    pub source: ImportSource,
    pub providers: Vec<PortableProvider>,
    pub skipped: Vec<Skipped>,
}

/// Something in the file that is not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// What it is (`Zed: openai_compatible "Groq" api key`).
    pub what: String,
    pub why: String,
}

fn unreadable(message: impl Into<String>) -> Error {
    Error::invalid("file", message)
}

/// Reads a file to import: a Patchbay export, Zed's settings (JSON with
/// comments and trailing commas) or Continue's `config.yaml`. A newer
/// export version, a corrupt file or anything else is refused with what it
/// is and what was expected.
pub fn read_import(bytes: &[u8]) -> Result<Candidates> {
    if bytes.len() > IMPORT_LIMIT {
        return Err(unreadable(format!(
            "The file is {} KiB; an import reads at most {} KiB. Is it the right file?",
            bytes.len() / 1024,
            IMPORT_LIMIT / 1024
        )));
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(unreadable("The file is not text (UTF-8): choose a Patchbay export (.json), Zed's settings.json or Continue's config.yaml."));
    };
    let text = text.trim_start_matches('\u{feff}');
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        if value.get("format").and_then(serde_json::Value::as_str) == Some(EXPORT_FORMAT) {
            return read_export(value);
        }
    }
    foreign::read(text)
}

fn read_export(value: serde_json::Value) -> Result<Candidates> {
    let version = value.get("version").and_then(serde_json::Value::as_u64);
    match version {
        Some(EXPORT_VERSION) => {}
        Some(newer) if newer > EXPORT_VERSION => {
            return Err(Error::ImportVersion {
                found: newer,
                supported: EXPORT_VERSION,
            })
        }
        _ => {
            return Err(unreadable(
                "This Patchbay export has no valid `version`; it may be damaged. Export it again.",
            ))
        }
    }
    let document: ExportDocument = serde_json::from_value(value).map_err(|error| {
        let message = error.to_string();
        let shown = match message.find(": string \"") {
            Some(position) => format!("{} (value not shown)", &message[..position]),
            None => message,
        };
        unreadable(format!(
            "This Patchbay export is damaged ({shown}); nothing was imported. Export it again."
        ))
    })?;
    Ok(Candidates {
        source: ImportSource::Patchbay,
        providers: document.providers,
        skipped: Vec::new(),
    })
}

/// What to do with an imported provider that collides with one already
/// here (the same id, or the same base URL under another id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    /// Add it beside the existing one, under a new id and label.
    Rename,
    /// Overwrite the existing one (its key and secret header values stay;
    /// they stay bound to the origin they were given for).
    Replace,
    /// Leave the existing one as it is (the default).
    #[default]
    Skip,
}

/// The person's choices for an import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ImportChoices {
    /// For every collision without a choice of its own.
    #[serde(default)]
    pub on_conflict: OnConflict,
    /// Per imported provider (by its id in the file).
    #[serde(default)]
    pub per_item: HashMap<String, OnConflict>,
    /// Imported providers (by their id in the file) the person agreed may
    /// widen what Patchbay reaches (a local or private network allowance,
    /// a proxy, custom headers). Without it such a provider is not imported.
    #[serde(default)]
    pub allow_widening: HashSet<String>,
    /// Imported providers (by their id in the file) not to import at all.
    #[serde(default)]
    pub exclude: HashSet<String>,
}

/// Where an imported provider stands against what is here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Standing {
    /// Nothing here like it.
    New,
    /// The same id, and nothing would change.
    Unchanged,
    /// The same id with other settings (the fields that differ).
    Changes { fields: Vec<String> },
    /// Another provider here has the same base URL.
    SameBaseUrl { with: String },
}

/// What will happen to one imported provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Add,
    Replace,
    Skip,
}

/// One provider of an import, as the preview shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportItem {
    /// Its id in the file (what choices refer to).
    pub source_id: String,
    /// The id it gets here (a new one when renamed), or the one it replaces.
    pub id: String,
    pub label: String,
    pub base_url: String,
    pub models: Vec<String>,
    pub standing: Standing,
    pub action: Action,
    /// Why it is skipped, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// Refused by the egress rules (or otherwise invalid): why; never imported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// What it would let Patchbay reach beyond https to public hosts.
    pub widens: Vec<String>,
    /// Whether the person agreed to `widens`.
    pub widening_allowed: bool,
    /// It needs a key (entered after the import, in Edit or `set-key`).
    pub needs_key: bool,
    /// Other things to enter after the import (a secret header's value, a
    /// proxy password).
    pub needs: Vec<String>,
}

/// The plan of an import: every item and what was left out of the file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportPlan {
    pub source: ImportSource,
    pub items: Vec<ImportItem>,
    pub skipped: Vec<Skipped>,
    /// How many providers will be added, replaced, skipped.
    pub adds: usize,
    pub replaces: usize,
    pub skips: usize,
}

/// One write of an applied plan.
#[derive(Debug, Clone)]
pub(crate) struct PlannedWrite {
    pub(crate) provider: Provider,
    /// `Some(id)`: replaces that provider; `None`: appended.
    pub(crate) replaces: Option<ProviderId>,
}

/// What the widening consent covers for `provider`.
/// What importing `provider` would let Patchbay reach beyond https to
/// public hosts — compared with `replacing`, the provider it would
/// replace, so keeping what is already allowed needs no new yes.
fn widening(provider: &PortableProvider, replacing: Option<&Provider>) -> Vec<String> {
    let rank = |network: NetworkAllowance| match network {
        NetworkAllowance::Remote => 0,
        NetworkAllowance::Local => 1,
        NetworkAllowance::Private => 2,
    };
    let mut widens = Vec::new();
    let allowed_before = replacing.map_or(0, |existing| rank(existing.network));
    if rank(provider.network) > allowed_before {
        widens.push(match provider.network {
            NetworkAllowance::Private => {
                "your local network (network: private, plain http allowed)".to_owned()
            }
            _ => "this computer (network: local, plain http allowed)".to_owned(),
        });
    }
    if let Some(proxy) = &provider.proxy {
        let same = replacing
            .and_then(|existing| existing.proxy.as_ref())
            .is_some_and(|existing| validation::display_proxy(existing) == *proxy);
        if !same {
            widens.push(format!("a proxy: {proxy}"));
        }
    }
    // Secret headers come without their value and are not imported; the
    // ones the replaced provider already sends need no new yes.
    let headers: Vec<&str> = provider
        .headers
        .iter()
        .filter(|header| !header.secret && header.value.is_some())
        .filter(|header| {
            !replacing.is_some_and(|existing| {
                existing.headers.iter().any(|known| {
                    known.name.eq_ignore_ascii_case(&header.name) && known.value == header.value
                })
            })
        })
        .map(|header| header.name.as_str())
        .collect();
    if !headers.is_empty() {
        widens.push(format!("custom headers: {}", headers.join(", ")));
    }
    widens
}

/// The draft an imported provider is checked as: no key (it is entered
/// after the import), no secret header values, no proxy password.
fn draft_of(provider: &PortableProvider, label: &str) -> (ProviderDraft, Vec<String>) {
    let mut needs = Vec::new();
    let headers = provider
        .headers
        .iter()
        .filter_map(|header| {
            if header.secret || header.value.is_none() {
                needs.push(format!("the value of the secret header {}", header.name));
                return None;
            }
            Some(HeaderDraft {
                name: header.name.clone(),
                value: header.value.clone().map(crate::secret::ApiKey::new),
                secret: false,
            })
        })
        .collect();
    if let Some(user) = &provider.proxy_username {
        needs.push(format!(
            "the proxy password of {user} (then set the proxy user again)"
        ));
    }
    let draft = ProviderDraft {
        label: label.to_owned(),
        preset: provider.preset.clone(),
        base_url: provider.base_url.clone(),
        // Checked as "no authentication": the key comes after the import.
        auth: Auth::None,
        key: KeyChange::Keep,
        models: provider
            .models
            .iter()
            .map(|model| model.id.clone())
            .collect(),
        enabled: provider.enabled,
        network: provider.network,
        headers,
        timeout_secs: provider.timeout_secs,
        proxy: provider.proxy.clone(),
        proxy_username: None,
        proxy_password: KeyChange::Keep,
        ca_certificate: None,
        api: provider.api,
        api_version: provider.api_version.clone(),
        move_key: false,
    };
    (draft, needs)
}

/// The provider `portable` becomes under `id`, from its checked draft.
fn provider_of(
    portable: &PortableProvider,
    validated: ValidatedDraft,
    id: ProviderId,
    replacing: Option<&Provider>,
) -> Provider {
    let now = OffsetDateTime::now_utc();
    let imported_models: HashMap<&str, &PortableModel> = portable
        .models
        .iter()
        .map(|model| (model.id.as_str(), model))
        .collect();
    let models = validated
        .models
        .into_iter()
        .map(|model_id| {
            let portable = imported_models.get(model_id.as_str());
            let kept = replacing
                .and_then(|existing| existing.models.iter().find(|model| model.id == model_id));
            ModelEntry {
                display_name: portable.and_then(|model| model.display_name.clone()),
                hidden: portable.is_some_and(|model| model.hidden),
                metadata: portable
                    .map(|model| model.metadata.clone())
                    .unwrap_or_default(),
                probed: kept.and_then(|model| model.probed.clone()),
                ..ModelEntry::new(model_id)
            }
        })
        .collect();
    let headers = validated
        .transport
        .headers
        .iter()
        .map(|header| crate::model::CustomHeader {
            name: header.name.clone(),
            value: header.value.as_ref().map(|value| value.expose().to_owned()),
            secret: false,
            hint: None,
        })
        .chain(
            // A replaced provider keeps its secret headers (their values
            // stay in the keychain, bound to their origin).
            replacing.into_iter().flat_map(|existing| {
                existing
                    .headers
                    .iter()
                    .filter(|header| header.secret)
                    .cloned()
            }),
        )
        .collect();
    Provider {
        id,
        label: validated.label,
        preset: validated.preset,
        auth: portable.auth,
        key_hint: replacing.and_then(|existing| existing.key_hint.clone()),
        key_origin: replacing.and_then(|existing| existing.key_origin.clone()),
        models,
        enabled: validated.enabled,
        network: validated.network,
        headers,
        timeout_secs: validated.timeout_secs,
        trusted_cert_sha256: None,
        proxy: validated.transport.proxy,
        proxy_username: None,
        ca_certificate: replacing.and_then(|existing| existing.ca_certificate.clone()),
        api: validated.api,
        api_version: validated.api_version,
        last_test: None,
        untested_since: None,
        catalog: replacing.and_then(|existing| existing.catalog.clone()),
        created_at: replacing.map_or(now, |existing| existing.created_at),
        updated_at: now,
        base_url: validated.base_url,
    }
}

/// The fields of `existing` an import of `portable` would change.
fn differences(existing: &Provider, portable: &PortableProvider) -> Vec<String> {
    let current = PortableProvider::from(existing);
    let mut fields = Vec::new();
    let mut note = |name: &str, differs: bool| {
        if differs {
            fields.push(name.to_owned());
        }
    };
    note("label", current.label != portable.label);
    note(
        "base_url",
        current.base_url.trim_end_matches('/') != portable.base_url.trim_end_matches('/'),
    );
    note("auth", current.auth != portable.auth);
    note(
        "api",
        current.api != portable.api || current.api_version != portable.api_version,
    );
    note("models", current.models != portable.models);
    note("enabled", current.enabled != portable.enabled);
    note("network", current.network != portable.network);
    note("headers", current.headers != portable.headers);
    note(
        "timeout_secs",
        current.timeout_secs != portable.timeout_secs,
    );
    note(
        "proxy",
        current.proxy != portable.proxy || current.proxy_username != portable.proxy_username,
    );
    fields
}

fn problems_text(problems: &[FieldError]) -> String {
    problems
        .iter()
        .map(|problem| format!("{}: {}", problem.field, problem.message))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A label not taken here (ignoring case): `label`, else `label (imported)`,
/// `label (imported 2)`, …
fn free_label(label: &str, taken: &HashSet<String>) -> String {
    if !taken.contains(&label.to_lowercase()) {
        return label.to_owned();
    }
    (1..)
        .map(|n| {
            let suffix = if n == 1 {
                " (imported)".to_owned()
            } else {
                format!(" (imported {n})")
            };
            let room = 64 - suffix.chars().count();
            format!("{}{suffix}", label.chars().take(room).collect::<String>())
        })
        .find(|candidate| !taken.contains(&candidate.to_lowercase()))
        .unwrap_or_else(|| label.to_owned())
}

/// Plans the import of `candidates` into `existing` (the providers here)
/// with `choices`; `taken` is every id in the file, also of entries that
/// could not be read. Nothing is written; [`ImportPlan`] is what the
/// preview shows, and the writes are what applying it does.
pub(crate) fn plan(
    candidates: &Candidates,
    existing: &[Provider],
    taken: &[ProviderId],
    choices: &ImportChoices,
) -> (ImportPlan, Vec<PlannedWrite>) {
    let mut taken_ids: Vec<ProviderId> = taken.to_vec();
    let mut taken_labels: HashSet<String> = existing
        .iter()
        .map(|provider| provider.label.to_lowercase())
        .collect();
    // Providers as they will be, for the label and duplicate checks of the
    // ones after.
    let mut after: Vec<Provider> = existing.to_vec();
    let mut items = Vec::new();
    let mut writes = Vec::new();
    let mut seen_sources: HashSet<String> = HashSet::new();
    for portable in &candidates.providers {
        let by_id = existing
            .iter()
            .find(|provider| provider.id.as_str() == portable.id);
        let origin_and_path =
            |provider: &Provider| display(&provider.base_url).trim_end_matches('/').to_owned();
        let same_url = existing.iter().find(|provider| {
            Some(provider.id.as_str()) != by_id.map(|found| found.id.as_str())
                && origin_and_path(provider) == portable.base_url.trim_end_matches('/')
        });
        let standing = match (by_id, same_url) {
            (Some(found), _) => {
                let fields = differences(found, portable);
                if fields.is_empty() {
                    Standing::Unchanged
                } else {
                    Standing::Changes { fields }
                }
            }
            (None, Some(other)) => Standing::SameBaseUrl {
                with: other.id.to_string(),
            },
            (None, None) => Standing::New,
        };
        let conflict = choices
            .per_item
            .get(&portable.id)
            .copied()
            .unwrap_or(choices.on_conflict);
        let widens = widening(portable, None);
        let widening_allowed = widens.is_empty() || choices.allow_widening.contains(&portable.id);
        let mut item = ImportItem {
            source_id: portable.id.clone(),
            id: portable.id.clone(),
            label: portable.label.clone(),
            base_url: portable.base_url.clone(),
            models: portable
                .models
                .iter()
                .map(|model| model.id.clone())
                .collect(),
            standing: standing.clone(),
            action: Action::Skip,
            skip_reason: None,
            refused: None,
            widens,
            widening_allowed,
            needs_key: portable.auth == Auth::ApiKey,
            needs: Vec::new(),
        };
        if !seen_sources.insert(portable.id.clone()) {
            item.skip_reason =
                Some("the file lists this id twice; the first one is used".to_owned());
            items.push(item);
            continue;
        }
        if choices.exclude.contains(&portable.id) {
            item.skip_reason = Some("left out".to_owned());
            items.push(item);
            continue;
        }
        // What to do with it, before checking it.
        let target: Option<(Option<&Provider>, bool)> = match (&standing, conflict) {
            (Standing::Unchanged, _) => {
                item.skip_reason = Some("already here, the same".to_owned());
                None
            }
            (Standing::New, _) => Some((None, false)),
            (Standing::Changes { .. }, OnConflict::Replace) => Some((by_id, false)),
            (Standing::SameBaseUrl { .. }, OnConflict::Replace) => Some((same_url, false)),
            (_, OnConflict::Rename) => Some((None, true)),
            (Standing::Changes { .. }, OnConflict::Skip) => {
                item.skip_reason = Some(format!(
                    "a provider with the id `{}` is already here (choose replace or rename)",
                    portable.id
                ));
                None
            }
            (Standing::SameBaseUrl { with }, OnConflict::Skip) => {
                item.skip_reason = Some(format!(
                    "`{with}` already uses this base URL (choose replace or rename)"
                ));
                None
            }
        };
        let Some((replacing, rename)) = target else {
            items.push(item);
            continue;
        };
        let label = match replacing {
            Some(existing) if existing.label.eq_ignore_ascii_case(&portable.label) => {
                portable.label.clone()
            }
            _ => free_label(&portable.label, &taken_labels),
        };
        let (draft, needs) = draft_of(portable, &label);
        item.needs = needs;
        let others: Vec<Provider> = after
            .iter()
            .filter(|provider| Some(&provider.id) != replacing.map(|existing| &existing.id))
            .cloned()
            .collect();
        let validated = match validation::validate(&draft, &others, replacing) {
            Ok(validated) => validated,
            Err(Error::Invalid(problems)) => {
                let egress = problems.iter().any(|problem| problem.field == "base_url");
                item.refused = Some(if egress {
                    let messages: Vec<&str> = problems
                        .iter()
                        .map(|problem| problem.message.as_str())
                        .collect();
                    format!("refused: {}", messages.join(" "))
                } else {
                    problems_text(&problems)
                });
                items.push(item);
                continue;
            }
            Err(other) => {
                item.refused = Some(other.to_string());
                items.push(item);
                continue;
            }
        };
        // Against what it replaces: keeping an allowance is no widening.
        item.widens = widening(portable, replacing);
        item.widening_allowed =
            item.widens.is_empty() || choices.allow_widening.contains(&portable.id);
        // Checked after the rules, so a refused URL shows as refused
        // whatever the yes.
        if !item.widening_allowed {
            item.skip_reason =
                Some("it widens what Patchbay may reach and you did not agree to that".to_owned());
            items.push(item);
            continue;
        }
        let id = match replacing {
            Some(existing) => existing.id.clone(),
            None => match ProviderId::parse(&portable.id) {
                Ok(id) if !rename && !taken_ids.contains(&id) => id,
                _ => ProviderId::generate(&label, &taken_ids),
            },
        };
        let provider = provider_of(portable, validated, id.clone(), replacing);
        if replacing.is_some() && provider.key_hint.is_some() {
            item.needs_key = false;
        }
        if let Some(existing) = replacing {
            if existing.key_hint.is_some()
                && origin_of(&existing.base_url) != origin_of(&provider.base_url)
            {
                item.needs.push(format!(
                    "a yes to send the stored key (given for {}) to the new base URL",
                    origin_of(&existing.base_url)
                ));
            }
        }
        item.id = id.to_string();
        item.label = provider.label.clone();
        item.action = if replacing.is_some() {
            Action::Replace
        } else {
            Action::Add
        };
        taken_ids.push(id.clone());
        taken_labels.insert(provider.label.to_lowercase());
        match replacing {
            Some(existing) => {
                if let Some(slot) = after.iter_mut().find(|provider| provider.id == existing.id) {
                    *slot = provider.clone();
                }
            }
            None => after.push(provider.clone()),
        }
        writes.push(PlannedWrite {
            provider,
            replaces: replacing.map(|existing| existing.id.clone()),
        });
        items.push(item);
    }
    let count = |action: Action| items.iter().filter(|item| item.action == action).count();
    let plan = ImportPlan {
        source: candidates.source,
        adds: count(Action::Add),
        replaces: count(Action::Replace),
        skips: count(Action::Skip),
        items,
        skipped: candidates.skipped.clone(),
    };
    (plan, writes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn portable(id: &str, base_url: &str) -> PortableProvider {
        PortableProvider {
            id: id.to_owned(),
            label: id.to_uppercase(),
            preset: None,
            base_url: base_url.to_owned(),
            auth: Auth::ApiKey,
            api: Api::Openai,
            api_version: None,
            models: vec![PortableModel {
                id: "m".into(),
                display_name: Some("Em".into()),
                hidden: false,
                metadata: ModelMetadata::default(),
            }],
            enabled: true,
            network: NetworkAllowance::Remote,
            headers: Vec::new(),
            timeout_secs: None,
            proxy: None,
            proxy_username: None,
        }
    }

    fn candidates(providers: Vec<PortableProvider>) -> Candidates {
        Candidates {
            source: ImportSource::Patchbay,
            providers,
            skipped: Vec::new(),
        }
    }

    #[test]
    fn a_new_provider_is_added_under_its_own_id_needing_a_key() {
        let (plan, writes) = plan(
            &candidates(vec![portable("groq", "https://api.groq.com/openai/v1")]),
            &[],
            &[],
            &ImportChoices::default(),
        );
        assert_eq!(plan.adds, 1);
        let item = &plan.items[0];
        assert_eq!(
            (item.id.as_str(), &item.standing, &item.action),
            ("groq", &Standing::New, &Action::Add)
        );
        assert!(item.needs_key);
        assert_eq!(writes[0].provider.auth, Auth::ApiKey);
        assert_eq!(writes[0].provider.key_hint, None);
        assert_eq!(
            writes[0].provider.models[0].display_name.as_deref(),
            Some("Em")
        );
    }

    #[test]
    fn widening_needs_a_yes_per_provider_and_refused_urls_are_never_imported() {
        let mut local = portable("box", "http://127.0.0.1:8000/v1");
        local.network = NetworkAllowance::Local;
        let metadata = portable("meta", "http://169.254.169.254/v1");
        let mut plain_http = portable("plain", "http://api.example.com/v1");
        plain_http.network = NetworkAllowance::Remote;
        let providers = vec![local, metadata, plain_http];
        let (plan_without, writes) = plan(
            &candidates(providers.clone()),
            &[],
            &[],
            &ImportChoices::default(),
        );
        assert!(writes.is_empty(), "{plan_without:#?}");
        assert!(plan_without.items[0]
            .skip_reason
            .as_deref()
            .unwrap_or("")
            .contains("did not agree"));
        assert!(plan_without.items[0].widens[0].contains("this computer"));
        assert!(plan_without.items[2]
            .refused
            .as_deref()
            .unwrap_or("")
            .starts_with("refused"));
        let choices = ImportChoices {
            allow_widening: ["box".to_owned(), "meta".to_owned()].into(),
            ..ImportChoices::default()
        };
        let (plan_with, writes) = plan(&candidates(providers), &[], &[], &choices);
        assert_eq!(writes.len(), 1);
        assert_eq!(plan_with.items[0].action, Action::Add);
        assert!(
            plan_with.items[1].refused.is_some(),
            "metadata stays refused: {:#?}",
            plan_with.items[1]
        );
    }

    #[test]
    fn free_labels_count_up() {
        let taken: HashSet<String> = ["groq".into(), "groq (imported)".into()].into();
        assert_eq!(free_label("Groq", &taken), "Groq (imported 2)");
        assert_eq!(free_label("Other", &taken), "Other");
    }
}
