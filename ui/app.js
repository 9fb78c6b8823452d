// Settings › AI: the provider list, the details pane and the wiring between
// them. Rust owns the data; this file only shows it and sends commands.

import { api, newTestId, onProvidersChanged, loadUiState } from './api.js';
import { $, $$, h, relativeTime, datePart, describeError, toast, confirmDialog, urlNodes, fillModelChoice } from './dom.js';
import { draftFromView, focusCaCertificate, initForm, leaveForm, openForm, setFormPresets } from './form.js';
import { certificateOffer } from './certificate.js';
import { initHosts, hostsClosed } from './connected-apps.js';
import { initBackground } from './background.js';
import { initFormTest, resetFormTest } from './form-test.js';
import { askToMoveKey, originOf, withheldNotice } from './key-origin.js';
import { initModels, modelsShown } from './models.js';
import { initProviderOrder } from './provider-order.js';
import { initPrompt, promptHidden, promptShown } from './prompt.js';
import { appsSeeChanged, appsSeeClosed, initAppsSee } from './what-apps-see.js';
import { initTransfer } from './transfer.js';
import { state, findProvider } from './state.js';
import { renderStages, renderSummary } from './test-report.js';

const NETWORK_TEXT = {
  remote: 'Remote — internet services over HTTPS only',
  local: 'Local — also this computer, plain HTTP allowed',
  private: 'Private network — also your LAN, plain HTTP allowed',
};

const QUICK_PRESETS = ['openai', 'openrouter', 'anthropic', 'groq', 'ollama', 'lm-studio', 'lmstudio'];

function formSaved(saved, mode) {
  toast(mode === 'edit' ? `Saved changes to ${saved.provider.label}.` : `Added ${saved.provider.label}.`);
  for (const notice of saved.notices ?? []) toast(notice.message);
  upsert(saved.provider);
  select(saved.provider.id, { focusList: true });
}

function formCancelled() {
  if (state.selectedId && findProvider(state.selectedId)) showDetail();
  else showDefaultView();
  focusSelectedRow();
}

function upsert(provider) {
  const index = state.providers.findIndex((existing) => existing.id === provider.id);
  if (index >= 0) state.providers[index] = provider;
  else state.providers.push(provider);
  renderList();
}

// ── Theme ────────────────────────────────────────────────────────────────

function applyTheme(choice) {
  if (choice === 'light' || choice === 'dark') document.documentElement.dataset.theme = choice;
  else delete document.documentElement.dataset.theme;
  $('#theme-choice').value = choice === 'light' || choice === 'dark' ? choice : 'system';
}

// ── List ─────────────────────────────────────────────────────────────────

const AVATAR_COLOURS = [
  ['#5b7cfa', '#3a5ccc'], ['#37b679', '#1f8a4c'], ['#f08c4a', '#d0602a'], ['#b86bf0', '#8a3fc8'],
  ['#e8597a', '#c23a5c'], ['#3fb3c9', '#1f879c'], ['#8a8f9c', '#5f6470'],
];

function avatarFor(provider) {
  let hash = 0;
  for (const character of provider.id) hash = (hash * 31 + character.charCodeAt(0)) >>> 0;
  const [a, b] = AVATAR_COLOURS[hash % AVATAR_COLOURS.length];
  const avatar = h('span', { class: 'provider-avatar', 'aria-hidden': 'true' }, (provider.label.trim()[0] ?? '?').toUpperCase());
  avatar.style.setProperty('--avatar-a', a);
  avatar.style.setProperty('--avatar-b', b);
  return avatar;
}

function authBadge(provider) {
  if (provider.auth === 'none') return h('span', { class: 'badge', 'data-testid': 'auth-badge', title: 'No authentication' }, 'No authentication');
  if (provider.key_hint) return h('span', { class: 'badge mono', 'data-testid': 'auth-badge', title: 'API key in the keychain' }, provider.key_hint);
  return h('span', { class: 'badge badge-warn', 'data-testid': 'auth-badge' }, 'No key');
}

function testBadge(provider) {
  if (provider.key_withheld) {
    return h('span', {
      class: 'badge badge-warn', 'data-testid': 'test-badge',
      title: `The key was given for ${provider.key_withheld.given_for}; the base URL now points to ${provider.key_withheld.base_origin}.`,
    }, 'Key withheld');
  }
  const test = provider.last_test;
  if (!test) {
    if (!provider.untested_since) return null;
    return h('span', {
      class: 'badge', 'data-testid': 'test-badge',
      title: untestedText(provider.untested_since),
    }, 'Untested');
  }
  return h('span', {
    class: test.ok ? 'badge badge-ok' : 'badge badge-fail',
    title: `${test.summary ?? ''} (${relativeTime(test.at)})`,
    'data-testid': 'test-badge',
    'aria-label': `Last test ${test.ok ? 'passed' : 'failed'} ${relativeTime(test.at)}`,
  }, h('span', { class: 'dot', 'aria-hidden': 'true' }), test.ok ? 'OK' : 'Failed');
}

/** "Not tested since the key changed": a change cleared the last test. */
function untestedText(since) {
  const what = since.change === 'key' ? 'key' : 'connection settings';
  return `Not tested since the ${what} changed (${relativeTime(since.at)})`;
}

function providerRow(provider, selected) {
  const toggle = h('input', {
    type: 'checkbox', role: 'switch', checked: provider.enabled,
    'aria-label': `${provider.label} enabled`,
    'data-testid': `provider-toggle-${provider.id}`,
    onchange: (event) => setEnabled(provider, event.target.checked, event.target),
  });
  toggle.checked = provider.enabled;
  const meta = [provider.host, provider.default_model].filter(Boolean).join(' · ');
  return h('li', {
    class: `provider-item${selected ? ' selected' : ''}${provider.enabled ? '' : ' disabled'}`,
    dataset: { id: provider.id },
    'data-testid': `provider-item-${provider.id}`,
    draggable: 'true',
    title: 'Drag to reorder (or Alt+↑ / Alt+↓)',
  },
    h('button', {
      type: 'button', class: 'provider-select',
      'aria-current': selected ? 'true' : false,
      'data-testid': `provider-select-${provider.id}`,
      onclick: async () => {
        if (await leaveForm()) select(provider.id);
      },
    },
      avatarFor(provider),
      h('span', { class: 'provider-text' },
        h('span', { class: 'provider-name', 'data-testid': 'provider-name' }, provider.label),
        h('span', { class: 'provider-meta' }, meta),
        h('span', { class: 'provider-badges' },
          authBadge(provider),
          provider.enabled ? null : h('span', { class: 'badge' }, 'Disabled'),
          testBadge(provider),
        ),
      ),
    ),
    h('label', { class: 'switch', title: provider.enabled ? 'Enabled' : 'Disabled' }, toggle, h('span', { class: 'switch-track', 'aria-hidden': 'true' })),
  );
}

function renderList() {
  const list = $('#provider-list');
  // The file's order, which the person sets (provider-order.js).
  const providers = state.providers;
  // Rows whose provider did not change keep their DOM nodes: a refresh from
  // the config watcher must not swallow a click or move keyboard focus.
  const existing = new Map(Array.from(list.children).map((row) => [row.dataset.id, row]));
  const rows = providers.map((provider) => {
    const selected = provider.id === state.selectedId;
    const key = JSON.stringify([provider, selected]);
    const row = existing.get(provider.id);
    if (row && row.dataset.key === key) return row;
    const fresh = providerRow(provider, selected);
    fresh.dataset.key = key;
    return fresh;
  });
  const unchanged = rows.length === list.children.length && rows.every((row, index) => list.children[index] === row);
  if (!unchanged) {
    const focusedTestId = list.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    list.replaceChildren(...rows);
    if (focusedTestId && !list.contains(document.activeElement)) $(`[data-testid="${focusedTestId}"]`)?.focus();
  }
  $('#provider-list-empty').hidden = state.providers.length > 0;
  renderBanner();
}

function renderBanner() {
  const banner = $('#config-banner');
  const lines = [];
  if (state.notice && !state.noticeDismissed) lines.push(state.notice);
  for (const problem of state.problems) lines.push(`Entry ${problem.index + 1} in the config file was skipped: ${problem.message}`);
  banner.hidden = lines.length === 0;
  $('#config-banner-text').replaceChildren(...lines.map((line) => h('span', { class: 'banner-line' }, line, h('br'))));
}

function focusSelectedRow() {
  const button = state.selectedId ? $(`[data-testid="provider-select-${state.selectedId}"]`) : null;
  (button ?? $('#add-provider')).focus();
}

// Arrow keys move between providers, like a native list.
$('#provider-list').addEventListener('keydown', (event) => {
  if (!['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(event.key)) return;
  const buttons = $$('.provider-select');
  const index = buttons.indexOf(document.activeElement);
  if (index < 0) return;
  event.preventDefault();
  let next = index;
  if (event.key === 'ArrowDown') next = Math.min(buttons.length - 1, index + 1);
  if (event.key === 'ArrowUp') next = Math.max(0, index - 1);
  if (event.key === 'Home') next = 0;
  if (event.key === 'End') next = buttons.length - 1;
  buttons[next].focus();
  buttons[next].click();
  buttons[next].focus();
});

// ── Views ────────────────────────────────────────────────────────────────

function show(view) {
  // Another view, or another provider's details, starts at the top with its header in view.
  const shown = view === 'detail' ? `detail:${state.selectedId}` : view;
  if (state.shown !== shown || view === 'form') $('#detail').scrollTop = 0;
  state.shown = shown;
  state.view = view;
  $('#empty-state').hidden = view !== 'empty';
  $('#no-selection').hidden = view !== 'none';
  $('#provider-detail').hidden = view !== 'detail';
  $('#provider-form').hidden = view !== 'form';
  $('#hosts-view').hidden = view !== 'hosts';
  $('#apps-see-view').hidden = view !== 'apps';
  if (view !== 'detail') promptHidden();
  if (view !== 'hosts') hostsClosed();
  if (view !== 'apps') appsSeeClosed();
  if (view === 'form') resetFormTest();
}

function showDefaultView() {
  state.selectedId = null;
  renderList();
  show(state.providers.length === 0 ? 'empty' : 'none');
}

function select(id, { focusList = false } = {}) {
  if (!findProvider(id)) return;
  state.selectedId = id;
  state.ui?.set('last_selected', id);
  renderList();
  showDetail();
  if (focusList) focusSelectedRow();
}

async function showDetail() {
  const provider = findProvider(state.selectedId);
  if (!provider) {
    showDefaultView();
    return;
  }
  show('detail');
  modelsShown(provider);
  promptShown(provider);
  $('#detail-title').textContent = provider.label;
  $('#detail-title').title = provider.label;
  $('#detail-subtitle').textContent = `${provider.host} · ID ${provider.id}`;
  $('#detail-enabled').checked = provider.enabled;
  $('#detail-enabled-text').textContent = provider.enabled ? 'Enabled' : 'Disabled';
  $('#detail-base-url').replaceChildren(...urlNodes(provider.base_url));
  $('#detail-network').textContent = NETWORK_TEXT[provider.network] ?? provider.network;
  $('#detail-timeout-row').hidden = !provider.timeout_secs;
  $('#detail-timeout').textContent = provider.timeout_secs ? `${provider.timeout_secs} s` : '';
  $('#detail-proxy-row').hidden = !provider.proxy;
  $('#detail-proxy').textContent = provider.proxy
    ? `${provider.proxy}${provider.proxy_username ? ` (user ${provider.proxy_username}, password in the keychain)` : ''}`
    : '';
  const cas = provider.ca_certificate?.certificates ?? [];
  $('#detail-ca-row').hidden = cas.length === 0;
  $('#detail-ca').textContent = cas
    .map((certificate) => `${certificate.subject} (valid until ${certificate.not_after.slice(0, 10)})`).join('; ');

  if (provider.auth === 'none') {
    $('#detail-auth').textContent = 'No authentication — no Authorization header is sent.';
  } else if (provider.key_hint) {
    $('#detail-auth').replaceChildren('API key in the system keychain: ', h('span', { class: 'mono' }, provider.key_hint));
  } else {
    $('#detail-auth').textContent = 'No API key stored. Add one to use this provider.';
  }
  $('#detail-key-withheld').replaceChildren(withheldNotice(provider, {
    onSend: () => moveKey(provider),
    onReplace: () => {
      show('form');
      openForm({ provider, replaceKey: true });
    },
  }) ?? '');
  $('#detail-replace-key').hidden = provider.auth === 'none';
  $('#detail-replace-key').textContent = provider.key_hint ? 'Replace key…' : 'Add key…';
  $('#detail-remove-key').hidden = provider.auth === 'none' || !provider.key_hint;

  const headers = provider.headers ?? [];
  $('#detail-headers-card').hidden = headers.length === 0;
  $('#detail-headers').replaceChildren(
    ...headers.map((header) => h('div', {}, h('dt', { class: 'mono' }, header.name),
      h('dd', { class: 'mono' }, header.secret ? `${header.hint ?? '••••'} (secret, in the keychain)` : header.value ?? ''))),
  );

  const test = provider.last_test;
  // The full summary shows in the report below once a test ran in this window.
  const reportShown = state.tests.has(provider.id);
  $('#detail-last-test').textContent = test
    ? `Last test ${test.ok ? 'passed' : 'failed'} ${relativeTime(test.at)}${reportShown ? '' : `: ${test.summary ?? ''}`}`
    : provider.untested_since ? untestedText(provider.untested_since) : 'Not tested yet';
  fillModelChoice($('#test-chat-model'), provider.models.map((model) => (typeof model === 'string' ? model : model.id)));
  renderTest();
  $('#detail-timestamps').replaceChildren(datePart('Added', provider.created_at), ' · ', datePart('Updated', provider.updated_at));

  await renderRequests(provider);
}

// Previews of saved base URLs, so re-rendering the details does not make the
// layout jump while the preview is fetched again.
const requestPreviews = new Map();

async function renderRequests(provider) {
  const requests = $('#detail-requests');
  const key = `${provider.network} ${provider.base_url} ${provider.api ?? 'openai'} ${provider.api_version ?? ''}`;
  const lines = (preview) => [
    h('span', { class: 'request-line' }, h('span', { class: 'method' }, 'GET'), h('span', { class: 'url' }, urlNodes(preview.models_url ?? '…'))),
    h('span', { class: 'request-line' }, h('span', { class: 'method' }, 'POST'), h('span', { class: 'url' }, urlNodes(preview.chat_url ?? '…'))),
  ];
  if (requestPreviews.has(key)) {
    requests.replaceChildren(...lines(requestPreviews.get(key)));
    return;
  }
  requests.replaceChildren(...lines({}));
  try {
    const preview = await api.previewBaseUrl(provider.base_url, provider.network, provider.api ?? 'openai', provider.api_version ?? null);
    if (preview.ok) requestPreviews.set(key, preview);
    if (state.selectedId !== provider.id) return;
    requests.replaceChildren(...(preview.ok ? lines(preview) : [preview.error ?? '']));
  } catch (error) {
    requests.textContent = error.message;
  }
}

// ── Test connection ──────────────────────────────────────────────────────

function renderTest() {
  const provider = findProvider(state.selectedId);
  if (!provider) return;
  const entry = state.tests.get(provider.id);
  const running = Boolean(entry?.running);
  $('#test-connection').hidden = running;
  $('#test-connection').textContent = entry ? 'Test again' : 'Test connection';
  $('#cancel-test').hidden = !running;
  $('#test-chat').disabled = running;
  $('#test-report').hidden = !entry;
  if (!entry) return;
  // Unchanged reports keep their DOM, so a refresh never swallows a click on an offer.
  const signature = JSON.stringify([provider.id, provider.label, provider.trusted_cert_sha256, running, entry.chat,
    [...entry.stages.values()], entry.report?.summary, entry.report?.suggestion, entry.error]);
  if ($('#test-report').dataset.signature === signature) return;
  $('#test-report').dataset.signature = signature;

  renderStages($('#test-stages'), entry, '');
  renderSummary($('#test-summary'), entry);
  renderOffers(provider, entry);
}

function renderOffers(provider, entry) {
  const offers = [];
  const report = entry.running ? null : entry.report;
  if (report?.suggestion?.base_url) {
    offers.push(h('div', { class: 'offer', 'data-testid': 'offer-use-v1' },
      h('p', {}, report.suggestion.message),
      h('button', {
        type: 'button', class: 'button button-small button-primary', 'data-testid': 'use-suggestion',
        onclick: () => applySuggestion(provider, report.suggestion.base_url),
      }, `Use ${report.suggestion.base_url}`)));
  }
  const certificate = certificateOffer(report, {
    prefix: '',
    onAddCa: () => {
      show('form');
      openForm({ provider: findProvider(provider.id) });
      focusCaCertificate();
    },
    onTrust: (sha256) => trustCertificate(provider, sha256),
  });
  if (certificate) {
    offers.push(certificate);
  } else if (provider.trusted_cert_sha256) {
    offers.push(h('div', { class: 'offer' },
      h('p', {}, 'A self-signed certificate is trusted for this provider.',
        h('span', { class: 'fingerprint selectable' }, `SHA-256 ${provider.trusted_cert_sha256}`)),
      h('button', {
        type: 'button', class: 'button button-small', onclick: () => trustCertificate(provider, null),
      }, 'Stop trusting it')));
  }
  if (report?.models?.length > 0) {
    offers.push(h('div', { class: 'offer' },
      h('p', {}, `The server lists ${report.models.length} model${report.models.length === 1 ? '' : 's'}.`),
      h('button', {
        type: 'button', class: 'button button-small', 'data-testid': 'choose-models',
        onclick: () => {
          show('form');
          openForm({ provider: findProvider(provider.id), discovered: report.models });
        },
      }, 'Choose models…')));
  }
  $('#test-offers').replaceChildren(...offers);
}

async function refreshProvider(id) {
  try {
    upsert(await api.getProvider(id));
  } catch (error) {
    if (error.kind !== 'not_found') toast(describeError(error), { error: true });
  }
}

async function runTest() {
  const provider = findProvider(state.selectedId);
  if (!provider || state.tests.get(provider.id)?.running) return;
  const chat = $('#test-chat').checked;
  const entry = { testId: newTestId('list'), running: true, chat, stages: new Map(), report: null, error: null };
  state.tests.set(provider.id, entry);
  renderTest();
  $('#cancel-test').focus();
  try {
    const target = { kind: 'saved', id: provider.id };
    const model = $('#test-chat-model').value || provider.default_model;
    entry.report = await api.testConnection(entry.testId, target, chat ? model : null, (stage) => {
      if (!entry.running) return;
      entry.stages.set(stage.stage, stage);
      if (state.selectedId === provider.id && state.view === 'detail') renderTest();
    });
    for (const stage of entry.report.stages) entry.stages.set(stage.stage, stage);
  } catch (error) {
    entry.error = error;
  }
  entry.running = false;
  await refreshProvider(provider.id);
  if (state.selectedId === provider.id && state.view === 'detail') {
    showDetail();
    $('#test-connection').focus();
  }
}

async function cancelTest() {
  const entry = state.tests.get(state.selectedId);
  if (!entry?.running) return;
  try {
    await api.cancelTest(entry.testId);
  } catch (error) {
    toast(describeError(error), { error: true });
  }
}

async function moveKey(provider) {
  try {
    upsert(await api.moveProviderKey(provider.id));
    toast(`The key of ${provider.label} now goes to ${provider.key_withheld?.base_origin ?? provider.base_url}.`);
    showDetail();
  } catch (error) {
    toast(describeError(error), { error: true });
  }
}

async function applySuggestion(provider, baseUrl) {
  // A suggested URL on another origin takes the stored key only with the person's yes.
  const from = provider.key_origin;
  const to = originOf(baseUrl);
  let moveKey = false;
  if (from && to && from !== to) {
    const choice = await askToMoveKey({ from, to });
    if (choice === 'new-key') {
      show('form');
      openForm({ provider, replaceKey: true });
      return;
    }
    if (choice !== 'send') return;
    moveKey = true;
  }
  try {
    const saved = await api.editProvider(provider.id, draftFromView(provider, { base_url: baseUrl, move_key: moveKey }));
    upsert(saved.provider);
    toast(`${saved.provider.label} now uses ${saved.provider.base_url}.`);
    showDetail();
    runTest();
  } catch (error) {
    toast(describeError(error), { error: true });
  }
}

async function trustCertificate(provider, sha256) {
  try {
    upsert(await api.trustCertificate(provider.id, sha256));
    toast(sha256 ? `Trusting this certificate for ${provider.label} only.` : `No longer trusting a self-signed certificate for ${provider.label}.`);
    showDetail();
    if (sha256) runTest();
  } catch (error) {
    toast(describeError(error), { error: true });
  }
}

$('#test-connection').addEventListener('click', runTest);
$('#cancel-test').addEventListener('click', cancelTest);

// ── Actions ──────────────────────────────────────────────────────────────

async function setEnabled(provider, enabled, control) {
  if (control) control.disabled = true;
  try {
    const updated = await api.setProviderEnabled(provider.id, enabled);
    upsert(updated);
    if (state.selectedId === updated.id && state.view === 'detail') showDetail();
    toast(updated.enabled ? `${updated.label} is enabled.` : `${updated.label} is disabled; its key and models are kept.`);
  } catch (error) {
    toast(describeError(error), { error: true });
    renderList();
    if (state.view === 'detail') showDetail();
  } finally {
    if (control) control.disabled = false;
  }
}

async function deleteSelected() {
  const provider = findProvider(state.selectedId);
  if (!provider) return;
  const keyText = provider.auth === 'none'
    ? 'Apps using it will lose access.'
    : 'Its API key will be removed from the keychain, and apps using it will lose access.';
  const confirmed = await confirmDialog({
    title: `Delete ${provider.label}?`,
    text: `${keyText} This cannot be undone.`,
    ok: 'Delete',
  });
  if (!confirmed) {
    $('#delete-provider').focus();
    return;
  }
  try {
    await api.deleteProvider(provider.id);
    state.providers = state.providers.filter((existing) => existing.id !== provider.id);
    toast(provider.auth === 'none' ? `Deleted ${provider.label}.` : `Deleted ${provider.label} and removed its key from the keychain.`);
    showDefaultView();
    focusSelectedRow();
  } catch (error) {
    toast(describeError(error), { error: true });
  }
}

async function removeKeySelected() {
  const provider = findProvider(state.selectedId);
  if (!provider) return;
  const confirmed = await confirmDialog({
    title: `Remove the API key for ${provider.label}?`,
    text: 'The key will be deleted from the keychain. The provider stays, but requests will fail until you add a key again.',
    ok: 'Remove key',
  });
  if (!confirmed) return;
  try {
    const updated = await api.removeProviderKey(provider.id);
    upsert(updated);
    showDetail();
    toast(`Removed the key for ${updated.label} from the keychain.`);
  } catch (error) {
    toast(describeError(error), { error: true });
  }
}

async function openAddForm(presetId = null) {
  if (!(await leaveForm())) return;
  show('form');
  openForm({ presetId });
}

$('#add-provider').addEventListener('click', () => openAddForm());
$('#empty-add').addEventListener('click', () => openAddForm());
$('#edit-provider').addEventListener('click', () => {
  show('form');
  openForm({ provider: findProvider(state.selectedId) });
});
$('#detail-replace-key').addEventListener('click', () => {
  show('form');
  openForm({ provider: findProvider(state.selectedId), replaceKey: true });
});
$('#detail-remove-key').addEventListener('click', removeKeySelected);
$('#delete-provider').addEventListener('click', deleteSelected);
$('#detail-enabled').addEventListener('change', (event) => {
  const provider = findProvider(state.selectedId);
  if (provider) setEnabled(provider, event.target.checked, event.target);
});
$('#config-banner-dismiss').addEventListener('click', () => {
  state.noticeDismissed = true;
  state.problems = [];
  renderBanner();
  $('#add-provider').focus();
});
$('#theme-choice').addEventListener('change', (event) => {
  applyTheme(event.target.value);
  state.ui?.set('theme', event.target.value);
});

// ── Loading ──────────────────────────────────────────────────────────────

async function reload() {
  let listing;
  try {
    listing = await api.listProviders();
  } catch (error) {
    state.notice = error.message;
    state.noticeDismissed = false;
    renderList();
    if (state.view !== 'form') show(state.providers.length === 0 ? 'empty' : state.view);
    return;
  }
  state.providers = listing.providers;
  state.problems = listing.problems ?? [];
  if (listing.notice) state.notice = listing.notice;
  if (state.selectedId && !findProvider(state.selectedId)) state.selectedId = null;
  renderList();
  appsSeeChanged();
  if (state.view === 'form' || state.view === 'hosts' || state.view === 'apps') return;
  if (state.selectedId) showDetail();
  else show(state.providers.length === 0 ? 'empty' : 'none');
}

function renderQuickPresets() {
  const container = $('#quick-presets');
  const picks = QUICK_PRESETS.map((id) => state.presets.find((preset) => preset.id === id)).filter(Boolean);
  container.replaceChildren(
    ...picks.map((preset) => h('button', {
      type: 'button', class: 'button button-small', 'data-testid': `quick-preset-${preset.id}`,
      onclick: () => openAddForm(preset.id),
    }, preset.name)),
  );
}

async function start() {
  state.ui = await loadUiState();
  applyTheme(await state.ui.get('theme'));
  try {
    state.presets = await api.listPresets();
  } catch (error) {
    toast(`Presets are unavailable: ${error.message}`, { error: true });
  }
  initForm({ onSaved: formSaved, onCancel: formCancelled });
  setFormPresets(state.presets);
  renderQuickPresets();
  await reload();
  const last = await state.ui.get('last_selected');
  if (state.view !== 'form') {
    if (last && findProvider(last)) select(last);
    else if (state.providers.length > 0) select(state.providers[0].id);
  }
  try {
    await onProvidersChanged(() => reload());
  } catch (error) {
    toast(`Changes made outside this window will not appear until you reopen it: ${error.message}`, { error: true });
  }
  initPrompt();
  initTransfer({ onImported: () => reload() });
  initAppsSee({
    canLeave: leaveForm,
    showView: () => { show('apps'); state.selectedId = null; renderList(); },
  });
  initProviderOrder({
    onMoved: (id) => {
      renderList();
      $(`[data-testid="provider-select-${id}"]`)?.focus();
    },
  });
  try {
    initFormTest();
    initModels({
      onUpdated: (provider) => { upsert(provider); if (state.selectedId === provider.id && state.view === 'detail') showDetail(); },
    });
  } catch (error) {
    toast(`Testing from the form is unavailable: ${error.message}`, { error: true });
  }
  try {
    await initHosts({
      canLeave: leaveForm,
      showView: () => { show('hosts'); state.selectedId = null; renderList(); },
    });
  } catch (error) {
    toast(`Connected apps are unavailable: ${error.message}`, { error: true });
  }
  try {
    await initBackground();
  } catch (error) {
    toast(`Background settings are unavailable: ${error.message}`, { error: true });
  }
  document.body.dataset.ready = 'true';
}

start();
