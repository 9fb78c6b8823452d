// Connected apps: the pairing prompt ("Allow <app> to use your AI
// endpoints?"), the apps that were allowed (with Revoke), and the log of
// which app resolved which entry. Rust owns the data and the decisions; the
// token a host receives never reaches this page.

import { api, onPairingRequested, onHostsChanged } from './api.js';
import { $, h, relativeTime, formatDate, toast, confirmDialog } from './dom.js';
import { initGateway, renderGateway } from './gateway.js';
import { refreshBackground } from './background.js';
import { state } from './state.js';

/** Resolves a host can fetch; the log is bounded in Rust too. */
const LOG_ROWS_SHOWN = 200;
/** While the section is open, last-used times and the log stay fresh. */
const REFRESH_MS = 5000;

/** This view's part of the state. */
const view = state.hosts;
/** Asks the page to show `#hosts-view` (and hide the provider panes). */
const wiring = { showView: () => {}, canLeave: async () => true };

// ── The pairing prompt ───────────────────────────────────────────────────

function promptNext() {
  const dialog = $('#pairing-dialog');
  if (view.prompting) {
    // Decided elsewhere (the CLI, another window) or expired: close it.
    if (!view.pending.some((request) => request.request_id === view.prompting.request_id)) closePrompt();
    return;
  }
  const next = view.pending.find((request) => !view.dismissed.has(request.request_id));
  if (!next || dialog.open) return;
  view.prompting = next;
  view.returnFocus = document.activeElement;
  $('#pairing-title').textContent = `Allow ${next.app_name} to use your AI endpoints?`;
  $('#pairing-app-name').textContent = next.app_name;
  $('#pairing-app-id').textContent = next.app_id;
  $('#pairing-expires').textContent = `This request expires ${formatDate(next.expires_at)} if you don't answer.`;
  $('#pairing-requester').textContent = requesterText(next.requester);
  $('#pairing-replaces').hidden = !next.replaces;
  $('#pairing-replaces').textContent = replacesText(next);
  setPromptBusy(false);
  dialog.showModal();
  // Deny is the safe default for Enter.
  $('#pairing-deny').focus();
}

function closePrompt() {
  const dialog = $('#pairing-dialog');
  view.prompting = null;
  if (dialog.open) dialog.close();
  if (view.returnFocus && document.contains(view.returnFocus)) view.returnFocus.focus();
  view.returnFocus = null;
}

function setPromptBusy(busy) {
  $('#pairing-allow').disabled = busy;
  $('#pairing-deny').disabled = busy;
}

async function decide(request, allow) {
  try {
    if (allow) {
      await api.approvePairing(request.request_id);
      toast(`${request.app_name} can now use your AI endpoints.`);
    } else {
      await api.denyPairing(request.request_id);
      toast(`${request.app_name} was not allowed.`);
    }
    return true;
  } catch (error) {
    const message = error.kind === 'not_pending' || error.kind === 'requester_gone'
      ? `${request.app_name} stopped waiting for an answer; nothing was paired.`
      : error.message;
    toast(message, { error: true });
    return false;
  }
}

async function decideFromPrompt(allow) {
  const request = view.prompting;
  if (!request) return;
  setPromptBusy(true);
  await decide(request, allow);
  closePrompt();
  await refresh();
}

// ── The section ──────────────────────────────────────────────────────────

function renderStatus() {
  const status = view.status ?? { state: 'starting' };
  const line = $('#hosts-status');
  const banner = $('#hosts-elsewhere');
  banner.hidden = status.state !== 'elsewhere' && status.state !== 'unavailable';
  line.dataset.state = status.state;
  if (status.state === 'running') {
    line.replaceChildren(
      h('span', { class: 'status-dot status-dot-ok', 'aria-hidden': 'true' }),
      'Apps on this computer can connect at ',
      h('span', { class: 'mono selectable' }, status.endpoint ?? ''),
    );
  } else if (status.state === 'starting') {
    line.replaceChildren(h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Starting the connection point for apps…');
  } else if (status.state === 'elsewhere' && status.background_server) {
    // Opened by Patchbay's own background server while a request waited.
    banner.hidden = true;
    line.replaceChildren(
      h('span', { class: 'status-dot status-dot-ok', 'aria-hidden': 'true' }),
      'Patchbay’s background server serves apps at ',
      h('span', { class: 'mono selectable' }, status.endpoint ?? ''),
      '. It goes on when this window closes.',
    );
  } else if (status.state === 'elsewhere') {
    line.replaceChildren(
      h('span', { class: 'status-dot status-dot-warn', 'aria-hidden': 'true' }),
      'Another Patchbay process serves apps at ',
      h('span', { class: 'mono selectable' }, status.endpoint ?? ''),
    );
    $('#hosts-elsewhere-text').textContent =
      `${status.message ?? 'Patchbay is already serving.'} That process (for example “patchbay serve” in a terminal) answers apps while it runs; ` +
      'requests it receives are prompted and listed here, and you can allow, deny and revoke from this window. ' +
      'If it stops, this window takes over.';
  } else {
    line.replaceChildren(h('span', { class: 'status-dot status-dot-fail', 'aria-hidden': 'true' }), 'Apps cannot connect right now.');
    $('#hosts-elsewhere-text').textContent = status.message ?? 'The connection point for apps could not start.';
  }
}

function renderPendingBadge() {
  const count = view.pending.length;
  const badge = $('#hosts-pending-count');
  badge.hidden = count === 0;
  badge.textContent = String(count);
  $('#open-hosts').setAttribute('aria-label', count === 0 ? 'Connected apps' : `Connected apps, ${count} waiting for an answer`);
}

/** Which process asked, as the operating system reports it (not what it claims). */
function requesterText(requester) {
  if (!requester) return 'The asking process is not known.';
  return requester.executable
    ? `Asked by process ${requester.pid}: ${requester.executable}`
    : `Asked by process ${requester.pid}.`;
}

/** "It replaces the pairing of …" for a request whose app id is already paired. */
function replacesText(request) {
  const old = request.replaces;
  if (!old) return '';
  return `${request.app_id} is already paired as "${old.app_name}" (since ${formatDate(old.paired_at)}). Allowing this replaces that pairing: the app that holds the old token loses access.`;
}

function renderPending() {
  const card = $('#hosts-pending-card');
  card.hidden = view.pending.length === 0;
  $('#hosts-pending').replaceChildren(...view.pending.map((request) => h('li', {
    class: 'host-row', 'data-testid': `pending-${request.app_id}`,
  },
  h('div', { class: 'host-text' },
    h('span', { class: 'host-name' }, request.app_name),
    h('span', { class: 'host-meta mono' }, request.app_id),
    h('span', { class: 'host-meta' }, `Asked ${relativeTime(request.requested_at)}`),
    h('span', { class: 'host-meta mono' }, requesterText(request.requester)),
    request.replaces ? h('span', { class: 'host-meta pairing-replaces' }, replacesText(request)) : null),
  h('div', { class: 'row-actions' },
    h('button', {
      type: 'button', class: 'button button-small',
      'aria-label': `Deny ${request.app_name}`,
      onclick: async () => { await decide(request, false); await refresh(); },
    }, 'Deny'),
    h('button', {
      type: 'button', class: 'button button-small button-primary',
      'aria-label': `Allow ${request.app_name}`,
      onclick: async () => { await decide(request, true); await refresh(); },
    }, 'Allow')))));
}

function renderPaired() {
  $('#hosts-paired-empty').hidden = view.paired.length > 0;
  $('#hosts-paired').replaceChildren(...view.paired.map((host) => h('li', {
    class: 'host-row', 'data-testid': `paired-${host.app_id}`,
  },
  h('div', { class: 'host-avatar', 'aria-hidden': 'true' }, host.app_name.slice(0, 1).toUpperCase()),
  h('div', { class: 'host-text' },
    h('span', { class: 'host-name' }, host.app_name),
    h('span', { class: 'host-meta mono selectable' }, host.app_id),
    h('span', { class: 'host-meta' },
      `Paired ${formatDate(host.paired_at)} · `,
      lastUsed(host) ? `Last used ${relativeTime(lastUsed(host))}` : 'Not used yet'),
    h('span', { class: 'host-meta', 'data-testid': `host-entries-${host.app_id}` },
      host.entries ? `May use ${host.entries.length} model${host.entries.length === 1 ? '' : 's'} you chose` : 'May use every model you offer'),
    host.raw_keys
      ? h('span', { class: 'host-meta raw-keys-warning', 'data-testid': `raw-keys-${host.app_id}` },
        'May receive your raw keys: it can use them outside Patchbay, without the gateway\u2019s checks.')
      : null),
  h('button', {
    type: 'button', class: 'button button-small',
    'data-testid': `choose-entries-${host.app_id}`,
    onclick: (event) => chooseEntries(host, event.currentTarget),
  }, 'Models…'),
  h('button', {
    type: 'button', class: 'button button-small',
    'data-testid': `toggle-raw-keys-${host.app_id}`,
    onclick: (event) => toggleRawKeys(host, event.currentTarget),
  }, host.raw_keys ? 'Stop raw keys' : 'Allow raw keys…'),
  h('button', {
    type: 'button', class: 'button button-small button-danger-quiet',
    'data-testid': `revoke-${host.app_id}`, 'aria-label': `Revoke ${host.app_name}`,
    onclick: (event) => revoke(host, event.currentTarget),
  }, 'Revoke…'))));
}

/** The gateway's requests: who, which entry, how it went; never any text. */
function renderActivity() {
  const rows = (view.activity ?? []).slice(0, LOG_ROWS_SHOWN);
  $('#activity-empty').hidden = rows.length > 0;
  $('#activity-table').hidden = rows.length === 0;
  const ms = (value) => (value === null || value === undefined ? '–' : `${value} ms`);
  $('#activity-rows').replaceChildren(...rows.map((record) => h('tr', { 'data-testid': 'activity-row' },
    h('td', {}, record.app_name),
    h('td', { class: 'mono selectable' }, record.entry_id ?? record.endpoint),
    h('td', { class: record.status < 400 ? '' : 'activity-failed', title: record.error_code ?? '' }, String(record.status)),
    h('td', {}, ms(record.duration_ms)),
    h('td', {}, ms(record.first_byte_ms)),
    h('td', { title: record.usage ? `${record.usage.prompt_tokens ?? '?'} in · ${record.usage.completion_tokens ?? '?'} out` : '' },
      record.usage?.total_tokens !== undefined ? String(record.usage.total_tokens) : '–'),
    h('td', { class: 'log-when', title: formatDate(record.at) }, relativeTime(record.at)))));
}

/** The latest use of an app: a resolve, or a request through the gateway. */
function lastUsed(host) {
  const times = [host.last_used, ...(view.activity ?? []).filter((record) => record.app_id === host.app_id).map((record) => record.at)]
    .filter(Boolean);
  return times.sort().at(-1) ?? null;
}

function renderLog() {
  const rows = view.log.slice(0, LOG_ROWS_SHOWN);
  $('#hosts-log-empty').hidden = rows.length > 0;
  $('#hosts-log-table').hidden = rows.length === 0;
  $('#hosts-log').replaceChildren(...rows.map((record) => h('tr', { 'data-testid': 'log-row' },
    h('td', { title: requesterText(record.requester) }, record.app_name),
    h('td', { class: 'mono selectable' }, record.entry_id),
    h('td', { class: 'log-when', title: formatDate(record.at) }, relativeTime(record.at)))));
  $('#hosts-log-more').hidden = view.log.length <= LOG_ROWS_SHOWN;
  $('#hosts-log-more').textContent = `Showing the latest ${LOG_ROWS_SHOWN} of ${view.log.length}.`;
}

/**
 * Which models an app may use: every one offered (and any added later), or
 * only the ones ticked. Saved for its next request.
 */
async function chooseEntries(host, button) {
  let entries;
  try {
    entries = await api.whatAppsSee();
  } catch (error) {
    toast(error.message, { error: true });
    return;
  }
  const dialog = $('#host-entries-dialog');
  $('#host-entries-title').textContent = `Models ${host.app_name} may use`;
  const all = $('#host-entries-all');
  all.checked = !host.entries;
  const chosen = new Set(host.entries ?? entries.map((entry) => entry.id));
  const boxes = entries.map((entry) => {
    const box = h('input', { type: 'checkbox', value: entry.id, 'data-testid': `host-entry-${entry.id}` });
    box.checked = chosen.has(entry.id);
    return h('li', {}, h('label', { class: 'checkbox' }, box, h('span', {}, entry.label), h('span', { class: 'muted small mono' }, entry.id)));
  });
  $('#host-entries-list').replaceChildren(...boxes);
  const sync = () => {
    for (const box of $('#host-entries-list').querySelectorAll('input')) box.disabled = all.checked;
  };
  all.onchange = sync;
  sync();
  dialog.returnValue = '';
  dialog.showModal();
  all.focus();
  const saved = await new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'save'), { once: true }));
  button.focus();
  if (!saved) return;
  const limit = all.checked ? null : Array.from($('#host-entries-list').querySelectorAll('input:checked')).map((box) => box.value);
  try {
    await api.setHostEntries(host.app_id, limit);
    toast(limit === null ? `${host.app_name} may use every model.` : `${host.app_name} may use ${limit.length} model${limit.length === 1 ? '' : 's'}.`);
  } catch (error) {
    toast(error.message, { error: true });
  }
  await refresh();
}

/** Older apps (protocol 1) ask for the provider's key itself; only with the person's yes. */
async function toggleRawKeys(host, button) {
  if (!host.raw_keys) {
    const confirmed = await confirmDialog({
      title: `Give ${host.app_name} your raw keys?`,
      text: `${host.app_name} asks for the providers' keys themselves instead of using Patchbay's gateway. With them it can send requests outside Patchbay, without its checks, and keep the keys after you revoke it. Allow this only for an app you trust that cannot use the gateway yet.`,
      ok: 'Allow raw keys',
    });
    if (!confirmed) {
      button.focus();
      return;
    }
  }
  try {
    await api.setRawKeys(host.app_id, !host.raw_keys);
    toast(host.raw_keys ? `${host.app_name} gets no raw key any more.` : `${host.app_name} may receive raw keys.`);
  } catch (error) {
    toast(error.message, { error: true });
  }
  await refresh();
}

async function revoke(host, button) {
  const confirmed = await confirmDialog({
    title: `Revoke ${host.app_name}?`,
    text: `${host.app_name} will no longer be able to use your AI endpoints. To use them again it has to ask, and you have to allow it again.`,
    ok: 'Revoke',
  });
  if (!confirmed) {
    button.focus();
    return;
  }
  try {
    await api.revokeHost(host.app_id);
    toast(`${host.app_name} can no longer use your AI endpoints.`);
  } catch (error) {
    toast(error.message, { error: true });
  }
  await refresh();
  $('#hosts-view-title').focus();
}

/** Re-reads everything; each part fails on its own. */
async function refresh() {
  const [status, pending, paired, log, activity] = await Promise.allSettled([
    api.hostsStatus(), api.pendingPairings(), api.pairedHosts(), api.resolveLog(), api.gatewayActivity(),
  ]);
  if (activity.status === 'fulfilled') view.activity = activity.value;
  if (status.status === 'fulfilled') view.status = status.value;
  view.pending = pending.status === 'fulfilled' ? pending.value : [];
  if (paired.status === 'fulfilled') view.paired = paired.value;
  if (log.status === 'fulfilled') view.log = log.value;
  const problems = [pending, paired, log].filter((result) => result.status === 'rejected').map((result) => result.reason.message);
  $('#hosts-error').hidden = problems.length === 0;
  $('#hosts-error').textContent = problems.join(' ');
  renderStatus();
  renderGateway(view.status);
  renderPendingBadge();
  renderPending();
  renderPaired();
  renderLog();
  renderActivity();
  promptNext();
  await refreshBackground();
}

function isOpen() {
  return !$('#hosts-view').hidden;
}

function keepFresh() {
  clearInterval(view.refreshTimer);
  view.refreshTimer = setInterval(() => {
    if (isOpen()) refresh();
    else clearInterval(view.refreshTimer);
  }, REFRESH_MS);
}

async function open() {
  if (!(await wiring.canLeave())) return;
  wiring.showView();
  $('#open-hosts').setAttribute('aria-current', 'page');
  await refresh();
  $('#hosts-view-title').focus();
  keepFresh();
}

/**
 * Wires the section. `showView` asks the page to show `#hosts-view` (and
 * hide the provider panes); the page calls `hostsClosed()` when it shows
 * something else.
 */
export async function initHosts({ showView, canLeave }) {
  wiring.showView = showView;
  if (canLeave) wiring.canLeave = canLeave;
  initGateway({ refresh });
  $('#open-hosts').addEventListener('click', open);
  $('#hosts-refresh').addEventListener('click', refresh);
  $('#pairing-allow').addEventListener('click', () => decideFromPrompt(true));
  $('#pairing-deny').addEventListener('click', () => decideFromPrompt(false));
  // Escape answers nothing: the request stays pending under Connected apps.
  $('#pairing-dialog').addEventListener('cancel', () => {
    if (view.prompting) view.dismissed.add(view.prompting.request_id);
    view.prompting = null;
    toast('The request is still waiting under Connected apps.');
  });
  try {
    await onPairingRequested(() => refresh());
    await onHostsChanged(() => refresh());
  } catch (error) {
    toast(`Pairing requests will not appear until you reopen this window: ${error.message}`, { error: true });
  }
  await refresh();
}

export function hostsClosed() {
  $('#open-hosts').removeAttribute('aria-current');
  clearInterval(view.refreshTimer);
}
