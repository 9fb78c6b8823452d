// The add/edit form. It collects a ProviderDraft for Rust, which does all the
// validation; the form only shows what Rust says, inline beside each field.
// Keys are write-only: the form never receives one, it can only send a new
// one ({action: "set"}), keep the stored one, or remove it — and a kept key
// goes to another origin only after the person says so (key-origin.js).

import { api } from './api.js';
import { $, $$, h, debounce, confirmDialog, describeError, keepInPlace, messageNodes, setMessage, toast, urlNodes } from './dom.js';
import { readCertificateFile } from './certificate.js';
import { askToMoveKey, originOf } from './key-origin.js';
import { state } from './state.js';

const NETWORK_GROUPS = [
  { network: 'remote', label: 'Cloud services' },
  { network: 'local', label: 'On this computer' },
  { network: 'private', label: 'On your network' },
];

const PICKER_PAGE = 200;

/** This view's part of the state (reset by `reset()` on every open). */
const form = state.form;
/** What the page does when the form saves or is cancelled. */
const callbacks = { onSaved: () => {}, onCancel: () => {} };

function formElement() {
  return $('#provider-form');
}

/** A draft that saves a provider as it is, with `overrides` applied. */
export function draftFromView(view, overrides = {}) {
  return {
    label: view.label,
    preset: view.preset ?? null,
    base_url: view.base_url,
    auth: view.auth,
    key: { action: 'keep' },
    models: view.models.map((model) => (typeof model === 'string' ? model : model.id)),
    enabled: view.enabled,
    network: view.network,
    headers: (view.headers ?? []).map((header) => ({
      name: header.name,
      value: header.secret ? null : header.value ?? '',
      secret: Boolean(header.secret),
    })),
    timeout_secs: view.timeout_secs ?? null,
    proxy: view.proxy ?? null,
    proxy_username: view.proxy_username ?? null,
    proxy_password: { action: 'keep' },
    ca_certificate: view.ca_certificate?.pem ?? null,
    api: view.api ?? 'openai',
    api_version: view.api_version ?? null,
    ...overrides,
  };
}



function reset() {
  form.mode = 'add';
  form.id = null;
  form.models = [];
  form.headers = [];
  form.keyAction = 'set';
  form.storedKeyHint = null;
  form.previousPreset = null;
  form.saving = false;
  form.live = false;
  form.saved = null;
  /** The origin the person agreed to send the stored key to, if any. */
  form.moveKeyTo = null;
  form.discovered = null;
  form.pickerLimit = PICKER_PAGE;
}

function setPresets(presets) {
  state.presets = presets;
  const select = $('#field-preset');
  select.replaceChildren(h('option', { value: '' }, 'Custom endpoint'));
  for (const group of NETWORK_GROUPS) {
    const members = presets.filter((preset) => preset.network === group.network && preset.id !== 'custom');
    if (members.length === 0) continue;
    select.append(h('optgroup', { label: group.label }, members.map((preset) => h('option', { value: preset.id }, preset.name))));
  }
}

function presetById(id) {
  return state.presets.find((preset) => preset.id === id) ?? null;
}

function bind() {
  formElement().addEventListener('input', scheduleRecheck);
  $('#field-label').addEventListener('input', checkLabel);
  formElement().addEventListener('change', scheduleRecheck);
  formElement().addEventListener('submit', (event) => {
    event.preventDefault();
    save();
  });
  // Cancel and Escape leave like any navigation: a form with changes asks first.
  const cancel = async () => {
    if (await leaveForm()) callbacks.onCancel();
  };
  $('#cancel-form').addEventListener('click', cancel);
  for (const radio of $$('input[name="azure-api"]')) {
    radio.addEventListener('change', () => {
      renderApi();
      updatePreview();
    });
  }
  $('#field-api-version').addEventListener('input', debounce(updatePreview, 250));
  $('#choose-ca-file').addEventListener('click', () => $('#ca-file').click());
  $('#ca-file').addEventListener('change', chooseCaFile);
  $('#clear-ca').addEventListener('click', () => {
    const field = $('#field-ca-certificate');
    field.value = '';
    field.dispatchEvent(new Event('input', { bubbles: true }));
    field.focus();
  });
  formElement().addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !$('#confirm-dialog').open && !$('#move-key-dialog').open) {
      event.preventDefault();
      cancel();
    }
  });

  $('#field-preset').addEventListener('change', () => applyPreset($('#field-preset').value));

  const preview = debounce(() => updatePreview(), 200);
  $('#field-base-url').addEventListener('input', preview);
  $$('input[name="network"]').forEach((radio) => radio.addEventListener('change', preview));
  $$('input[name="auth"]').forEach((radio) => radio.addEventListener('change', () => renderAuth()));

  $('#toggle-key-visibility').addEventListener('click', () => {
    const input = $('#field-api-key');
    const showing = input.type === 'text';
    input.type = showing ? 'password' : 'text';
    const button = $('#toggle-key-visibility');
    button.textContent = showing ? 'Show' : 'Hide';
    button.setAttribute('aria-pressed', String(!showing));
    button.setAttribute('aria-label', showing ? 'Show the key while typing' : 'Hide the key');
    input.focus();
  });
  $('#replace-key').addEventListener('click', () => {
    form.keyAction = 'set';
    renderAuth();
    $('#field-api-key').focus();
  });
  $('#cancel-replace-key').addEventListener('click', () => {
    form.keyAction = 'keep';
    $('#field-api-key').value = '';
    renderAuth();
    $('#replace-key').focus();
  });
  $('#remove-key').addEventListener('click', () => {
    form.keyAction = 'remove';
    renderAuth();
    $('#undo-remove-key').focus();
  });
  $('#undo-remove-key').addEventListener('click', () => {
    form.keyAction = 'keep';
    renderAuth();
    $('#remove-key').focus();
  });

  $('#add-model').addEventListener('click', () => addModelFromInput());
  $('#field-new-model').addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      addModelFromInput();
    }
  });

  $('#discover-models').addEventListener('click', () => discover());
  $('#model-search').addEventListener('input', debounce(() => {
    form.pickerLimit = PICKER_PAGE;
    renderPicker();
  }, 80));
  $('#model-picker-more').addEventListener('click', () => {
    form.pickerLimit += PICKER_PAGE;
    renderPicker();
  });
  $('#close-model-picker').addEventListener('click', () => {
    $('#model-picker').hidden = true;
    $('#discover-models').focus();
  });

  $('#add-header').addEventListener('click', () => {
    form.headers.push({ name: '', value: '', secret: false, stored: false, hint: null });
    renderHeaders();
    const rows = $$('.header-row');
    rows[rows.length - 1]?.querySelector('input')?.focus();
  });
}

/** Opens the form: `provider` is a ProviderView when editing. */
function open({ provider = null, presetId = null, replaceKey = false, discovered = null } = {}) {
  reset();
  clearErrors();
  const editing = provider !== null;
  form.saved = provider;
  $('#model-picker').hidden = true;
  $('#discover-status').textContent = '';
  $('#discover-error').hidden = true;
  form.mode = editing ? 'edit' : 'add';
  form.id = editing ? provider.id : null;
  $('#form-title').textContent = editing ? `Edit ${provider.label}` : 'Add a provider';
  $('#form-subtitle').textContent = editing
    ? `ID ${provider.id} — apps keep using this ID when you rename the provider.`
    : 'Any OpenAI-compatible endpoint: a cloud service, a gateway, or a model running on this computer.';
  $('#save-provider').textContent = editing ? 'Save changes' : 'Add provider';

  $('#field-label').value = editing ? provider.label : '';
  $('#field-base-url').value = editing ? provider.base_url : '';
  $('#field-preset').value = editing && provider.preset && presetById(provider.preset) ? provider.preset : '';
  form.previousPreset = presetById($('#field-preset').value);
  setRadio('auth', editing ? provider.auth : 'api_key');
  setRadio('network', editing ? provider.network : 'remote');
  $('#field-enabled').checked = editing ? provider.enabled : true;
  $('#field-timeout').value = editing && provider.timeout_secs ? String(provider.timeout_secs) : '';
  $('#field-proxy').value = editing && provider.proxy ? provider.proxy : '';
  $('#field-proxy-username').value = editing && provider.proxy_username ? provider.proxy_username : '';
  $('#field-proxy-password').value = '';
  form.storedProxyPassword = Boolean(editing && provider.proxy_username);
  $('#field-proxy-password').placeholder = form.storedProxyPassword ? 'Stored in the keychain — type to replace' : '';
  $('#field-ca-certificate').value = editing && provider.ca_certificate ? provider.ca_certificate.pem : '';
  renderCaSummary(editing ? provider.ca_certificate : null);
  form.api = editing ? provider.api ?? 'openai' : 'openai';
  setRadio('azure-api', editing && provider.api_version ? 'classic' : 'v1');
  $('#field-api-version').value = editing && provider.api_version ? provider.api_version : '';
  $('#field-api-key').value = '';
  $('#field-api-key').type = 'password';
  $('#toggle-key-visibility').textContent = 'Show';
  $('#toggle-key-visibility').setAttribute('aria-pressed', 'false');
  $('#field-new-model').value = '';

  form.models = editing ? provider.models.map((model) => (typeof model === 'string' ? model : model.id)) : [];
  form.headers = editing
    ? (provider.headers ?? []).map((header) => ({
        name: header.name,
        value: header.secret ? '' : header.value ?? '',
        secret: Boolean(header.secret),
        stored: Boolean(header.secret),
        hint: header.hint ?? null,
      }))
    : [];
  $('#advanced').open = form.headers.length > 0
    || Boolean(editing && (provider.timeout_secs || provider.proxy || provider.ca_certificate));

  form.storedKeyHint = editing ? provider.key_hint ?? null : null;
  form.keyAction = form.storedKeyHint && !replaceKey ? 'keep' : 'set';

  if (!editing && presetId) {
    $('#field-preset').value = presetId;
    applyPreset(presetId);
  }
  renderPresetHelp();
  renderAuth();
  renderApi();
  renderModels();
  renderHeaders();
  updatePreview();
  formElement().hidden = false;
  // What "unchanged" means for the unsaved-changes guard.
  form.pristine = JSON.stringify(draft());
  if (discovered) {
    showPicker(discovered);
    $('#model-search').focus();
    return;
  }
  (replaceKey ? $('#field-api-key') : editing ? $('#field-label') : $('#field-preset')).focus();
}

/** Asks the server the form describes for its models, with everything typed
 * in the form (a test of the form uses the same). */
async function discover() {
  const button = $('#discover-models');
  const status = $('#discover-status');
  const typed = draft();
  button.disabled = true;
  $('#discover-error').hidden = true;
  status.replaceChildren(h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Asking the server for its models…');
  try {
    // Everything typed counts (headers, timeout, proxy); an edit's stored
    // key is used for the origin it was given for.
    const models = await api.discoverModelsAt(typed, form.mode === 'edit' ? form.id : null);
    showPicker(models);
    $('#model-search').focus();
  } catch (error) {
    status.textContent = '';
    setMessage($('#discover-error'), `Could not list the server's models. ${describeError(error)}`);
    $('#discover-error').hidden = false;
  } finally {
    button.disabled = false;
  }
}

function showPicker(models) {
  form.discovered = models;
  form.pickerLimit = PICKER_PAGE;
  $('#model-search').value = '';
  $('#model-picker').hidden = false;
  $('#discover-status').textContent = models.length === 0
    ? 'The server lists no models. Type model IDs below.'
    : `The server lists ${models.length} model${models.length === 1 ? '' : 's'}. Tick the ones to use.`;
  renderPicker();
}

/** Renders the matches a page at a time, so 10,000 models stay responsive. */
function renderPicker() {
  const models = form.discovered ?? [];
  const query = $('#model-search').value.trim().toLowerCase();
  const matches = query
    ? models.filter((model) => model.id.toLowerCase().includes(query) || (model.name ?? '').toLowerCase().includes(query))
    : models;
  const shown = matches.slice(0, form.pickerLimit);
  $('#model-picker-list').replaceChildren(
    ...shown.map((model) => {
      const meta = [
        model.name && model.name !== model.id ? model.name : null,
        model.context_window ? `${Math.round(model.context_window / 1000)}k context` : null,
      ].filter(Boolean).join(' · ');
      return h('li', {},
        h('label', {},
          h('input', {
            type: 'checkbox', checked: form.models.includes(model.id), 'data-model-id': model.id,
            'data-testid': 'picker-option',
            onchange: (event) => {
              if (event.target.checked) {
                if (!form.models.includes(model.id)) form.models.push(model.id);
              } else {
                form.models = form.models.filter((id) => id !== model.id);
              }
              // The chosen list above grows or shrinks: the checklist stays under the pointer.
              keepInPlace($('#model-picker'), renderModels);
            },
          }),
          h('span', { class: 'picker-id' }, model.id),
          meta ? h('span', { class: 'picker-meta' }, meta) : null,
        ),
      );
    }),
  );
  $('#model-picker-count').textContent = query ? `${matches.length} of ${models.length}` : `${models.length}`;
  const rest = matches.length - shown.length;
  $('#model-picker-more').hidden = rest <= 0;
  $('#model-picker-more').textContent = `Show ${Math.min(rest, PICKER_PAGE)} more (${rest} left)`;
}

function setRadio(name, value) {
  const radio = $(`input[name="${name}"][value="${value}"]`);
  if (radio) radio.checked = true;
}

function radioValue(name) {
  return $(`input[name="${name}"]:checked`)?.value;
}

function applyPreset(id) {
  const preset = presetById(id);
  const previous = form.previousPreset;
  if (preset) {
    const label = $('#field-label');
    // Only overwrite what the previous preset filled in, never what the user typed.
    if (!label.value.trim() || (previous && label.value === previous.name)) label.value = preset.name;
    if (preset.base_url) $('#field-base-url').value = preset.base_url;
    setRadio('auth', preset.auth);
    setRadio('network', preset.network);
    form.api = preset.api ?? 'openai';
    const previousModels = previous?.models ?? [];
    const untouched = form.models.length === 0 || form.models.join('\n') === previousModels.join('\n');
    if (untouched && Array.isArray(preset.models) && preset.models.length > 0) form.models = [...preset.models];
  }
  form.previousPreset = preset;
  renderPresetHelp();
  renderAuth();
  renderApi();
  renderModels();
  updatePreview();
}

function renderPresetHelp() {
  const preset = presetById($('#field-preset').value);
  const help = $('#preset-help');
  help.replaceChildren();
  if (!preset) {
    help.append('Enter the base URL of any OpenAI-compatible API.');
    return;
  }
  if (preset.note) help.append(preset.note, ' ');
  if (preset.key_url) {
    help.append(h('span', { class: 'get-key', 'data-testid': 'get-key' }, 'Get a key: ', h('span', { class: 'mono selectable' }, preset.key_url)));
  }
}

function renderAuth() {
  const noAuth = radioValue('auth') === 'none';
  $('#key-section').hidden = noAuth;
  const stored = Boolean(form.storedKeyHint);
  $('#key-stored').hidden = !stored || form.keyAction !== 'keep';
  $('#key-stored-hint').textContent = form.storedKeyHint ?? '';
  $('#key-removing').hidden = form.keyAction !== 'remove';
  $('#key-entry').hidden = form.keyAction !== 'set';
  $('#cancel-replace-key').hidden = !stored;
  $('label[for="field-api-key"]').textContent = stored ? 'New API key' : 'API key';
}

function addModelFromInput() {
  const input = $('#field-new-model');
  // Model ids are kept byte-for-byte; only the surrounding whitespace a paste brings is dropped.
  const value = input.value.trim();
  if (!value) {
    input.focus();
    return;
  }
  if (!form.models.includes(value)) form.models.push(value);
  input.value = '';
  renderModels();
  input.focus();
}

function renderModels() {
  scheduleRecheck();
  const list = $('#models-list');
  list.replaceChildren();
  if (form.models.length === 0) {
    list.append(h('li', { class: 'models-empty muted' }, 'No models yet — add at least one model ID below.'));
    return;
  }
  form.models.forEach((model, index) => {
    const isDefault = index === 0;
    list.append(
      h('li', { dataset: { field: `models[${index}]` }, 'data-testid': 'model-row' },
        h('span', { class: 'model-id selectable' }, model),
        isDefault
          ? h('span', { class: 'badge badge-accent' }, 'Default')
          : h('button', {
              type: 'button', class: 'button button-small button-quiet',
              'aria-label': `Make ${model} the default model`,
              onclick: () => {
                form.models.splice(index, 1);
                form.models.unshift(model);
                renderModels();
                $('#models-list button')?.focus();
              },
            }, 'Make default'),
        h('button', {
          type: 'button', class: 'button button-small button-quiet button-danger-quiet',
          'aria-label': `Remove model ${model}`,
          onclick: () => {
            form.models.splice(index, 1);
            renderModels();
            if (form.discovered && !$('#model-picker').hidden) renderPicker();
            $('#field-new-model').focus();
          },
        }, 'Remove'),
        h('p', { class: 'field-error model-error', id: `error-models-${index}`, hidden: true }),
      ),
    );
  });
}

function renderHeaders() {
  scheduleRecheck();
  const list = $('#headers-list');
  list.replaceChildren();
  form.headers.forEach((header, index) => {
    const nameInput = h('input', {
      class: 'input mono', type: 'text', value: header.name, placeholder: 'Header name',
      'aria-label': `Header ${index + 1} name`, autocomplete: 'off', spellcheck: 'false',
      dataset: { field: `headers[${index}].name` },
      oninput: (event) => { header.name = event.target.value; },
    });
    const valueInput = h('input', {
      class: 'input mono', type: header.secret ? 'password' : 'text', value: header.value,
      placeholder: header.stored ? `Stored in keychain (${header.hint ?? 'hidden'}) — leave empty to keep` : 'Value',
      'aria-label': `Header ${index + 1} value`, autocomplete: 'off', spellcheck: 'false',
      dataset: { field: `headers[${index}].value` },
      oninput: (event) => { header.value = event.target.value; },
    });
    const secretBox = h('input', {
      type: 'checkbox', checked: header.secret,
      onchange: (event) => {
        header.secret = event.target.checked;
        valueInput.type = header.secret ? 'password' : 'text';
      },
    });
    list.append(
      h('div', { class: 'header-row', 'data-testid': 'header-row' },
        nameInput,
        valueInput,
        h('label', { class: 'checkbox' }, secretBox, 'Secret'),
        h('button', {
          type: 'button', class: 'button button-small button-quiet button-danger-quiet',
          'aria-label': `Remove header ${header.name || index + 1}`,
          onclick: () => {
            form.headers.splice(index, 1);
            renderHeaders();
            $('#add-header').focus();
          },
        }, 'Remove'),
        h('p', { class: 'field-error', id: `error-headers-${index}`, hidden: true }),
      ),
    );
  });
}

async function updatePreview() {
  const input = $('#field-base-url').value;
  const network = radioValue('network') ?? 'remote';
  const preview = $('#base-url-preview');
  if (!input.trim()) {
    preview.replaceChildren();
    return;
  }
  let result;
  try {
    result = await api.previewBaseUrl(input, network, form.api ?? 'openai', apiVersion());
  } catch (error) {
    preview.replaceChildren(h('p', { class: 'preview-problem' }, messageNodes(describeError(error))));
    return;
  }
  // A newer keystroke may have started another preview; only the latest counts.
  if ($('#field-base-url').value !== input || (radioValue('network') ?? 'remote') !== network) return;
  const lines = [];
  if (result.ok) {
    lines.push(h('span', { class: 'request-line', 'data-testid': 'preview-models' }, h('span', { class: 'method' }, 'GET'), h('span', { class: 'url' }, urlNodes(result.models_url))));
    lines.push(h('span', { class: 'request-line', 'data-testid': 'preview-chat' }, h('span', { class: 'method' }, 'POST'), h('span', { class: 'url' }, urlNodes(result.chat_url))));
  } else if (result.error) {
    lines.push(h('p', { class: 'preview-problem', 'data-testid': 'preview-problem' }, messageNodes(result.error)));
  }
  for (const notice of result.notices ?? []) lines.push(h('p', { class: 'preview-notice', 'data-testid': 'preview-notice' }, messageNodes(notice)));
  if (result.policy && result.policy.allowed === false && result.policy.message) {
    lines.push(h('p', { class: 'preview-problem', 'data-testid': 'preview-policy', 'data-reason': result.policy.reason }, messageNodes(result.policy.message)));
  }
  // A server on this computer or the LAN under a narrower allowance: one
  // click fixes it. Addresses that are never allowed get no such offer.
  const offer = { local: 'Switch to Local access', private: 'Switch to Private network access' }[result.suggested_network];
  if (offer) {
    lines.push(h('button', {
      type: 'button', class: 'button button-small', 'data-testid': 'preview-switch-network',
      onclick: () => {
        setRadio('network', result.suggested_network);
        $(`#network-${result.suggested_network}`).focus();
        updatePreview();
      },
    }, offer));
  }
  preview.replaceChildren(...lines);
}

function keyChange() {
  const noAuth = radioValue('auth') === 'none';
  if (noAuth) {
    // Switching to "No authentication" should not leave an orphaned key in the keychain.
    return form.storedKeyHint ? { action: 'remove' } : { action: 'keep' };
  }
  if (form.keyAction === 'remove') return { action: 'remove' };
  const value = $('#field-api-key').value;
  if (form.keyAction === 'set' && value !== '') return { action: 'set', value };
  return { action: 'keep' };
}

function draft() {
  const timeout = $('#field-timeout').value.trim();
  const preset = $('#field-preset').value;
  return {
    label: $('#field-label').value,
    preset: preset || null,
    base_url: $('#field-base-url').value,
    auth: radioValue('auth'),
    key: keyChange(),
    models: [...form.models],
    enabled: $('#field-enabled').checked,
    network: radioValue('network'),
    headers: form.headers.map((header) => ({
      name: header.name,
      // An empty value on a stored secret header means "keep what the keychain has".
      value: header.stored && header.secret && header.value === '' ? null : header.value,
      secret: header.secret,
    })),
    timeout_secs: timeout === '' ? null : Number(timeout),
    proxy: $('#field-proxy').value.trim() || null,
    proxy_username: $('#field-proxy-username').value.trim() || null,
    proxy_password: proxyPasswordChange(),
    ca_certificate: $('#field-ca-certificate').value.trim() || null,
    api: form.api ?? 'openai',
    api_version: apiVersion(),
    move_key: form.moveKeyTo !== null && form.moveKeyTo === originOf($('#field-base-url').value),
  };
}

/** Azure's API choice, shown only for an Azure OpenAI provider. */
function renderApi() {
  const azure = form.api === 'azure_openai';
  $('#azure-api').hidden = !azure;
  const classic = azure && radioValue('azure-api') === 'classic';
  $('#api-version-row').hidden = !classic;
  if (classic && !$('#field-api-version').value.trim()) $('#field-api-version').value = '2024-10-21';
}

/** The draft's API version: the classic Azure API's, or none. */
function apiVersion() {
  if (form.api !== 'azure_openai' || radioValue('azure-api') !== 'classic') return null;
  return $('#field-api-version').value.trim() || null;
}

/** The proxy password as the draft says it: typed (set), kept (a stored one
 * while a user name stays), or removed. */
function proxyPasswordChange() {
  const typed = $('#field-proxy-password').value;
  if (typed !== '') return { action: 'set', value: typed };
  if ($('#field-proxy-username').value.trim() === '') return { action: 'remove' };
  return { action: 'keep' };
}

/** What the saved CA certificate is, under the field. */
function renderCaSummary(ca) {
  const summary = $('#ca-summary');
  const certificates = ca?.certificates ?? [];
  summary.hidden = certificates.length === 0;
  summary.textContent = certificates.length === 0 ? '' : `Saved: ${certificates
    .map((certificate) => `${certificate.subject} (valid until ${certificate.not_after.slice(0, 10)})`).join('; ')}`;
}

/** Opens the Advanced section at the CA certificate field (a test's "Add CA certificate…"). */
export function focusCaCertificate() {
  $('#advanced').open = true;
  const field = $('#field-ca-certificate');
  field.scrollIntoView({ block: 'center' });
  field.focus();
}

async function chooseCaFile(event) {
  const file = event.target.files?.[0];
  event.target.value = '';
  if (!file) return;
  try {
    const field = $('#field-ca-certificate');
    field.value = await readCertificateFile(file);
    field.dispatchEvent(new Event('input', { bubbles: true }));
    toast(`Read ${file.name}. Test or save to check it.`);
  } catch (error) {
    toast(`Could not read ${file.name}: ${describeError(error)}`, { error: true });
  }
}

/**
 * Before the page leaves an open form (another provider, Add, Connected
 * apps): a form with unsaved changes asks first. Resolves true to leave.
 */
export async function leaveForm() {
  if (state.view !== 'form' || form.saving) return true;
  if ($('#field-new-model').value.trim() === '' && JSON.stringify(draft()) === form.pristine) return true;
  const name = $('#field-label').value.trim();
  const leave = await confirmDialog({
    title: 'Discard your changes?',
    text: `${name ? `The changes to ${name}` : 'This new provider'} ${name ? 'are' : 'is'} not saved. Keep editing to save them, or discard them.`,
    ok: 'Discard',
    cancel: 'Keep editing',
  });
  if (!leave) $('#field-label').focus();
  return leave;
}

/** Whether the draft keeps secrets the keychain holds for the saved provider. */
function keepsStoredSecrets() {
  if (form.mode !== 'edit' || !form.saved) return false;
  const keepsKey = radioValue('auth') === 'api_key' && Boolean(form.storedKeyHint) && keyChange().action === 'keep';
  return keepsKey || form.headers.some((header) => header.stored && header.secret && header.value === '');
}

/**
 * Before a save or a test of an edit: when the base URL now points to
 * another origin than the stored key was given for, asks the person.
 * Resolves true to go on, false to stop (the person cancelled, or chose to
 * enter a new key, which the form then asks for).
 */
export async function confirmKeyDestination() {
  if (!keepsStoredSecrets()) return true;
  const to = originOf($('#field-base-url').value);
  const from = form.saved.key_origin ?? originOf(form.saved.base_url);
  if (!to || !from || to === from || form.moveKeyTo === to) return true;
  const choice = await askToMoveKey({ from, to });
  if (choice === 'send') {
    form.moveKeyTo = to;
    return true;
  }
  if (choice === 'new-key') {
    form.keyAction = 'set';
    renderAuth();
    $('#field-api-key').focus();
  }
  return false;
}

async function save() {
  if (form.saving) return;
  // A model typed but not yet added is what the user meant to save.
  if ($('#field-new-model').value.trim()) addModelFromInput();
  clearErrors();
  form.saving = true;
  if (!(await confirmKeyDestination())) {
    form.saving = false;
    return;
  }
  const button = $('#save-provider');
  const buttonText = button.textContent;
  button.disabled = true;
  button.textContent = 'Saving…';
  try {
    const typed = draft();
    const saved = form.mode === 'edit' ? await api.editProvider(form.id, typed) : await api.addProvider(typed);
    $('#field-api-key').value = '';
    callbacks.onSaved(saved, form.mode);
  } catch (error) {
    showError(error);
    // From now on the form re-checks itself as the person fixes it.
    form.live = error.kind === 'invalid_input';
  } finally {
    form.saving = false;
    button.disabled = false;
    button.textContent = buttonText;
  }
}

function clearErrors() {
  $('#form-errors').hidden = true;
  $('#form-errors').replaceChildren();
  for (const element of $$('[aria-invalid="true"]', formElement())) element.removeAttribute('aria-invalid');
  for (const element of $$('.field-error', formElement())) {
    element.hidden = true;
    element.textContent = '';
  }
  for (const element of $$('[data-error-described]', formElement())) {
    const original = element.dataset.errorDescribed;
    if (original) element.setAttribute('aria-describedby', original);
    else element.removeAttribute('aria-describedby');
    delete element.dataset.errorDescribed;
  }
}

/** Where a field error is shown: [the control to mark, the message element]. */
function locate(field) {
  const simple = {
    label: ['#field-label', '#error-label'],
    preset: ['#field-preset', '#error-preset'],
    base_url: ['#field-base-url', '#error-base-url'],
    move_key: ['#field-base-url', '#error-base-url'],
    key: ['#field-api-key', '#error-api-key'],
    auth: ['#auth-api-key', '#error-api-key'],
    models: ['#field-new-model', '#error-models'],
    network: ['#network-remote', '#error-network'],
    timeout_secs: ['#field-timeout', '#error-timeout-secs'],
    proxy: ['#field-proxy', '#error-proxy'],
    proxy_username: ['#field-proxy-username', '#error-proxy-username'],
    proxy_password: ['#field-proxy-password', '#error-proxy-password'],
    ca_certificate: ['#field-ca-certificate', '#error-ca-certificate'],
    api_version: ['#field-api-version', '#error-api-version'],
    headers: ['#add-header', '#error-headers'],
  };
  if (simple[field]) return simple[field].map((selector) => $(selector, formElement()));
  let match = /^models\[(\d+)\]/.exec(field);
  if (match) {
    const row = $(`[data-field="models[${match[1]}]"]`, formElement());
    return [row, $(`#error-models-${match[1]}`, formElement())];
  }
  match = /^headers\[(\d+)\](?:\.(name|value))?/.exec(field);
  if (match) {
    const control = $(`[data-field="headers[${match[1]}].${match[2] ?? 'name'}"]`, formElement());
    if (control) $('#advanced').open = true;
    return [control, $(`#error-headers-${match[1]}`, formElement())];
  }
  return [null, null];
}

/**
 * After a failed save the form re-checks itself as the person edits
 * (debounced), through the same Rust validation that saving uses: an error
 * goes the moment its field is fixed, and the banner with the last one.
 */
const recheck = debounce(async () => {
  if (!form.live || state.view !== 'form') return;
  const typed = JSON.stringify(draft());
  let problems;
  try {
    problems = await api.checkProviderDraft(draft(), form.mode === 'edit' ? form.id : null);
  } catch {
    return;
  }
  // Only the answer for what is in the form now counts.
  if (!form.live || JSON.stringify(draft()) !== typed) return;
  clearErrors();
  if (problems.length > 0) showError({ kind: 'invalid_input', fields: problems }, { focus: false });
}, 250);

function scheduleRecheck() {
  if (form.live) recheck();
}

/**
 * Before any save, the name is checked as it is typed (Rust's rules and
 * words): one over the limit is said at once, not cut silently as a
 * `maxlength` would, nor left for the save. An empty name waits for Save.
 */
const checkLabel = debounce(async () => {
  if (form.live || state.view !== 'form') return;
  const typed = $('#field-label').value;
  let problems = [];
  if (typed.trim() !== '') {
    try {
      problems = (await api.checkProviderDraft(draft(), form.mode === 'edit' ? form.id : null)).filter((problem) => problem.field === 'label');
    } catch {
      return;
    }
  }
  if (form.live || $('#field-label').value !== typed) return;
  const message = $('#error-label');
  message.hidden = problems.length === 0;
  message.replaceChildren(...problems.flatMap((problem) => messageNodes(problem.message)));
  if (problems.length > 0) $('#field-label').setAttribute('aria-invalid', 'true');
  else $('#field-label').removeAttribute('aria-invalid');
}, 250);

function showError(error, { focus = true } = {}) {
  const summary = $('#form-errors');
  const unplaced = [];
  let first = null;
  for (const { field, message } of error.fields ?? []) {
    const [control, messageElement] = locate(field);
    if (!control || !messageElement) {
      unplaced.push(message);
      continue;
    }
    if (['timeout_secs', 'proxy', 'proxy_username', 'proxy_password', 'ca_certificate'].includes(field)) $('#advanced').open = true;
    control.setAttribute('aria-invalid', 'true');
    if (messageElement.childNodes.length > 0) messageElement.append(' ');
    messageElement.append(...messageNodes(message));
    messageElement.hidden = false;
    if (!('errorDescribed' in control.dataset)) control.dataset.errorDescribed = control.getAttribute('aria-describedby') ?? '';
    const describedBy = [control.dataset.errorDescribed, messageElement.id].filter(Boolean).join(' ');
    control.setAttribute('aria-describedby', describedBy);
    first ??= control;
  }
  const headline = error.kind === 'invalid_input'
    ? 'Nothing was saved. Fix the highlighted fields and try again.'
    : error.message;
  summary.replaceChildren(h('p', {}, headline));
  if (unplaced.length > 0) summary.append(h('ul', {}, unplaced.map((message) => h('li', {}, messageNodes(message)))));
  summary.hidden = false;
  if (!focus) return;
  if (first && typeof first.focus === 'function' && first.tabIndex >= 0) {
    // The whole field — label, control and message — in view, then the focus.
    revealField(first.closest('.field, .card') ?? first);
    first.focus({ preventScroll: true });
  } else {
    summary.scrollIntoView({ block: 'nearest' });
  }
}

/**
 * Scrolls the page so `field` is wholly in view with a margin: its top
 * below the page's top edge and its bottom above the sticky footer. A field
 * taller than the view shows its top (the label).
 */
function revealField(field) {
  const page = $('#detail');
  const margin = 16;
  const view = page.getBoundingClientRect();
  const footer = $('.form-footer', formElement()).getBoundingClientRect();
  const bottomEdge = Math.min(view.bottom, footer.top) - margin;
  const box = field.getBoundingClientRect();
  if (box.top < view.top + margin || box.height > bottomEdge - view.top - margin) {
    page.scrollTop += box.top - view.top - margin;
  } else if (box.bottom > bottomEdge) {
    page.scrollTop += box.bottom - bottomEdge;
  }
}

/** Wires the form once; `onSaved(saved, mode)` and `onCancel()` are the page's. */
export function initForm({ onSaved, onCancel }) {
  callbacks.onSaved = onSaved;
  callbacks.onCancel = onCancel;
  reset();
  bind();
}

export {
  open as openForm,
  draft as formDraft,
  showPicker as showModelPicker,
  setPresets as setFormPresets,
};
