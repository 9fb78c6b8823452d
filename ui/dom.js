// Small DOM helpers. Everything user- or config-provided goes in through
// textContent, never innerHTML.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

/** h('li', {class: 'x', dataset: {id}}, 'text', child) */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (name === 'class') {
      element.className = value;
    } else if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else {
      element.setAttribute(name, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/**
 * A message from Rust as nodes: `model-a` (how messages mark ids, URLs and
 * commands, which a terminal shows as is) becomes code text instead of
 * literal backticks. Unbalanced backticks stay as they are.
 */
export function messageNodes(text) {
  const parts = String(text ?? '').split('`');
  if (parts.length < 3 || parts.length % 2 === 0) return [String(text ?? '')];
  return parts.map((part, index) => (index % 2 === 1 ? h('code', { class: 'code' }, part) : part)).filter((part) => part !== '');
}

/**
 * A URL as nodes that wrap only after a `/`, `?`, `&` or `#` (a path
 * boundary), never inside a segment unless one alone is wider than the line.
 */
export function urlNodes(url) {
  const nodes = [];
  for (const piece of String(url ?? '').split(/(?<=[/?&#])/)) {
    if (nodes.length > 0) nodes.push(h('wbr'));
    nodes.push(piece);
  }
  return nodes;
}

/** Sets `element`'s content to the message `text` (see `messageNodes`). */
export function setMessage(element, text) {
  element.replaceChildren(...messageNodes(text));
}

export function debounce(fn, milliseconds) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), milliseconds);
  };
}

/** "just now", "5 min ago", "3 h ago", or a date. */
export function relativeTime(iso) {
  const then = new Date(iso);
  if (Number.isNaN(then.getTime())) return '';
  const seconds = Math.round((Date.now() - then.getTime()) / 1000);
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return then.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

export function formatDate(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** "Added <date>", kept on one line (the time never wraps away from it). */
export function datePart(label, iso) {
  return h('span', { class: 'nowrap' }, `${label} ${formatDate(iso)}`);
}

/** What the person calls each draft field, for messages outside the form's own slots. */
const FIELD_NAMES = {
  label: 'Name', preset: 'Preset', base_url: 'Base URL', move_key: 'Base URL', auth: 'Authentication',
  key: 'API key', models: 'Models', network: 'Network access', timeout_secs: 'Request timeout',
  proxy: 'Proxy', proxy_username: 'Proxy user name', proxy_password: 'Proxy password',
  ca_certificate: 'CA certificate', headers: 'Custom headers', enabled: 'Enabled',
  model: 'Model', display_name: 'Display name', position: 'Position',
};

/** The field's name as the form labels it: `headers[1].name` → "Custom headers". */
export function fieldName(field) {
  return FIELD_NAMES[String(field).replace(/\[.*$/, '')] ?? 'This field';
}

/**
 * An error as a sentence for the person: a validation error lists its
 * fields by the names the form shows ("Base URL: …"), never the internal
 * field names; any other error is its own message.
 */
export function describeError(error) {
  const fields = error?.fields ?? [];
  if (error?.kind === 'invalid_input' && fields.length > 0) {
    return fields.map(({ field, message }) => `${fieldName(field)}: ${message}`).join(' ');
  }
  return error?.message ?? String(error);
}

/**
 * Runs `change` (which adds or removes content above `anchor`) and scrolls
 * the page by as much as `anchor` moved, so what is under the pointer stays.
 */
export function keepInPlace(anchor, change) {
  const before = anchor.getBoundingClientRect().top;
  change();
  const moved = anchor.getBoundingClientRect().top - before;
  const scroller = anchor.closest('.detail');
  if (moved !== 0 && scroller) scroller.scrollTop += moved;
}

const toastRegion = () => document.getElementById('toasts');

/**
 * A transient message under the page (never over a control); errors stay
 * longer. A long message is cut to three lines, whole in its tooltip.
 */
export function toast(message, { error = false } = {}) {
  const element = h('div', { class: error ? 'toast toast-error' : 'toast', 'data-testid': 'toast', title: message },
    h('span', { class: 'toast-text' }, messageNodes(message)));
  const region = toastRegion();
  // Two at most: a burst of messages must not push the page out of view.
  while (region.children.length >= 2) region.firstElementChild.remove();
  region.append(element);
  setTimeout(() => element.remove(), error ? 8000 : 4500);
}

/** A modal confirmation using the native <dialog>. Resolves true on OK. */
export function confirmDialog({ title, text, ok, cancel = 'Cancel', danger = true }) {
  const dialog = document.getElementById('confirm-dialog');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = ok;
  // Red only for what cannot be undone (deleting); blue for a go-ahead.
  document.getElementById('confirm-ok').className = `button ${danger ? 'button-danger' : 'button-primary'}`;
  document.getElementById('confirm-cancel').textContent = cancel;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    document.getElementById('confirm-cancel').focus();
  });
}

/**
 * Fills the "Also test chat with …" choice with `ids`, keeping the
 * current choice when it is still there (the first model otherwise).
 */
export function fillModelChoice(select, ids) {
  const kept = select.value;
  select.replaceChildren(...ids.map((id) => h('option', { value: id }, id)));
  select.value = ids.includes(kept) ? kept : (ids[0] ?? '');
  select.disabled = ids.length === 0;
}

