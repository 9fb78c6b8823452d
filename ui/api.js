// The panel's only way into Rust: the app's commands, its events and the
// UI-state store. No other module touches `window.__TAURI__`. Errors always
// come back as {kind, reason, message, fields}, so callers branch on `kind`
// (or the precise `reason`) and never parse text.

const tauri = window.__TAURI__;

function asAppError(error) {
  if (error && typeof error === 'object' && typeof error.kind === 'string') {
    return {
      kind: error.kind,
      reason: error.reason ?? error.kind,
      message: String(error.message ?? ''),
      fields: error.fields ?? [],
    };
  }
  return { kind: 'unexpected', reason: 'unexpected', message: String(error), fields: [] };
}

async function call(command, args) {
  try {
    return await tauri.core.invoke(command, args);
  } catch (error) {
    throw asAppError(error);
  }
}

export const api = {
  listProviders: () => call('list_providers'),
  getProvider: (id) => call('get_provider', { id }),
  addProvider: (draft) => call('add_provider', { draft }),
  editProvider: (id, draft) => call('edit_provider', { id, draft }),
  /** What saving `draft` would report, without saving (live validation). */
  checkProviderDraft: (draft, id) => call('check_provider_draft', { draft, id }),
  setProviderEnabled: (id, enabled) => call('set_provider_enabled', { id, enabled }),
  /** Moves a provider before another (`before`) or to `position` (from 0); every provider, in order. */
  moveProvider: (id, before, position) => call('move_provider', { id, before, position }),
  /** One change to a provider's models: {action: add|remove|hide|show|rename|move, model, displayName?, position?}. */
  changeModel: (id, change) => call('change_model', { id, change }),
  removeProviderKey: (id) => call('remove_provider_key', { id }),
  /** The person's yes to "Send your key for <old> to <new>?" for a saved provider. */
  moveProviderKey: (id) => call('move_provider_key', { id }),
  deleteProvider: (id) => call('delete_provider', { id }),
  listPresets: () => call('list_presets'),
  previewBaseUrl: (input, network, apiKind = 'openai', apiVersion = null) =>
    call('preview_base_url', { input, network, api: apiKind, apiVersion }),
  /**
   * Runs the staged test of `target` — `{ kind: 'saved', id }` (the result is
   * recorded as the provider's last test) or `{ kind: 'draft', draft, id }`
   * (the form's typed values, `id` when editing; nothing recorded) — under
   * `testId` (see `newTestId`). `onStage` gets each stage as it completes.
   * `cancelTest(testId)` ends it; the call then rejects with kind `cancelled`.
   */
  testConnection: (testId, target, model, onStage) => {
    const channel = new tauri.core.Channel();
    channel.onmessage = onStage;
    return call('test_connection', { testId, target, model, onStage: channel });
  },
  cancelTest: (testId) => call('cancel_test', { testId }),
  /**
   * "Try a prompt" under `promptId` (see `newTestId`): each piece of the
   * answer goes to `onText` as it arrives; resolves with the timing and
   * usage. `cancelCall(promptId)` stops it (rejects with kind `cancelled`).
   */
  tryPrompt: (promptId, id, model, prompt, onText) => {
    const channel = new tauri.core.Channel();
    channel.onmessage = onText;
    return call('try_prompt', { promptId, id, model, prompt, onText: channel });
  },
  /** Stops a prompt or a capability check by the id it was started under. */
  cancelCall: (callId) => call('cancel_call', { callId }),
  /** The entries host apps receive, each with `used_by` (who used it last, via gateway or resolve). */
  whatAppsSee: () => call('what_apps_see'),
  /** Writes an export of `ids` (all when empty) to the Downloads folder: {path, providers}. */
  exportProviders: (ids) => call('export_providers', { ids }),
  /** The plan of importing `contents` with `choices` ({on_conflict, per_item, allow_widening, exclude}); writes nothing. */
  previewImport: (contents, choices) => call('preview_import', { contents, choices }),
  applyImport: (contents, choices) => call('apply_import', { contents, choices }),
  /** What checking a model's capabilities will send: {requests, chat_requests, approx_tokens, summary}. */
  capabilityPlan: (id, model) => call('capability_plan', { id, model }),
  /** Runs the check (only after the person agreed); the provider with the findings. */
  checkCapabilities: (callId, id, model) => call('check_capabilities', { callId, id, model }),
  trustCertificate: (id, sha256) => call('trust_certificate', { id, sha256 }),
  discoverModels: (id) => call('discover_models', { id }),
  /** Discovery for a form not saved yet; the typed key only travels inward. */
  /** The models at the server the form describes: its URL, key, headers, timeout and proxy. */
  discoverModelsAt: (draft, id = null) => call('discover_models_at', { draft, id }),
  /** "Check with the server": the server's list, stored as the provider's catalog. */
  refreshModels: (id) => call('refresh_models', { id }),

  // Connected apps. Tokens never reach the page: approve answers the app.
  hostsStatus: () => call('hosts_status'),
  pairedHosts: () => call('list_paired_hosts'),
  pendingPairings: () => call('pending_pairings'),
  approvePairing: (requestId) => call('approve_pairing', { requestId }),
  denyPairing: (requestId) => call('deny_pairing', { requestId }),
  revokeHost: (appId) => call('revoke_host', { appId }),
  resolveLog: () => call('resolve_log'),
  /** The gateway's switch (saved in settings.json); answers the new hosts status. */
  setGatewayEnabled: (enabled) => call('set_gateway_enabled', { enabled }),
  /** A token the person creates for an app: shown once, never stored here. */
  issueHostToken: (appName) => call('issue_host_token', { appName }),
  /** Requests apps sent through the gateway, newest first (no text, ever). */
  gatewayActivity: () => call('gateway_activity'),
  /** "May receive raw keys" for one app (off by default). */
  setRawKeys: (appId, allowed) => call('set_raw_keys', { appId, allowed }),
  /** Limits an app to `entries` (ids), or with null lets it use every entry. */
  setHostEntries: (appId, entries) => call('set_host_entries', { appId, entries }),

  // Patchbay outside its window.
  backgroundStatus: () => call('background_status'),
  setKeepServing: (keepServing) => call('set_keep_serving', { keepServing }),
  setAutostart: (enabled) => call('set_autostart', { enabled }),
  /** The answer to the first close: keep serving in the background, or quit. */
  finishClose: (keepServing) => call('finish_close', { keepServing }),
  quitApp: () => call('quit_app'),
};

let testCounter = 0;

/** A fresh id for one connection test, so Cancel ends that test and no other. */
export function newTestId(scope) {
  testCounter += 1;
  return `${scope}-${Date.now().toString(36)}-${testCounter}`;
}

/** Calls `handler` whenever another process changes the shared config. */
export function onProvidersChanged(handler) {
  return tauri.event.listen('providers-changed', handler);
}

/** Calls `handler` when a host app asks to pair. */
export function onPairingRequested(handler) {
  return tauri.event.listen('pairing-requested', handler);
}

/** Calls `handler` when the window is closed for the first time (asks about background serving). */
export function onCloseRequested(handler) {
  return tauri.event.listen('close-requested', handler);
}

/** Calls `handler` when a pairing was decided, an app revoked, or the server's status changed. */
export function onHostsChanged(handler) {
  return tauri.event.listen('hosts-changed', handler);
}

/**
 * The app's own UI state (theme, last selected provider), through the two
 * commands that allow exactly those settings. Failing storage only costs
 * remembering things, so it degrades to memory.
 */
export async function loadUiState() {
  const memory = new Map();
  return {
    async get(key) {
      if (memory.has(key)) return memory.get(key);
      try {
        return await call('get_ui_setting', { key });
      } catch (error) {
        console.warn('Could not read UI state', key, error);
        return null;
      }
    },
    async set(key, value) {
      memory.set(key, value);
      try {
        await call('set_ui_setting', { key, value });
      } catch (error) {
        console.warn('Could not remember UI state', key, error);
      }
    },
  };
}
