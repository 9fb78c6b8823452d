// "Check with the server" in a provider's Models card: refreshes the
// server's model list in Rust, which marks chosen models the server no
// longer lists (the chips then say so) and, when the refresh fails, hands
// back the last good list marked stale with when it was fetched.

import { call } from './api.js';
import { $, relativeTime, formatDate, toast } from './dom.js';

const wiring = {
  selectedId: () => null,
  onUpdated: () => {},
};
/** provider id → the last catalog answer this session, for the status line. */
const lastChecked = new Map();
let inFlight = null;

function statusText(catalog) {
  const count = catalog.models.length;
  const listed = `${count} model${count === 1 ? '' : 's'}`;
  const gone = (catalog.provider.models ?? []).filter((model) => model.missing_upstream).length;
  const goneText = gone === 0 ? '' : ` ${gone} chosen model${gone === 1 ? ' is' : 's are'} no longer listed.`;
  if (catalog.stale) {
    return `Could not refresh: ${catalog.error?.message ?? 'the server did not answer'} ` +
      `Showing the list fetched ${relativeTime(catalog.fetched_at)} (${listed}, may be out of date).${goneText}`;
  }
  return `The server lists ${listed} (checked ${relativeTime(catalog.fetched_at)}).${goneText}`;
}

function renderStatus(providerId) {
  const status = $('#refresh-models-status');
  const catalog = lastChecked.get(providerId);
  status.textContent = catalog ? statusText(catalog) : '';
  status.title = catalog ? `Fetched ${formatDate(catalog.fetched_at)}` : '';
  status.dataset.stale = catalog?.stale ? 'true' : 'false';
  const button = $('#refresh-models');
  button.disabled = inFlight === providerId;
  button.textContent = inFlight === providerId ? 'Checking…' : 'Check with the server';
}

async function refresh() {
  const id = wiring.selectedId();
  if (!id || inFlight) return;
  inFlight = id;
  renderStatus(id);
  try {
    const catalog = await call('refresh_models', { id });
    lastChecked.set(id, catalog);
    wiring.onUpdated(catalog.provider);
  } catch (error) {
    toast(`Could not fetch the models: ${error.message}`, { error: true });
  } finally {
    inFlight = null;
    if (wiring.selectedId() === id) renderStatus(id);
  }
}

/** Called whenever the details of `provider` are shown. */
export function modelsShown(provider) {
  renderStatus(provider.id);
}

export function initModels({ selectedId, onUpdated }) {
  wiring.selectedId = selectedId;
  wiring.onUpdated = onUpdated;
  $('#refresh-models').addEventListener('click', refresh);
}
