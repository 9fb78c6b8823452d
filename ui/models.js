// A provider's Models card: the chosen models one at a time (add, remove,
// hide from apps, show, rename, move up or down; Rust checks and stores each
// change) and "Check with the server", which refreshes the server's model
// list in Rust, stores it as the provider's catalog and marks chosen models
// the server no longer lists; when the refresh fails the stored last good
// list is kept, marked stale with when it was fetched and why.

import { api, newTestId } from './api.js';
import { $, h, relativeTime, formatDate, toast, describeError, confirmDialog } from './dom.js';
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

// ── The chosen models ──────────────────────────────────────────────────

/**
 * The model whose name is being edited: {key: `${providerId}\n${modelId}`,
 * value typed so far, focused: whether the input had its first focus}.
 */
let renaming = null;

async function change(provider, change, { focus } = {}) {
  try {
    const updated = await api.changeModel(provider.id, change);
    wiring.onUpdated(updated);
    if (focus) $(focus)?.focus();
    return true;
  } catch (error) {
    toast(describeError(error), { error: true });
    return false;
  }
}

function nameOf(model) {
  return model.display_name ?? model.metadata?.name ?? model.id;
}

function renameRow(provider, model, slug) {
  const key = `${provider.id}\n${model.id}`;
  const input = h('input', {
    class: 'input input-inline', value: renaming?.value ?? model.display_name ?? '', placeholder: model.metadata?.name ?? model.id,
    'aria-label': `Display name for ${model.id}`, 'data-testid': `model-name-input-${slug}`, maxlength: '80',
  });
  // What is typed survives a re-render (a change made elsewhere).
  input.addEventListener('input', () => { if (renaming?.key === key) renaming.value = input.value; });
  const finish = async (save) => {
    const typed = input.value;
    renaming = null;
    if (save) {
      const ok = await change(provider, { action: 'rename', model: model.id, displayName: typed });
      if (!ok) {
        renaming = { key, value: typed, focused: false };
        wiring.onUpdated(provider);
        return;
      }
    } else {
      wiring.onUpdated(provider);
    }
    $(`[data-testid="model-rename-${slug}"]`)?.focus();
  };
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') { event.preventDefault(); finish(true); }
    if (event.key === 'Escape') { event.preventDefault(); event.stopPropagation(); finish(false); }
  });
  if (renaming && !renaming.focused) {
    renaming.focused = true;
    queueMicrotask(() => { input.focus(); input.select(); });
  }
  return h('span', { class: 'model-rename' }, input,
    h('button', { type: 'button', class: 'button button-small button-primary', 'data-testid': `model-name-save-${slug}`, onclick: () => finish(true) }, 'Save'),
    h('button', { type: 'button', class: 'button button-small button-quiet', onclick: () => finish(false) }, 'Cancel'));
}

const CAPABILITIES = [
  ['streaming', 'Streaming'], ['tools', 'Tools'], ['image_input', 'Images'], ['json_output', 'JSON'],
];

/** Where a capability's value comes from, for its badge's tooltip. */
function sourceText(known) {
  const failed = known.probe_failed ? ` (the last check could not tell: ${known.probe_failed.replace(/_/g, ' ')})` : '';
  if (known.source === 'probed') return `Checked ${relativeTime(known.at)}${failed}`;
  if (known.source === 'advertised') return `Advertised by the model list${failed}`;
  return `Unknown${failed}`;
}

function capabilityBadges(model, slug) {
  const capabilities = model.capabilities;
  if (!capabilities) return [];
  return CAPABILITIES.flatMap(([key, label]) => {
    const known = capabilities[key];
    if (!known || known.value === null || known.value === undefined) {
      return known?.probe_failed ? [h('span', { class: 'badge cap cap-unknown', title: sourceText(known), 'data-testid': `cap-${key}-${slug}` }, `${label}?`)] : [];
    }
    return [h('span', {
      class: `badge cap ${known.value ? 'cap-yes' : 'cap-no'} cap-${known.source}`,
      title: `${label}: ${known.value ? 'yes' : 'no'} — ${sourceText(known)}`,
      'data-testid': `cap-${key}-${slug}`,
      dataset: { source: known.source, value: String(known.value) },
    }, known.value ? label : `No ${label.toLowerCase()}`)];
  });
}

/** Asks first (how many requests, about how many tokens), then checks. */
async function checkCapabilities(provider, model, slug) {
  let plan;
  try {
    plan = await api.capabilityPlan(provider.id, model.id);
  } catch (error) {
    toast(describeError(error), { error: true });
    return;
  }
  const agreed = await confirmDialog({
    title: `Check what ${model.id} can do?`,
    text: `${plan.summary} Each request is tiny: ${plan.requests.filter((request) => request.capability).map((request) => request.what).join('; ')}.`,
    ok: `Send ${plan.chat_requests} requests`,
    danger: false,
  });
  if (!agreed) {
    $(`[data-testid="model-check-${slug}"]`)?.focus();
    return;
  }
  const key = `${provider.id}\n${model.id}`;
  const callId = newTestId('check');
  models.checking.set(key, callId);
  wiring.onUpdated(provider);
  $(`[data-testid="model-check-stop-${slug}"]`)?.focus();
  try {
    const updated = await api.checkCapabilities(callId, provider.id, model.id);
    models.checking.delete(key);
    wiring.onUpdated(updated);
    toast(`Checked ${model.id}.`);
  } catch (error) {
    models.checking.delete(key);
    wiring.onUpdated(provider);
    toast(error.kind === 'cancelled'
      ? `Stopped checking ${model.id}; nothing was recorded.`
      : `Could not check ${model.id}: ${describeError(error)}`, { error: error.kind !== 'cancelled' });
  }
  $(`[data-testid="model-check-${slug}"]`)?.focus();
}

function modelRow(provider, model, index) {
  const count = provider.models.length;
  const slug = String(index);
  const isDefault = model.id === provider.default_model;
  const action = (label, testid, onclick, extra = {}) => h('button', {
    type: 'button', class: 'button button-small button-quiet model-action', 'data-testid': `${testid}-${slug}`,
    'aria-label': `${label} ${model.id}`, title: label, onclick, ...extra,
  }, extra.text ?? label);
  const editing = renaming?.key === `${provider.id}\n${model.id}`;
  const shown = nameOf(model);
  return h('li', {
    class: `model-row${model.hidden ? ' hidden-model' : ''}`,
    'data-testid': `model-row-${slug}`, dataset: { model: model.id },
  },
    h('span', { class: 'model-names' },
      editing ? renameRow(provider, model, slug) : h('span', { class: 'model-shown', 'data-testid': `model-shown-${slug}` }, shown),
      shown !== model.id || editing ? h('span', { class: 'model-id mono' }, model.id) : null,
      h('span', { class: 'model-badges' },
        isDefault ? h('span', { class: 'badge badge-accent' }, 'Default') : null,
        model.hidden ? h('span', { class: 'badge', title: 'Kept here, not offered to apps' }, 'Hidden from apps') : null,
        model.missing_upstream ? h('span', { class: 'badge badge-warn' }, 'no longer listed by the server') : null,
        ...capabilityBadges(model, slug),
      ),
    ),
    h('span', { class: 'model-actions' },
      action('Move up', 'model-up', () => change(provider, { action: 'move', model: model.id, position: index - 1 }, { focus: `[data-testid="model-up-${index - 1}"]` }),
        { text: '↑', disabled: index === 0 }),
      action('Move down', 'model-down', () => change(provider, { action: 'move', model: model.id, position: index + 1 }, { focus: `[data-testid="model-down-${index + 1}"]` }),
        { text: '↓', disabled: index === count - 1 }),
      models.checking.has(`${provider.id}\n${model.id}`)
        ? h('span', { class: 'model-checking', role: 'status' }, h('span', { class: 'muted small' }, 'Checking…'),
          action('Stop checking', 'model-check-stop', () => api.cancelCall(models.checking.get(`${provider.id}\n${model.id}`)), { text: 'Stop' }))
        : action('Check capabilities', 'model-check', () => checkCapabilities(provider, model, slug), { text: 'Check' }),
      action('Rename', 'model-rename', () => { renaming = { key: `${provider.id}\n${model.id}`, value: null, focused: false }; wiring.onUpdated(provider); }),
      model.hidden
        ? action('Show to apps', 'model-show', () => change(provider, { action: 'show', model: model.id }, { focus: `[data-testid="model-hide-${slug}"]` }), { text: 'Show' })
        : action('Hide from apps', 'model-hide', () => change(provider, { action: 'hide', model: model.id }, { focus: `[data-testid="model-show-${slug}"]` }), { text: 'Hide' }),
      action('Remove', 'model-remove', () => change(provider, { action: 'remove', model: model.id }, { focus: '#add-model-input' }), { disabled: count === 1 }),
    ),
  );
}

function renderModelList(provider) {
  const filter = $('#models-filter').value;
  // A reload that changed nothing here (the config watcher after this
  // window's own change) leaves the rows alone: focus and typing stay.
  const signature = JSON.stringify([provider.id, provider.models, renaming?.key ?? null, [...models.checking.keys()], filter]);
  if ($('#detail-models').dataset.signature === signature) return;
  $('#detail-models').dataset.signature = signature;
  const shown = provider.models
    .map((model, index) => [model, index])
    .filter(([model]) => !filter || model.capabilities?.[filter]?.value === true);
  $('#detail-models').replaceChildren(...shown.map(([model, index]) => modelRow(provider, model, index)));
  $('#models-filter-empty').hidden = shown.length > 0;
  const hidden = provider.models.filter((model) => model.hidden).length;
  $('#detail-models-note').textContent = hidden === 0
    ? 'Apps see these models in this order; the first is the default.'
    : `Apps see ${provider.models.length - hidden} of these models in this order; the first one shown is the default.`;
}

async function addModel(event) {
  event.preventDefault();
  const provider = state.providers.find((candidate) => candidate.id === state.selectedId);
  const input = $('#add-model-input');
  const model = input.value.trim();
  if (!provider || !model) {
    input.focus();
    return;
  }
  if (await change(provider, { action: 'add', model, displayName: null })) {
    input.value = '';
    input.focus();
  }
}

/** Called whenever the details of `provider` are shown. */
export function modelsShown(provider) {
  // Another provider starts with every model shown.
  if (models.shownProvider !== provider.id) {
    models.shownProvider = provider.id;
    $('#models-filter').value = '';
  }
  if (renaming && !renaming.key.startsWith(`${provider.id}\n`)) renaming = null;
  renderModelList(provider);
  remember(provider);
  renderStatus(provider.id);
}

export function initModels({ onUpdated }) {
  wiring.onUpdated = onUpdated;
  $('#refresh-models').addEventListener('click', refresh);
  $('#add-model-form').addEventListener('submit', addModel);
  $('#models-filter').addEventListener('change', () => {
    const provider = state.providers.find((candidate) => candidate.id === state.selectedId);
    if (provider) renderModelList(provider);
  });
}
