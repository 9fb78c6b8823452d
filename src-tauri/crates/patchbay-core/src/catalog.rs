//! The discovered model catalog of a provider and the rules of a refresh:
//! a successful refresh replaces the list and re-marks the chosen models
//! that disappeared upstream ([`merge_refresh`]); a failed one keeps the last
//! good list and marks it stale with a safe reason ([`record_failure`]).
//!
//! These rules live here, not in `patchbay-net`, because the store applies
//! them inside its locked read-modify-write of the config file and core
//! cannot depend on the network crate; `patchbay_net::merge_refresh` calls
//! [`merge_refresh`].

use std::collections::HashMap;

use time::OffsetDateTime;

pub use patchbay_protocol::config::Catalog;

use crate::model::{ModelEntry, ModelMetadata};

/// Longest `last_error` kept, in characters: enough for one sentence of a
/// failure, short enough that a surprising message cannot bloat the file.
pub const LAST_ERROR_LIMIT: usize = 300;

/// A summary of a [`Catalog`] for lists (`providers.list`, the UI's list,
/// `provider show --json`): the full model list can be thousands of entries,
/// so it is only returned by the calls that need it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CatalogSummary {
    pub count: usize,
    #[serde(with = "time::serde::rfc3339::option")]
    pub fetched_at: Option<OffsetDateTime>,
    pub stale: bool,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub last_attempt_at: OffsetDateTime,
}

impl From<&Catalog> for CatalogSummary {
    fn from(catalog: &Catalog) -> Self {
        Self {
            count: catalog.models.len(),
            fetched_at: catalog.fetched_at,
            stale: catalog.stale,
            last_error: catalog.last_error.clone(),
            last_attempt_at: catalog.last_attempt_at,
        }
    }
}

/// Applies a refresh to the models a user chose: each keeps its place; one
/// the server still lists gets the fresh metadata (when the server published
/// any) and loses `missing_upstream`; one it no longer lists keeps its
/// metadata and is marked `missing_upstream`, so the UI can say so instead of
/// silently dropping or keeping it. Newly listed models are not added:
/// choosing is the user's.
pub fn merge_refresh(chosen: &[ModelEntry], listed: &[ModelEntry]) -> Vec<ModelEntry> {
    let by_id: HashMap<&str, &ModelEntry> = listed
        .iter()
        .map(|model| (model.id.as_str(), model))
        .collect();
    chosen
        .iter()
        .map(|entry| match by_id.get(entry.id.as_str()) {
            Some(found) => ModelEntry {
                metadata: if found.metadata == ModelMetadata::default() {
                    entry.metadata.clone()
                } else {
                    found.metadata.clone()
                },
                missing_upstream: false,
                ..entry.clone()
            },
            None => ModelEntry {
                missing_upstream: true,
                ..entry.clone()
            },
        })
        .collect()
}

/// The catalog after a successful refresh at `now`.
pub fn record_success(listed: Vec<ModelEntry>, now: OffsetDateTime) -> Catalog {
    let models = listed
        .into_iter()
        .map(|model| ModelEntry {
            missing_upstream: false,
            ..model
        })
        .collect();
    Catalog {
        fetched_at: Some(now),
        models,
        stale: false,
        last_error: None,
        last_attempt_at: now,
    }
}

/// The catalog after a failed refresh at `now`: the last good list and when
/// it was fetched stay; it is marked stale with `reason` (cut to
/// [`LAST_ERROR_LIMIT`], control characters replaced).
pub fn record_failure(previous: Option<Catalog>, reason: &str, now: OffsetDateTime) -> Catalog {
    let mut cleaned: String = reason
        .chars()
        .map(|character| {
            if character.is_control() {
                ' '
            } else {
                character
            }
        })
        .take(LAST_ERROR_LIMIT)
        .collect();
    if reason.chars().count() > LAST_ERROR_LIMIT {
        cleaned.push('…');
    }
    let (fetched_at, models) = match previous {
        Some(catalog) => (catalog.fetched_at, catalog.models),
        None => (None, Vec::new()),
    };
    Catalog {
        fetched_at,
        models,
        stale: true,
        last_error: Some(cleaned),
        last_attempt_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn entry(id: &str, context: Option<u64>, missing: bool) -> ModelEntry {
        ModelEntry {
            id: id.to_owned(),
            metadata: ModelMetadata {
                context_window: context,
                ..ModelMetadata::default()
            },
            missing_upstream: missing,
            ..ModelEntry::new(id)
        }
    }

    #[test]
    fn a_refresh_keeps_the_persons_display_name_and_hidden_flag() {
        let mut chosen = entry("kept", None, false);
        chosen.display_name = Some("Mine".to_owned());
        chosen.hidden = true;
        let listed = [entry("kept", Some(8192), false)];
        let merged = merge_refresh(&[chosen.clone()], &listed);
        assert_eq!(merged[0].display_name.as_deref(), Some("Mine"));
        assert!(merged[0].hidden);
        assert_eq!(merged[0].metadata.context_window, Some(8192));
        let gone = merge_refresh(&[chosen], &[]);
        assert!(gone[0].missing_upstream && gone[0].hidden);
        assert_eq!(gone[0].display_name.as_deref(), Some("Mine"));
    }

    #[test]
    fn merge_marks_missing_and_refreshes_metadata() {
        let chosen = [
            entry("kept", Some(1), true),
            entry("gone", Some(2), false),
            entry("bare", Some(3), false),
        ];
        let listed = [
            entry("kept", Some(100), false),
            entry("bare", None, false),
            entry("new", None, false),
        ];
        let merged = merge_refresh(&chosen, &listed);
        let summary: Vec<(&str, bool, Option<u64>)> = merged
            .iter()
            .map(|model| {
                (
                    model.id.as_str(),
                    model.missing_upstream,
                    model.metadata.context_window,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("kept", false, Some(100)),
                ("gone", true, Some(2)),
                ("bare", false, Some(3))
            ]
        );
    }

    #[test]
    fn failure_keeps_the_last_good_list_and_cuts_the_reason() {
        let first = record_success(
            vec![entry("a", None, true)],
            datetime!(2026-03-01 10:00 UTC),
        );
        assert!(
            !first.models[0].missing_upstream,
            "the catalog itself never marks missing"
        );
        let failed = record_failure(
            Some(first.clone()),
            &format!("bad\nnews {}", "x".repeat(400)),
            datetime!(2026-03-02 10:00 UTC),
        );
        assert_eq!(failed.models, first.models);
        assert_eq!(failed.fetched_at, first.fetched_at);
        assert!(failed.stale);
        assert_eq!(failed.last_attempt_at, datetime!(2026-03-02 10:00 UTC));
        let reason = failed.last_error.unwrap_or_default();
        assert!(reason.starts_with("bad news"), "{reason}");
        assert_eq!(reason.chars().count(), LAST_ERROR_LIMIT + 1);
        let never = record_failure(None, "offline", datetime!(2026-03-02 10:00 UTC));
        assert_eq!(
            (never.fetched_at, never.models.len(), never.stale),
            (None, 0, true)
        );
    }
}
