// A key goes only where the person sent it. Each stored key remembers the
// origin (scheme, host, port) of the base URL it was given for; Rust
// withholds it from any other origin until the person says yes here:
// "Send your key for <old> to <new>?", with "Enter a new key" as the other
// choice. This module owns that question and the "key withheld" notice of
// a provider whose base URL was changed outside Patchbay.

import { $, h } from './dom.js';

/** `https://host[:port]` of a typed URL, as Rust compares it; null if it does not parse. */
export function originOf(url) {
  try {
    const parsed = new URL(String(url).trim());
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : null;
  } catch {
    return null;
  }
}

function hostOf(origin) {
  try {
    return new URL(origin).host;
  } catch {
    return origin;
  }
}

/**
 * Asks whether the stored key (and secret header values) given for `from`
 * may go to `to`. Resolves 'send', 'new-key' or 'cancel'.
 */
export function askToMoveKey({ from, to }) {
  const dialog = $('#move-key-dialog');
  $('#move-key-title').textContent = `Send your key for ${hostOf(from)} to ${hostOf(to)}?`;
  $('#move-key-text').replaceChildren(
    'Your key was given for ', h('strong', { class: 'mono' }, from),
    '. The base URL now points to ', h('strong', { class: 'mono' }, to),
    '. Patchbay sends a key only where you sent it — secret header values included.',
  );
  $('#move-key-send').textContent = `Send it to ${hostOf(to)}`;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue || 'cancel'), { once: true });
    dialog.showModal();
    $('#move-key-cancel').focus();
  });
}

/**
 * The notice for a provider whose stored key is withheld (its base URL was
 * changed outside Patchbay), or null. `onSend` confirms the move;
 * `onReplace` opens the form to enter a new key.
 */
export function withheldNotice(provider, { onSend, onReplace }) {
  const withheld = provider.key_withheld;
  if (!withheld) return null;
  return h('div', { class: 'offer offer-warn', 'data-testid': 'key-withheld' },
    h('p', {},
      h('strong', {}, 'Key withheld. '),
      `Your key was given for ${withheld.given_for}, but the base URL now points to ${withheld.base_origin} — it was changed outside Patchbay. `,
      'Patchbay sends the key nowhere until you decide.'),
    h('div', { class: 'row-actions' },
      h('button', { type: 'button', class: 'button button-small', 'data-testid': 'withheld-new-key', onclick: onReplace }, 'Enter a new key…'),
      h('button', {
        type: 'button', class: 'button button-small button-primary', 'data-testid': 'withheld-send', onclick: onSend,
      }, `Send it to ${hostOf(withheld.base_origin)}`)));
}
