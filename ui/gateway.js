// The gateway card under Connected apps: whether Patchbay's local
// OpenAI-compatible gateway runs and where (copyable), its switch, and
// "Create a token for an app": a name in, a token out, shown once in the
// dialog and forgotten by the page when the dialog closes.

import { api } from './api.js';
import { $, h, toast } from './dom.js';

const wiring = { refresh: async () => {} };

/** Shows `status.gateway` (from `hosts_status`). */
export function renderGateway(status) {
  const gateway = status?.gateway ?? null;
  const line = $('#gateway-status');
  const toggle = $('#gateway-enabled');
  const elsewhere = status?.state === 'elsewhere';
  toggle.disabled = elsewhere || status?.state === 'starting';
  toggle.checked = gateway?.state === 'on' || (elsewhere && Boolean(gateway));
  if (gateway?.state === 'on') {
    line.replaceChildren(
      h('span', { class: 'status-dot status-dot-ok', 'aria-hidden': 'true' }),
      elsewhere ? (status.background_server ? 'The background server runs it at ' : 'The other Patchbay process runs it at ') : 'On at ',
      h('span', { class: 'mono selectable', 'data-testid': 'gateway-url' }, gateway.base_url),
      h('button', {
        type: 'button', class: 'button button-small', 'data-testid': 'gateway-copy-url',
        onclick: () => copy(gateway.base_url, 'Address copied.'),
      }, 'Copy'),
    );
  } else if (gateway?.state === 'failed') {
    line.replaceChildren(
      h('span', { class: 'status-dot status-dot-fail', 'aria-hidden': 'true' }),
      `Could not start: ${gateway.message ?? 'unknown reason'}`,
    );
  } else if (elsewhere) {
    line.textContent = 'Another Patchbay process serves apps; its gateway is off.';
  } else {
    line.replaceChildren(
      h('span', { class: 'status-dot status-dot-off', 'aria-hidden': 'true' }),
      'Off: nothing listens. Apps can still list your models and ask to pair.',
    );
  }
}

async function copy(text, done) {
  try {
    await navigator.clipboard.writeText(text);
    toast(done);
  } catch {
    toast('Select the text and press Ctrl+C to copy it.');
  }
}

async function setEnabled(event) {
  const toggle = event.currentTarget;
  toggle.disabled = true;
  try {
    const status = await api.setGatewayEnabled(toggle.checked);
    renderGateway(status);
    if (status.gateway?.state === 'failed') toast(status.gateway.message ?? 'The gateway could not start.', { error: true });
    else toast(toggle.checked ? 'The gateway is on.' : 'The gateway is off.');
  } catch (error) {
    toast(error.message, { error: true });
  } finally {
    toggle.disabled = false;
    await wiring.refresh();
  }
}

function openTokenDialog() {
  $('#token-form').hidden = false;
  $('#token-shown').hidden = true;
  $('#token-app-name').value = '';
  $('#token-error').hidden = true;
  $('#token-dialog').showModal();
  $('#token-app-name').focus();
}

/** The token leaves the page when the dialog closes, however it closes. */
function forgetToken() {
  $('#token-value').textContent = '';
  $('#token-base-url').textContent = '';
}

async function createToken(event) {
  event.preventDefault();
  const name = $('#token-app-name').value.trim();
  if (!name) {
    $('#token-error').textContent = 'Enter the app\u2019s name, as you want to see it in Patchbay.';
    $('#token-error').hidden = false;
    $('#token-app-name').focus();
    return;
  }
  $('#token-create').disabled = true;
  try {
    const issued = await api.issueHostToken(name);
    $('#token-shown-name').textContent = issued.app_name;
    $('#token-value').textContent = issued.token;
    $('#token-base-url').textContent = issued.base_url
      ? `Base URL: ${issued.base_url}`
      : 'The gateway is off: turn it on to use the token.';
    $('#token-form').hidden = true;
    $('#token-shown').hidden = false;
    $('#token-copy').focus();
    await wiring.refresh();
  } catch (error) {
    $('#token-error').textContent = error.fields?.[0]?.message ?? error.message;
    $('#token-error').hidden = false;
  } finally {
    $('#token-create').disabled = false;
  }
}

/** Wires the card; `refresh` re-reads Connected apps after a change. */
export function initGateway({ refresh }) {
  wiring.refresh = refresh;
  $('#gateway-enabled').addEventListener('change', setEnabled);
  $('#gateway-create-token').addEventListener('click', openTokenDialog);
  $('#token-form').addEventListener('submit', createToken);
  $('#token-cancel').addEventListener('click', () => $('#token-dialog').close());
  $('#token-done').addEventListener('click', () => $('#token-dialog').close());
  $('#token-copy').addEventListener('click', () => copy($('#token-value').textContent, 'Token copied.'));
  $('#token-dialog').addEventListener('close', forgetToken);
}
