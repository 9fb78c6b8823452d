// The provider list's order is the order of providers.json, which every
// list follows (entries, the gateway's model list, hosts reading the file).
// The person changes it by dragging a row, or from the keyboard with
// Alt+↑ / Alt+↓ on a focused row; Rust moves the provider and returns the
// new order.

import { api } from './api.js';
import { $, toast } from './dom.js';
import { state } from './state.js';

/** What the list does once the order changed. */
const wiring = { onMoved: () => {} };
/** The provider being dragged, while a drag lasts. */
let dragged = null;

async function moveTo(id, { before = null, position = null }) {
  try {
    const providers = await api.moveProvider(id, before, position);
    state.providers = providers;
    const index = providers.findIndex((provider) => provider.id === id);
    const label = providers[index]?.label ?? id;
    $('#provider-order-status').textContent = `${label} moved to position ${index + 1} of ${providers.length}.`;
    wiring.onMoved(id);
  } catch (error) {
    toast(`Could not move the provider: ${error.message}`, { error: true });
  }
}

function rowOf(target) {
  return target instanceof Element ? target.closest('.provider-item') : null;
}

function onKeyDown(event) {
  if (!event.altKey || !['ArrowUp', 'ArrowDown'].includes(event.key)) return;
  const row = rowOf(event.target);
  if (!row) return;
  event.preventDefault();
  event.stopPropagation();
  const index = state.providers.findIndex((provider) => provider.id === row.dataset.id);
  const target = event.key === 'ArrowUp' ? index - 1 : index + 1;
  if (index < 0 || target < 0 || target >= state.providers.length) return;
  moveTo(row.dataset.id, { position: target });
}

function clearDropMarks() {
  for (const row of $('#provider-list').children) row.classList.remove('drop-before', 'drop-after', 'dragging');
}

function onDragStart(event) {
  const row = rowOf(event.target);
  if (!row) return;
  dragged = row.dataset.id;
  row.classList.add('dragging');
  event.dataTransfer.effectAllowed = 'move';
  event.dataTransfer.setData('text/plain', dragged);
}

function dropPlace(event, row) {
  const box = row.getBoundingClientRect();
  return event.clientY < box.top + box.height / 2 ? 'before' : 'after';
}

function onDragOver(event) {
  const row = rowOf(event.target);
  if (!dragged || !row || row.dataset.id === dragged) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = 'move';
  clearDropMarks();
  row.classList.add(dropPlace(event, row) === 'before' ? 'drop-before' : 'drop-after');
}

function onDrop(event) {
  const row = rowOf(event.target);
  const id = dragged;
  dragged = null;
  clearDropMarks();
  if (!id || !row || row.dataset.id === id) return;
  event.preventDefault();
  const ids = state.providers.map((provider) => provider.id);
  if (dropPlace(event, row) === 'before') {
    moveTo(id, { before: row.dataset.id });
    return;
  }
  // After a row: before the one that follows it, or last.
  const next = ids[ids.indexOf(row.dataset.id) + 1];
  if (next === id) return;
  if (next) moveTo(id, { before: next });
  else moveTo(id, { position: ids.length - 1 });
}

export function initProviderOrder({ onMoved }) {
  wiring.onMoved = onMoved;
  const list = $('#provider-list');
  list.addEventListener('keydown', onKeyDown, true);
  list.addEventListener('dragstart', onDragStart);
  list.addEventListener('dragover', onDragOver);
  list.addEventListener('drop', onDrop);
  list.addEventListener('dragend', () => {
    dragged = null;
    clearDropMarks();
  });
}
