// "What apps see": exactly the entries host apps receive (Rust's
// `what_apps_see`, the same list the IPC server and the gateway serve),
// with their capabilities, the default marker and which paired apps used
// each one last. Search and a capability filter narrow it; nothing here
// changes anything.

import { api } from './api.js';
import { $, h, relativeTime, formatDate, toast } from './dom.js';
import { state } from './state.js';

const wiring = { showView: () => {}, canLeave: async () => true };
/** This view's part of the state. */
const view = state.appsSee;

const CAPABILITY_NAMES = { streaming: 'Streaming', tools: 'Tools', image_input: 'Images', json_output: 'JSON' };

function badges(capabilities) {
  return Object.entries(CAPABILITY_NAMES)
    .filter(([key]) => capabilities?.[key]?.value === true)
    .map(([key, name]) => {
      const known = capabilities[key];
      const how = known.source === 'probed' ? `checked ${relativeTime(known.at)}` : 'advertised by the model list';
      return h('span', { class: `badge cap cap-yes cap-${known.source}`, title: `${name}: ${how}` }, name);
    });
}

function usedText(used) {
  if (used.length === 0) return 'Not used by a paired app yet';
  return `Last used by ${used.map((use) => `${use.app_name} ${relativeTime(use.at)} (${use.via === 'gateway' ? 'through the gateway' : 'resolved'})`).join(', ')}`;
}

function matches(entry, words, capability) {
  if (capability && entry.capabilities?.[capability]?.value !== true) return false;
  const haystack = `${entry.label} ${entry.id} ${entry.provider.label}`.toLowerCase();
  return words.every((word) => haystack.includes(word));
}

function render() {
  const words = $('#apps-see-search').value.toLowerCase().split(/\s+/).filter(Boolean);
  const capability = $('#apps-see-filter').value;
  const shown = view.entries.filter((entry) => matches(entry, words, capability));
  $('#apps-see-count').textContent = view.entries.length === 0
    ? 'Apps see no models: add a provider, or enable one.'
    : shown.length === view.entries.length
      ? `Apps see ${view.entries.length} model${view.entries.length === 1 ? '' : 's'}.`
      : `${shown.length} of the ${view.entries.length} models apps see.`;
  $('#apps-see-list').replaceChildren(...shown.map((entry) => h('li', { class: 'seen-row', 'data-testid': 'seen-entry', dataset: { id: entry.id } },
    h('span', { class: 'seen-head' },
      h('span', { class: 'seen-label' }, entry.label),
      entry.is_default ? h('span', { class: 'badge badge-accent', title: `The default model of ${entry.provider.label}` }, 'Default') : null,
      ...badges(entry.capabilities)),
    h('span', { class: 'seen-id mono' }, entry.id),
    h('span', { class: 'seen-used', 'data-testid': 'seen-used', title: entry.used_by.map((use) => `${use.app_name}: ${formatDate(use.at)}`).join('\n') }, usedText(entry.used_by)),
  )));
}

async function refresh() {
  try {
    view.entries = await api.whatAppsSee();
  } catch (error) {
    toast(`Could not list what apps see: ${error.message}`, { error: true });
  }
  render();
}

async function open() {
  if (!(await wiring.canLeave())) return;
  wiring.showView();
  $('#open-apps-see').setAttribute('aria-current', 'page');
  await refresh();
  $('#apps-see-title').focus();
}

/** The page calls this whenever the providers changed (a reorder, a hide…). */
export function appsSeeChanged() {
  if (!$('#apps-see-view').hidden) refresh();
}

export function appsSeeClosed() {
  $('#open-apps-see').removeAttribute('aria-current');
}

export function initAppsSee({ showView, canLeave }) {
  wiring.showView = showView;
  wiring.canLeave = canLeave;
  $('#open-apps-see').addEventListener('click', open);
  $('#apps-see-refresh').addEventListener('click', refresh);
  $('#apps-see-search').addEventListener('input', render);
  $('#apps-see-filter').addEventListener('change', render);
}
