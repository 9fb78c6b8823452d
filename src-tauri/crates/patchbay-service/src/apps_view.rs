//! "What apps see": exactly the entries host apps receive (the same
//! [`Service::entries`] the IPC server and the gateway serve), each with
//! the paired apps that used it last — through the gateway (its activity
//! log) or by resolving it over IPC (the resolve log).

use std::collections::HashMap;

use patchbay_core::entries::PickerEntry;
use patchbay_protocol::rpc::ResolveRecord;
use serde::Serialize;
use time::OffsetDateTime;

use crate::hosts::ActivityLog;
use crate::{Result, Service};

/// One entry as host apps receive it, and who used it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeenEntry {
    #[serde(flatten)]
    pub entry: PickerEntry,
    /// The apps that used it, most recent first, one line per app.
    pub used_by: Vec<EntryUse>,
}

/// The last use of an entry by one app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryUse {
    pub app_id: String,
    pub app_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `gateway` (a request through it) or `resolve` (`entries.resolve`).
    pub via: &'static str,
}

impl Service {
    /// The entries host apps receive, in their order, each with the apps
    /// that used it last (`resolves`: the registry's resolve log).
    /// Blocking (reads the config and the activity log).
    pub fn what_apps_see(&self, resolves: &[ResolveRecord]) -> Result<Vec<SeenEntry>> {
        let entries = self.entries()?;
        let activity = match ActivityLog::read(&self.store().paths().dir) {
            Ok(records) => records,
            Err(error) => {
                tracing::warn!(%error, "could not read the gateway activity for What apps see");
                Vec::new()
            }
        };
        let mut last: HashMap<(&str, &str), EntryUse> = HashMap::new();
        let uses = activity
            .iter()
            .filter_map(|record| {
                let entry = record.entry_id.as_deref()?;
                Some((
                    entry,
                    &record.app_id,
                    &record.app_name,
                    record.at,
                    "gateway",
                ))
            })
            .chain(resolves.iter().map(|record| {
                (
                    record.entry_id.as_str(),
                    &record.app_id,
                    &record.app_name,
                    record.at,
                    "resolve",
                )
            }));
        for (entry, app_id, app_name, at, via) in uses {
            let newer = last
                .get(&(entry, app_id.as_str()))
                .is_none_or(|known| known.at < at);
            if newer {
                last.insert(
                    (entry, app_id.as_str()),
                    EntryUse {
                        app_id: app_id.clone(),
                        app_name: app_name.clone(),
                        at,
                        via,
                    },
                );
            }
        }
        let mut by_entry: HashMap<&str, Vec<EntryUse>> = HashMap::new();
        for ((entry, _), found) in last {
            by_entry.entry(entry).or_default().push(found);
        }
        Ok(entries
            .into_iter()
            .map(|entry| {
                let mut used_by = by_entry.remove(entry.id.as_str()).unwrap_or_default();
                used_by.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.app_id.cmp(&b.app_id)));
                SeenEntry { entry, used_by }
            })
            .collect())
    }
}
