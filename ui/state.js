// The panel's one state owner. Every module keeps what it shows here, in its
// own part, and renders from it; nothing else holds view state. Rust owns
// the data (providers, keys, hosts): these are copies of what it returned.

export const state = {
  /** The provider views, as `list_providers` returned them. */
  providers: [],
  /** Config-file entries that were skipped, and a startup notice. */
  problems: [],
  notice: null,
  noticeDismissed: false,
  presets: [],
  selectedId: null,
  /** 'empty' | 'none' | 'detail' | 'form' | 'hosts' | 'apps' */
  view: 'empty',
  /** The remembered UI settings (theme, last selection); see `loadUiState`. */
  ui: null,
  /** provider id → the last test run in the details (see test-report.js). */
  tests: new Map(),
  /** The add/edit form (form.js); filled by its `reset()`. */
  form: {},
  /** The form's own test run (form-test.js). */
  formTest: {
    testId: null, chat: false, stages: new Map(), report: null, error: null, running: false,
    /** What the last test tested (see form-test.js), and whether the form moved on since. */
    tested: null, stale: false,
  },
  /** Connected apps (connected-apps.js). */
  hosts: {
    status: null,
    pending: [],
    paired: [],
    log: [],
    /** Requests through the gateway, newest first (`gateway_activity`). */
    activity: [],
    /** The request the dialog shows, and who was focused before it opened. */
    prompting: null,
    returnFocus: null,
    /** Requests closed with Escape: not prompted again, still listed. */
    dismissed: new Set(),
    refreshTimer: null,
  },
  /** "Check with the server" in the Models card (models.js). */
  models: {
    /** provider id → the catalog summary of the provider view last shown. */
    shownCatalog: new Map(),
    /** provider id → chosen models the server no longer lists. */
    goneCount: new Map(),
    inFlight: null,
    /** `${providerId}\n${modelId}` → the call id of a capability check running. */
    checking: new Map(),
    /** The provider whose models the card shows (the filter resets for another). */
    shownProvider: null,
  },
  /** Import and export (transfer.js): the file's text, the plan, the person's choices. */
  transfer: { contents: null, plan: null, perItem: new Map(), allowed: new Set(), excluded: new Set(), busy: false },
  /** "What apps see" (what-apps-see.js): the entries as Rust returned them. */
  appsSee: { entries: [] },
  /** "Try a prompt" (prompt.js): the provider shown, the prompt in flight. */
  prompt: { providerId: null, running: null, shown: false },
};

/** The provider with `id`, or null. */
export function findProvider(id) {
  return state.providers.find((provider) => provider.id === id) ?? null;
}
