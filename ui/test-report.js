// One connection test's report, as the details pane and the form both show
// it: the stages in order (pending while running, skipped when not reached)
// and the one-line summary. A run is {running, chat, stages: Map, report,
// error}; `prefix` namespaces the test ids (`stage-…`, `form-stage-…`).

import { h, messageNodes, setMessage } from './dom.js';

export const STAGE_NAMES = {
  url_policy: 'URL policy',
  dns: 'DNS',
  tcp_connect: 'Connect',
  tls: 'TLS',
  models: 'GET /models',
  chat: 'Chat',
};
const STAGE_ICONS = { ok: '✓', failed: '✕', skipped: '–' };

/** Fills `list` with one row per stage of `run`. */
export function renderStages(list, run, prefix) {
  const order = Object.keys(STAGE_NAMES).filter((stage) => stage !== 'chat' || run.chat || run.stages.has('chat'));
  list.replaceChildren(...order.map((stage) => {
    const report = run.stages.get(stage);
    const status = report?.status ?? (run.running ? 'pending' : 'skipped');
    return h('li', {
      class: `test-stage stage-${status}`, 'data-stage': stage, 'data-status': status, 'data-testid': `${prefix}stage-${stage}`,
    },
    h('span', { class: 'stage-icon', 'aria-hidden': 'true' }, STAGE_ICONS[status] ?? ''),
    h('span', { class: 'stage-name' }, STAGE_NAMES[stage]),
    h('span', { class: 'stage-detail' }, report ? messageNodes(report.detail) : run.running ? 'Waiting…' : ''),
    h('span', { class: 'stage-time' }, report && report.status !== 'skipped' ? `${report.duration_ms} ms` : ''),
    report?.failure?.hint ? h('span', { class: 'stage-hint' }, messageNodes(report.failure.hint)) : null,
    h('span', { class: 'visually-hidden' }, `: ${status}`));
  }));
}

/** "Testing…", the failure, or the report's summary, in `summary`. */
export function renderSummary(summary, run) {
  summary.className = 'test-summary';
  if (run.running) {
    summary.replaceChildren(h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Testing…');
  } else if (run.error) {
    summary.classList.add('failed');
    setMessage(summary, run.error.kind === 'cancelled' ? 'Cancelled.' : run.error.message);
  } else if (run.report) {
    summary.classList.add(run.report.ok ? 'ok' : 'failed');
    setMessage(summary, run.report.summary);
  } else {
    summary.textContent = '';
  }
}
