//! The person's curation of the catalog: a provider's place in the order
//! (the one order the window, `patchbay entries`, the IPC entries, the
//! gateway's model list and hosts reading the file all follow) and
//! one-at-a-time changes to a provider's models. Blocking: callers on an
//! async runtime run these on its blocking pool.

use patchbay_core::curation::{ModelChange, Placement};
use patchbay_core::{Provider, ProviderId};

use crate::{Result, Service};

impl Service {
    /// Moves provider `id` before another one or to a position (from 0).
    /// Returns every provider in the new order.
    pub fn move_provider(&self, id: &ProviderId, placement: Placement) -> Result<Vec<Provider>> {
        Ok(self.store().move_provider(id, placement)?)
    }

    /// Adds, removes, hides, shows, renames or moves one model of provider
    /// `id`.
    pub fn change_model(&self, id: &ProviderId, change: ModelChange) -> Result<Provider> {
        Ok(self.store().change_model(id, change)?)
    }
}
