// Patchbay outside its window: the "When this window is closed" card under
// Connected apps (keep serving in the background, start at login, whether a
// tray icon is shown, Quit), the question asked the first time the window
// closes, and Quit from the sidebar (Ctrl+Q). Rust decides everything; the
// page shows what `background_status` answers.

import { api, onCloseRequested } from './api.js';
import { $, toast } from './dom.js';

let status = null;

function whereText(current) {
  if (current?.tray) {
    return 'Patchbay stays in the tray: open it, switch the gateway or quit from there.';
  }
  const why = current?.no_tray_reason ? `No tray icon here: ${current.no_tray_reason}. ` : 'No tray icon here. ';
  return `${why}Nothing shows that Patchbay is running: open Patchbay again from your applications to see this window or to quit it.`;
}

function render(current) {
  status = current;
  if (!current) return;
  $('#keep-serving').checked = Boolean(current.keep_serving);
  const autostart = current.autostart;
  $('#autostart').checked = Boolean(autostart?.enabled);
  $('#autostart').disabled = !autostart;
  if (!autostart) {
    $('#autostart-status').textContent = `Start at login is not available: ${current.autostart_error ?? 'unknown reason'}`;
  } else if (autostart.enabled) {
    $('#autostart-status').textContent = autostart.entry
      ? `Starts at login from ${autostart.entry}.`
      : 'Starts at login.';
  } else {
    $('#autostart-status').textContent = 'Off: start Patchbay yourself when you need it.';
  }
  $('#background-status').textContent = current.keep_serving
    ? whereText(current)
    : 'Closing the window quits Patchbay: apps lose your endpoints until you open it again.';
}

export async function refreshBackground() {
  try {
    render(await api.backgroundStatus());
  } catch (error) {
    $('#background-status').textContent = `Could not read the background settings: ${error.message}`;
  }
}

async function change(input, apply, done) {
  const wanted = input.checked;
  input.disabled = true;
  try {
    render(await apply(wanted));
    toast(done(wanted));
  } catch (error) {
    input.checked = !wanted;
    toast(error.message, { error: true });
  } finally {
    input.disabled = status ? !status.autostart && input.id === 'autostart' : false;
  }
}

async function quit() {
  toast('Patchbay is quitting…');
  try {
    await api.quitApp();
  } catch (error) {
    toast(error.message, { error: true });
  }
}

async function askOnClose(event) {
  const current = event.payload ?? status;
  $('#close-where').textContent = whereText(current);
  const dialog = $('#close-dialog');
  if (!dialog.open) dialog.showModal();
  $('#close-keep').focus();
}

async function answerClose(keepServing) {
  $('#close-dialog').close();
  try {
    await api.finishClose(keepServing);
  } catch (error) {
    toast(error.message, { error: true });
  }
}

export async function initBackground() {
  $('#keep-serving').addEventListener('change', (event) => change(
    event.currentTarget,
    (on) => api.setKeepServing(on),
    (on) => (on ? 'Closing the window keeps Patchbay serving your apps.' : 'Closing the window quits Patchbay.'),
  ));
  $('#autostart').addEventListener('change', (event) => change(
    event.currentTarget,
    (on) => api.setAutostart(on),
    (on) => (on ? 'Patchbay starts at login, in the background.' : 'Patchbay no longer starts at login.'),
  ));
  $('#background-quit').addEventListener('click', quit);
  $('#quit-app').addEventListener('click', quit);
  document.addEventListener('keydown', (event) => {
    if (event.key.toLowerCase() === 'q' && (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey) {
      event.preventDefault();
      quit();
    }
  });
  $('#close-keep').addEventListener('click', () => answerClose(true));
  $('#close-quit').addEventListener('click', () => answerClose(false));
  // Escape keeps the window open: nothing was decided.
  $('#close-dialog').addEventListener('cancel', () => toast('The window stays open.'));
  try {
    await onCloseRequested(askOnClose);
  } catch (error) {
    console.warn('close requests will not be asked about', error);
  }
  await refreshBackground();
}
