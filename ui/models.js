// "Check with the server" in a provider's Models card: refreshes the
// server's model list in Rust, which stores it as the provider's catalog and
// marks chosen models the server no longer lists (the chips then say so);
// when the refresh fails the stored last good list is kept, marked stale
// with when it was fetched and why.

import { api } from './api.js';
import { $, relativeTime, formatDate, toast } from './dom.js';
import { state } from './state.js';

/** What the page does with a provider the refresh changed. */
const wiring = { onUpdated: () => {} };
/** This view's part of the state. */
const models = state.models;

// The status comes from the catalog stored in the shared config (the
// view's `catalog` summary), so it survives restarts and shows refreshes
// made by the CLI: "Fetched …", or "Stale — last refresh failed: …".
function statusText(catalog, gone) {
  if (!catalog) return '';
  const listed = `${catalog.count} model${catalog.count === 1 ? '' : 's'}`;
  const goneText = gone === 0 ? '' : ` ${gone} chosen model${gone === 1 ? ' is' : 's are'} no longer listed.`;
  if (catalog.stale) {
    const kept = catalog.fetched_at
      ? ` Showing the list fetched ${relativeTime(catalog.fetched_at)} (${listed}, may be out of date).`
      : ' No list has been fetched yet.';
    return `Stale — last refresh failed ${relativeTime(catalog.last_attempt_at)}: ${catalog.last_error ?? 'the server did not answer'}${kept}${goneText}`;
  }
  return `Fetched ${relativeTime(catalog.fetched_at)}. The server lists ${listed}.${goneText}`;
}

function renderStatus(providerId) {
  const status = $('#refresh-models-status');
  const catalog = models.shownCatalog.get(providerId);
  status.textContent = statusText(catalog, models.goneCount.get(providerId) ?? 0);
  status.title = catalog?.fetched_at ? `Fetched ${formatDate(catalog.fetched_at)}` : '';
  status.dataset.stale = catalog?.stale ? 'true' : 'false';
  const button = $('#refresh-models');
  button.disabled = models.inFlight === providerId;
  button.textContent = models.inFlight === providerId ? 'Checking…' : 'Check with the server';
}

function remember(provider) {
  models.shownCatalog.set(provider.id, provider.catalog ?? null);
  models.goneCount.set(provider.id, (provider.models ?? []).filter((model) => model.missing_upstream).length);
}

async function refresh() {
  const id = state.selectedId;
  if (!id || models.inFlight) return;
  models.inFlight = id;
  renderStatus(id);
  try {
    const catalog = await api.refreshModels(id);
    remember(catalog.provider);
    wiring.onUpdated(catalog.provider);
  } catch (error) {
    toast(`Could not fetch the models: ${error.message}`, { error: true });
    // A failed first refresh is recorded too (stale, with its reason).
    try {
      const provider = await api.getProvider(id);
      remember(provider);
      wiring.onUpdated(provider);
    } catch (reload) {
      console.warn('could not reload the provider after a failed refresh', reload);
    }
  } finally {
    models.inFlight = null;
    if (state.selectedId === id) renderStatus(id);
  }
}

/** Called whenever the details of `provider` are shown. */
export function modelsShown(provider) {
  remember(provider);
  renderStatus(provider.id);
}

export function initModels({ onUpdated }) {
  wiring.onUpdated = onUpdated;
  $('#refresh-models').addEventListener('click', refresh);
}
