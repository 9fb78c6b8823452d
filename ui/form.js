// The add/edit form. It collects a ProviderDraft for Rust, which does all the
// validation; the form only shows what Rust says, inline beside each field.
// Keys are write-only: the form never receives one, it can only send a new
// one ({action: "set"}), keep the stored one, or remove it.

import { api } from './api.js';
import { $, $$, h, debounce } from './dom.js';

const NETWORK_GROUPS = [
  { network: 'remote', label: 'Cloud services' },
  { network: 'local', label: 'On this computer' },
  { network: 'private', label: 'On your network' },
];

const PICKER_PAGE = 200;

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
    ...overrides,
  };
}

export class ProviderForm {
  constructor({ onSaved, onCancel }) {
    this.onSaved = onSaved;
    this.onCancel = onCancel;
    this.presets = [];
    this.element = $('#provider-form');
    this.reset();
    this.bind();
  }

  reset() {
    this.mode = 'add';
    this.id = null;
    this.models = [];
    this.headers = [];
    this.keyAction = 'set';
    this.storedKeyHint = null;
    this.previousPreset = null;
    this.saving = false;
    this.saved = null;
    this.discovered = null;
    this.pickerLimit = PICKER_PAGE;
  }

  setPresets(presets) {
    this.presets = presets;
    const select = $('#field-preset');
    select.replaceChildren(h('option', { value: '' }, 'Custom endpoint'));
    for (const group of NETWORK_GROUPS) {
      const members = presets.filter((preset) => preset.network === group.network && preset.id !== 'custom');
      if (members.length === 0) continue;
      select.append(h('optgroup', { label: group.label }, members.map((preset) => h('option', { value: preset.id }, preset.name))));
    }
  }

  presetById(id) {
    return this.presets.find((preset) => preset.id === id) ?? null;
  }

  bind() {
    this.element.addEventListener('submit', (event) => {
      event.preventDefault();
      this.save();
    });
    $('#cancel-form').addEventListener('click', () => this.onCancel());
    this.element.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && !$('#confirm-dialog').open) {
        event.preventDefault();
        this.onCancel();
      }
    });

    $('#field-preset').addEventListener('change', () => this.applyPreset($('#field-preset').value));

    const preview = debounce(() => this.updatePreview(), 200);
    $('#field-base-url').addEventListener('input', preview);
    $$('input[name="network"]').forEach((radio) => radio.addEventListener('change', preview));
    $$('input[name="auth"]').forEach((radio) => radio.addEventListener('change', () => this.renderAuth()));

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
      this.keyAction = 'set';
      this.renderAuth();
      $('#field-api-key').focus();
    });
    $('#cancel-replace-key').addEventListener('click', () => {
      this.keyAction = 'keep';
      $('#field-api-key').value = '';
      this.renderAuth();
      $('#replace-key').focus();
    });
    $('#remove-key').addEventListener('click', () => {
      this.keyAction = 'remove';
      this.renderAuth();
      $('#undo-remove-key').focus();
    });
    $('#undo-remove-key').addEventListener('click', () => {
      this.keyAction = 'keep';
      this.renderAuth();
      $('#remove-key').focus();
    });

    $('#add-model').addEventListener('click', () => this.addModelFromInput());
    $('#field-new-model').addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        this.addModelFromInput();
      }
    });

    $('#discover-models').addEventListener('click', () => this.discover());
    $('#model-search').addEventListener('input', debounce(() => {
      this.pickerLimit = PICKER_PAGE;
      this.renderPicker();
    }, 80));
    $('#model-picker-more').addEventListener('click', () => {
      this.pickerLimit += PICKER_PAGE;
      this.renderPicker();
    });
    $('#close-model-picker').addEventListener('click', () => {
      $('#model-picker').hidden = true;
      $('#discover-models').focus();
    });

    $('#add-header').addEventListener('click', () => {
      this.headers.push({ name: '', value: '', secret: false, stored: false, hint: null });
      this.renderHeaders();
      const rows = $$('.header-row');
      rows[rows.length - 1]?.querySelector('input')?.focus();
    });
  }

  /** Opens the form: `provider` is a ProviderView when editing. */
  open({ provider = null, presetId = null, replaceKey = false, discovered = null } = {}) {
    this.reset();
    this.clearErrors();
    const editing = provider !== null;
    this.saved = provider;
    $('#model-picker').hidden = true;
    $('#discover-status').textContent = '';
    this.mode = editing ? 'edit' : 'add';
    this.id = editing ? provider.id : null;
    $('#form-title').textContent = editing ? `Edit ${provider.label}` : 'Add a provider';
    $('#form-subtitle').textContent = editing
      ? `ID ${provider.id} — apps keep using this ID when you rename the provider.`
      : 'Any OpenAI-compatible endpoint: a cloud service, a gateway, or a model running on this computer.';
    $('#save-provider').textContent = editing ? 'Save changes' : 'Add provider';

    $('#field-label').value = editing ? provider.label : '';
    $('#field-base-url').value = editing ? provider.base_url : '';
    $('#field-preset').value = editing && provider.preset && this.presetById(provider.preset) ? provider.preset : '';
    this.previousPreset = this.presetById($('#field-preset').value);
    this.setRadio('auth', editing ? provider.auth : 'api_key');
    this.setRadio('network', editing ? provider.network : 'remote');
    $('#field-enabled').checked = editing ? provider.enabled : true;
    $('#field-timeout').value = editing && provider.timeout_secs ? String(provider.timeout_secs) : '';
    $('#field-proxy').value = editing && provider.proxy ? provider.proxy : '';
    $('#field-api-key').value = '';
    $('#field-api-key').type = 'password';
    $('#toggle-key-visibility').textContent = 'Show';
    $('#toggle-key-visibility').setAttribute('aria-pressed', 'false');
    $('#field-new-model').value = '';

    this.models = editing ? provider.models.map((model) => (typeof model === 'string' ? model : model.id)) : [];
    this.headers = editing
      ? (provider.headers ?? []).map((header) => ({
          name: header.name,
          value: header.secret ? '' : header.value ?? '',
          secret: Boolean(header.secret),
          stored: Boolean(header.secret),
          hint: header.hint ?? null,
        }))
      : [];
    $('#advanced').open = this.headers.length > 0 || Boolean(editing && (provider.timeout_secs || provider.proxy));

    this.storedKeyHint = editing ? provider.key_hint ?? null : null;
    this.keyAction = this.storedKeyHint && !replaceKey ? 'keep' : 'set';

    if (!editing && presetId) {
      $('#field-preset').value = presetId;
      this.applyPreset(presetId);
    }
    this.renderPresetHelp();
    this.renderAuth();
    this.renderModels();
    this.renderHeaders();
    this.updatePreview();
    this.element.hidden = false;
    if (discovered) {
      this.showPicker(discovered);
      $('#model-search').focus();
      return;
    }
    (replaceKey ? $('#field-api-key') : editing ? $('#field-label') : $('#field-preset')).focus();
  }

  /** Asks the server for its models: the saved provider's credentials when
   * the form still matches them, otherwise what is typed in the form. */
  async discover() {
    const button = $('#discover-models');
    const status = $('#discover-status');
    const baseUrl = $('#field-base-url').value;
    const network = this.radioValue('network') ?? 'remote';
    const auth = this.radioValue('auth');
    const typedKey = this.keyAction === 'set' ? $('#field-api-key').value : '';
    const saved = this.saved;
    const proxy = $('#field-proxy').value.trim() || null;
    const matchesSaved = saved && baseUrl.trim() === saved.base_url && network === saved.network && auth === saved.auth && !typedKey && proxy === (saved.proxy ?? null);
    button.disabled = true;
    status.replaceChildren(h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Asking the server for its models…');
    try {
      const models = matchesSaved
        ? await api.discoverModels(saved.id)
        : await api.discoverModelsAt(baseUrl, network, auth === 'none' || !typedKey ? null : typedKey, proxy);
      this.showPicker(models);
      $('#model-search').focus();
    } catch (error) {
      status.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  }

  showPicker(models) {
    this.discovered = models;
    this.pickerLimit = PICKER_PAGE;
    $('#model-search').value = '';
    $('#model-picker').hidden = false;
    $('#discover-status').textContent = models.length === 0
      ? 'The server lists no models. Type model IDs below.'
      : `The server lists ${models.length} model${models.length === 1 ? '' : 's'}. Tick the ones to use.`;
    this.renderPicker();
  }

  /** Renders the matches a page at a time, so 10,000 models stay responsive. */
  renderPicker() {
    const models = this.discovered ?? [];
    const query = $('#model-search').value.trim().toLowerCase();
    const matches = query
      ? models.filter((model) => model.id.toLowerCase().includes(query) || (model.name ?? '').toLowerCase().includes(query))
      : models;
    const shown = matches.slice(0, this.pickerLimit);
    $('#model-picker-list').replaceChildren(
      ...shown.map((model) => {
        const meta = [
          model.name && model.name !== model.id ? model.name : null,
          model.context_window ? `${Math.round(model.context_window / 1000)}k context` : null,
        ].filter(Boolean).join(' · ');
        return h('li', {},
          h('label', {},
            h('input', {
              type: 'checkbox', checked: this.models.includes(model.id), 'data-model-id': model.id,
              'data-testid': 'picker-option',
              onchange: (event) => {
                if (event.target.checked) {
                  if (!this.models.includes(model.id)) this.models.push(model.id);
                } else {
                  this.models = this.models.filter((id) => id !== model.id);
                }
                this.renderModels();
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

  setRadio(name, value) {
    const radio = $(`input[name="${name}"][value="${value}"]`);
    if (radio) radio.checked = true;
  }

  radioValue(name) {
    return $(`input[name="${name}"]:checked`)?.value;
  }

  applyPreset(id) {
    const preset = this.presetById(id);
    const previous = this.previousPreset;
    if (preset) {
      const label = $('#field-label');
      // Only overwrite what the previous preset filled in, never what the user typed.
      if (!label.value.trim() || (previous && label.value === previous.name)) label.value = preset.name;
      if (preset.base_url) $('#field-base-url').value = preset.base_url;
      this.setRadio('auth', preset.auth);
      this.setRadio('network', preset.network);
      const previousModels = previous?.models ?? [];
      const untouched = this.models.length === 0 || this.models.join('\n') === previousModels.join('\n');
      if (untouched && Array.isArray(preset.models) && preset.models.length > 0) this.models = [...preset.models];
    }
    this.previousPreset = preset;
    this.renderPresetHelp();
    this.renderAuth();
    this.renderModels();
    this.updatePreview();
  }

  renderPresetHelp() {
    const preset = this.presetById($('#field-preset').value);
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

  renderAuth() {
    const noAuth = this.radioValue('auth') === 'none';
    $('#key-section').hidden = noAuth;
    const stored = Boolean(this.storedKeyHint);
    $('#key-stored').hidden = !stored || this.keyAction !== 'keep';
    $('#key-stored-hint').textContent = this.storedKeyHint ?? '';
    $('#key-removing').hidden = this.keyAction !== 'remove';
    $('#key-entry').hidden = this.keyAction !== 'set';
    $('#cancel-replace-key').hidden = !stored;
    $('label[for="field-api-key"]').textContent = stored ? 'New API key' : 'API key';
  }

  addModelFromInput() {
    const input = $('#field-new-model');
    // Model ids are kept byte-for-byte; only the surrounding whitespace a paste brings is dropped.
    const value = input.value.trim();
    if (!value) {
      input.focus();
      return;
    }
    if (!this.models.includes(value)) this.models.push(value);
    input.value = '';
    this.renderModels();
    input.focus();
  }

  renderModels() {
    const list = $('#models-list');
    list.replaceChildren();
    if (this.models.length === 0) {
      list.append(h('li', { class: 'models-empty muted' }, 'No models yet — add at least one model ID below.'));
      return;
    }
    this.models.forEach((model, index) => {
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
                  this.models.splice(index, 1);
                  this.models.unshift(model);
                  this.renderModels();
                  $('#models-list button')?.focus();
                },
              }, 'Make default'),
          h('button', {
            type: 'button', class: 'button button-small button-quiet button-danger-quiet',
            'aria-label': `Remove model ${model}`,
            onclick: () => {
              this.models.splice(index, 1);
              this.renderModels();
              if (this.discovered && !$('#model-picker').hidden) this.renderPicker();
              $('#field-new-model').focus();
            },
          }, 'Remove'),
          h('p', { class: 'field-error model-error', id: `error-models-${index}`, hidden: true }),
        ),
      );
    });
  }

  renderHeaders() {
    const list = $('#headers-list');
    list.replaceChildren();
    this.headers.forEach((header, index) => {
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
              this.headers.splice(index, 1);
              this.renderHeaders();
              $('#add-header').focus();
            },
          }, 'Remove'),
          h('p', { class: 'field-error', id: `error-headers-${index}`, hidden: true }),
        ),
      );
    });
  }

  async updatePreview() {
    const input = $('#field-base-url').value;
    const network = this.radioValue('network') ?? 'remote';
    const preview = $('#base-url-preview');
    if (!input.trim()) {
      preview.replaceChildren();
      return;
    }
    let result;
    try {
      result = await api.previewBaseUrl(input, network);
    } catch (error) {
      preview.replaceChildren(h('p', { class: 'preview-problem' }, error.message));
      return;
    }
    // A newer keystroke may have started another preview; only the latest counts.
    if ($('#field-base-url').value !== input || (this.radioValue('network') ?? 'remote') !== network) return;
    const lines = [];
    if (result.ok) {
      lines.push(h('span', { class: 'request-line', 'data-testid': 'preview-models' }, h('span', { class: 'method' }, 'GET'), result.models_url));
      lines.push(h('span', { class: 'request-line', 'data-testid': 'preview-chat' }, h('span', { class: 'method' }, 'POST'), result.chat_url));
    } else if (result.error) {
      lines.push(h('p', { class: 'preview-problem', 'data-testid': 'preview-problem' }, result.error));
    }
    for (const notice of result.notices ?? []) lines.push(h('p', { class: 'preview-notice', 'data-testid': 'preview-notice' }, notice));
    if (result.policy && result.policy.allowed === false && result.policy.message) {
      lines.push(h('p', { class: 'preview-problem', 'data-testid': 'preview-policy', 'data-reason': result.policy.reason }, result.policy.message));
    }
    preview.replaceChildren(...lines);
  }

  keyChange() {
    const noAuth = this.radioValue('auth') === 'none';
    if (noAuth) {
      // Switching to "No authentication" should not leave an orphaned key in the keychain.
      return this.storedKeyHint ? { action: 'remove' } : { action: 'keep' };
    }
    if (this.keyAction === 'remove') return { action: 'remove' };
    const value = $('#field-api-key').value;
    if (this.keyAction === 'set' && value !== '') return { action: 'set', value };
    return { action: 'keep' };
  }

  draft() {
    const timeout = $('#field-timeout').value.trim();
    const preset = $('#field-preset').value;
    return {
      label: $('#field-label').value,
      preset: preset || null,
      base_url: $('#field-base-url').value,
      auth: this.radioValue('auth'),
      key: this.keyChange(),
      models: [...this.models],
      enabled: $('#field-enabled').checked,
      network: this.radioValue('network'),
      headers: this.headers.map((header) => ({
        name: header.name,
        // An empty value on a stored secret header means "keep what the keychain has".
        value: header.stored && header.secret && header.value === '' ? null : header.value,
        secret: header.secret,
      })),
      timeout_secs: timeout === '' ? null : Number(timeout),
      proxy: $('#field-proxy').value.trim() || null,
    };
  }

  async save() {
    if (this.saving) return;
    // A model typed but not yet added is what the user meant to save.
    if ($('#field-new-model').value.trim()) this.addModelFromInput();
    this.clearErrors();
    this.saving = true;
    const button = $('#save-provider');
    const buttonText = button.textContent;
    button.disabled = true;
    button.textContent = 'Saving…';
    try {
      const draft = this.draft();
      const saved = this.mode === 'edit' ? await api.editProvider(this.id, draft) : await api.addProvider(draft);
      $('#field-api-key').value = '';
      this.onSaved(saved, this.mode);
    } catch (error) {
      this.showError(error);
    } finally {
      this.saving = false;
      button.disabled = false;
      button.textContent = buttonText;
    }
  }

  clearErrors() {
    $('#form-errors').hidden = true;
    $('#form-errors').replaceChildren();
    for (const element of $$('[aria-invalid="true"]', this.element)) element.removeAttribute('aria-invalid');
    for (const element of $$('.field-error', this.element)) {
      element.hidden = true;
      element.textContent = '';
    }
    for (const element of $$('[data-error-described]', this.element)) {
      const original = element.dataset.errorDescribed;
      if (original) element.setAttribute('aria-describedby', original);
      else element.removeAttribute('aria-describedby');
      delete element.dataset.errorDescribed;
    }
  }

  /** Where a field error is shown: [the control to mark, the message element]. */
  locate(field) {
    const simple = {
      label: ['#field-label', '#error-label'],
      preset: ['#field-preset', '#error-preset'],
      base_url: ['#field-base-url', '#error-base-url'],
      key: ['#field-api-key', '#error-api-key'],
      auth: ['#auth-api-key', '#error-api-key'],
      models: ['#field-new-model', '#error-models'],
      network: ['#network-remote', '#error-network'],
      timeout_secs: ['#field-timeout', '#error-timeout-secs'],
      proxy: ['#field-proxy', '#error-proxy'],
      headers: ['#add-header', '#error-headers'],
    };
    if (simple[field]) return simple[field].map((selector) => $(selector, this.element));
    let match = /^models\[(\d+)\]/.exec(field);
    if (match) {
      const row = $(`[data-field="models[${match[1]}]"]`, this.element);
      return [row, $(`#error-models-${match[1]}`, this.element)];
    }
    match = /^headers\[(\d+)\](?:\.(name|value))?/.exec(field);
    if (match) {
      const control = $(`[data-field="headers[${match[1]}].${match[2] ?? 'name'}"]`, this.element);
      if (control) $('#advanced').open = true;
      return [control, $(`#error-headers-${match[1]}`, this.element)];
    }
    return [null, null];
  }

  showError(error) {
    const summary = $('#form-errors');
    const unplaced = [];
    let first = null;
    for (const { field, message } of error.fields ?? []) {
      const [control, messageElement] = this.locate(field);
      if (!control || !messageElement) {
        unplaced.push(message);
        continue;
      }
      if (field === 'timeout_secs' || field === 'proxy') $('#advanced').open = true;
      control.setAttribute('aria-invalid', 'true');
      messageElement.textContent = messageElement.textContent ? `${messageElement.textContent} ${message}` : message;
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
    if (unplaced.length > 0) summary.append(h('ul', {}, unplaced.map((message) => h('li', {}, message))));
    summary.hidden = false;
    if (first && typeof first.focus === 'function' && first.tabIndex >= 0) first.focus();
    else summary.scrollIntoView({ block: 'nearest' });
  }
}
