// Import and export dialogs. Export writes a file in Rust (no key, no
// secret header value, no token, no trusted certificate). Import reads the
// chosen or dropped file here only to hand its text to Rust, which plans
// it: the dialog shows what is new, what changes, what collides, what the
// egress rules refuse and what would widen what Patchbay may reach; the
// person chooses per provider and agrees to each widening; nothing is
// written until Import, and then all of it or nothing.

import { api } from './api.js';
import { $, h, describeError, toast } from './dom.js';
import { state } from './state.js';

const wiring = { onImported: async () => {} };
/** This view's part of the state. */
const view = state.transfer;

const STANDING = {
  new: () => 'New',
  unchanged: () => 'Already here, the same',
  changes: (standing) => `Already here with other ${standing.fields.join(', ').replace(/_/g, ' ')}`,
  same_base_url: (standing) => `Same base URL as ${standing.with}`,
};

function choices() {
  return {
    on_conflict: 'skip',
    per_item: Object.fromEntries(view.perItem),
    allow_widening: [...view.allowed],
    exclude: [...view.excluded],
  };
}

function itemRow(item) {
  const conflict = item.standing.kind === 'changes' || item.standing.kind === 'same_base_url';
  const testid = `import-item-${item.source_id}`;
  let control;
  if (conflict) {
    control = h('select', { class: 'select select-small', 'aria-label': `What to do with ${item.label}`, 'data-testid': `${testid}-choice` },
      h('option', { value: 'skip' }, 'Keep the one here'),
      h('option', { value: 'replace' }, 'Replace it'),
      h('option', { value: 'rename' }, 'Add as a copy'));
    control.value = view.perItem.get(item.source_id) ?? 'skip';
    control.addEventListener('change', () => { view.perItem.set(item.source_id, control.value); preview(); });
  } else if (item.standing.kind === 'new' && !item.refused) {
    const box = h('input', { type: 'checkbox', 'data-testid': `${testid}-include` });
    box.checked = !view.excluded.has(item.source_id);
    box.addEventListener('change', () => {
      if (box.checked) view.excluded.delete(item.source_id);
      else view.excluded.add(item.source_id);
      preview();
    });
    control = h('label', { class: 'checkbox' }, box, h('span', {}, 'Import'));
  }
  const notes = [];
  if (item.refused) notes.push(h('li', { class: 'refused' }, `Not imported — ${item.refused}`));
  else if (item.action === 'skip' && item.skip_reason && !item.widens.length) notes.push(h('li', {}, `Skipped: ${item.skip_reason}`));
  if (item.action !== 'skip' && item.needs_key) notes.push(h('li', {}, 'Needs a key: add it after the import'));
  for (const need of item.needs ?? []) notes.push(h('li', {}, `Needs ${need}`));
  let widen = null;
  if (item.widens.length && !item.refused) {
    const box = h('input', { type: 'checkbox', 'data-testid': `${testid}-allow` });
    box.checked = item.widening_allowed;
    box.addEventListener('change', () => {
      if (box.checked) view.allowed.add(item.source_id);
      else view.allowed.delete(item.source_id);
      preview();
    });
    widen = h('label', { class: 'import-widen' }, box,
      h('span', {}, `Allow it to reach ${item.widens.join('; ')}`));
  }
  return h('li', { class: 'import-item', 'data-testid': testid, dataset: { action: item.action } },
    h('span', { class: 'import-head' },
      h('span', { class: 'import-label' }, item.label),
      h('span', { class: 'badge import-standing' }, STANDING[item.standing.kind]?.(item.standing) ?? item.standing.kind),
      control ?? null),
    h('span', { class: 'import-url mono' }, `${item.id} · ${item.base_url} · ${item.models.length} model${item.models.length === 1 ? '' : 's'}`),
    widen,
    notes.length ? h('ul', { class: 'import-notes' }, ...notes) : null);
}

function render() {
  const plan = view.plan;
  $('#import-items').replaceChildren(...(plan?.items ?? []).map(itemRow));
  const skipped = plan?.skipped ?? [];
  $('#import-skipped-box').hidden = skipped.length === 0;
  $('#import-skipped-title').textContent = `Not imported from the file (${skipped.length})`;
  $('#import-skipped').replaceChildren(...skipped.map((item) => h('li', {}, `${item.what}: ${item.why}`)));
  const writes = plan ? plan.adds + plan.replaces : 0;
  $('#import-summary').textContent = plan ? `${plan.adds} to add, ${plan.replaces} to replace, ${plan.skips} skipped` : '';
  $('#import-apply').disabled = writes === 0 || view.busy;
  $('#import-apply').textContent = writes === 0 ? 'Import' : `Import ${writes}`;
}

async function preview() {
  if (view.contents === null) return;
  try {
    view.plan = await api.previewImport(view.contents, choices());
    $('#import-error').hidden = true;
  } catch (error) {
    view.plan = null;
    $('#import-error').hidden = false;
    $('#import-error').textContent = describeError(error);
  }
  render();
}

async function load(file) {
  if (!file) return;
  $('#import-file-name').textContent = file.name;
  view.perItem = new Map();
  view.allowed = new Set();
  view.excluded = new Set();
  try {
    view.contents = await file.text();
  } catch (error) {
    view.contents = null;
    $('#import-error').hidden = false;
    $('#import-error').textContent = `Could not read ${file.name}: ${error.message ?? error}`;
    return;
  }
  await preview();
}

async function apply() {
  if (view.contents === null || view.busy) return;
  view.busy = true;
  render();
  try {
    const plan = await api.applyImport(view.contents, choices());
    $('#import-dialog').close();
    const keys = plan.items.filter((item) => item.action !== 'skip' && item.needs_key).length;
    toast(`Imported: ${plan.adds} added, ${plan.replaces} replaced.${keys ? ` ${keys} need${keys === 1 ? 's' : ''} a key.` : ''}`);
    await wiring.onImported();
  } catch (error) {
    $('#import-error').hidden = false;
    $('#import-error').textContent = `Nothing was imported: ${describeError(error)}`;
  } finally {
    view.busy = false;
    render();
  }
}

function openImport() {
  view.contents = null;
  view.plan = null;
  $('#import-file').value = '';
  $('#import-file-name').textContent = 'or drop it here';
  $('#import-error').hidden = true;
  render();
  $('#import-dialog').showModal();
  $('#import-drop label').focus();
}

function openExport() {
  $('#export-result').textContent = '';
  $('#export-items').replaceChildren(...state.providers.map((provider) => h('li', { class: 'export-item' },
    h('label', {}, h('input', { type: 'checkbox', checked: true, value: provider.id, 'data-testid': `export-item-${provider.id}` }),
      h('span', {}, provider.label), h('span', { class: 'muted small mono' }, provider.id)))));
  $('#export-save').disabled = state.providers.length === 0;
  $('#export-dialog').showModal();
  $('#export-save').focus();
}

async function saveExport() {
  const boxes = Array.from($('#export-items').querySelectorAll('input[type=checkbox]'));
  const chosen = boxes.filter((box) => box.checked).map((box) => box.value);
  if (chosen.length === 0) {
    $('#export-result').textContent = 'Choose at least one provider.';
    return;
  }
  try {
    const exported = await api.exportProviders(chosen.length === boxes.length ? [] : chosen);
    $('#export-result').textContent = `Saved ${exported.providers} provider${exported.providers === 1 ? '' : 's'} to ${exported.path}`;
  } catch (error) {
    $('#export-result').textContent = describeError(error);
  }
}

export function initTransfer({ onImported }) {
  wiring.onImported = onImported;
  $('#open-import').addEventListener('click', openImport);
  $('#open-export').addEventListener('click', openExport);
  $('#export-save').addEventListener('click', saveExport);
  $('#import-apply').addEventListener('click', apply);
  $('#import-file').addEventListener('change', (event) => load(event.target.files?.[0]));
  const zone = $('#import-dialog');
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    $('#import-drop').classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => $('#import-drop').classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    $('#import-drop').classList.remove('dragging');
    load(event.dataTransfer?.files?.[0]);
  });
}
