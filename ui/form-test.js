// "Test connection" inside the add/edit form: tests what is typed, before
// saving, with the key typed there (it only travels inward). Each stage
// arrives on the test's own channel and appears as it completes; Cancel
// ends the request in Rust. Offers (use …/v1, choose discovered
// models, trust a self-signed certificate) are buttons — nothing in the
// form changes unless the person clicks one.

import { api, newTestId } from './api.js';
import { $, h, describeError, toast, fillModelChoice } from './dom.js';
import { confirmKeyDestination, focusCaCertificate, formDraft, showModelPicker } from './form.js';
import { certificateOffer } from './certificate.js';
import { state } from './state.js';
import { renderStages, renderSummary } from './test-report.js';

/** This view's part of the state. */
const run = state.formTest;
const form = state.form;

/**
 * What a test of the draft depends on, as Rust's draft digest counts it:
 * everything but the name, preset and "enabled". A result is out of date
 * once this differs from what was tested (and current again if the person
 * puts the tested values back). Saving decides in Rust, by the digest.
 */
function testedPart(draft) {
  const { label, preset, enabled, ...tested } = draft;
  return JSON.stringify(tested);
}

/** The chat request's model choice follows the models typed in the form. */
function fillChatModels() {
  const models = formDraft().models.map((model) => model.trim()).filter(Boolean);
  fillModelChoice($('#form-test-chat-model'), models);
  if (run.running) $('#form-test-chat-model').disabled = true;
}

/** After any edit: marks the last result out of date if the draft moved on. */
function checkStale() {
  fillChatModels();
  if (run.tested === null || run.running) return;
  const stale = testedPart(formDraft()) !== run.tested;
  if (stale !== run.stale) {
    run.stale = stale;
    render();
  }
}

function render() {
  const started = run.running || run.report || run.error;
  const stale = !run.running && run.stale;
  $('#form-test-report').hidden = !started;
  $('#form-test-report').classList.toggle('stale', stale);
  $('#form-test-report').dataset.stale = String(stale);
  $('#form-test-stale').hidden = !stale;
  $('#form-test').hidden = run.running;
  $('#form-test').textContent = started ? 'Test again' : 'Test connection';
  $('#form-test-cancel').hidden = !run.running;
  $('#form-test-chat').disabled = run.running;
  $('#form-test-chat-model').disabled = run.running;
  if (!started) return;
  renderStages($('#form-test-stages'), run, 'form-');
  renderSummary($('#form-test-summary'), run);
  renderOffers();
}

function renderOffers() {
  const report = run.running ? null : run.report;
  const offers = [];
  if (report?.suggestion?.base_url) {
    const baseUrl = report.suggestion.base_url;
    offers.push(h('div', { class: 'offer', 'data-testid': 'form-offer-use-v1' },
      h('p', {}, report.suggestion.message),
      h('button', {
        type: 'button', class: 'button button-small button-primary', 'data-testid': 'form-use-suggestion',
        onclick: () => {
          const field = $('#field-base-url');
          field.value = baseUrl;
          // The preview and any listeners see it like typing.
          field.dispatchEvent(new Event('input', { bubbles: true }));
          field.focus();
          toast(`Base URL set to ${baseUrl}. Test again or save.`);
        },
      }, `Use ${baseUrl}`)));
  }
  const editing = form.mode === 'edit' && form.id;
  const certificate = certificateOffer(report, {
    prefix: 'form-',
    onAddCa: focusCaCertificate,
    onTrust: editing ? trust : null,
  });
  if (certificate) offers.push(certificate);
  if (report?.models?.length > 0) {
    const count = report.models.length;
    offers.push(h('div', { class: 'offer' },
      h('p', {}, `The server lists ${count} model${count === 1 ? '' : 's'}.`),
      h('button', {
        type: 'button', class: 'button button-small', 'data-testid': 'form-choose-models',
        onclick: () => {
          showModelPicker(report.models);
          $('#model-search').focus();
        },
      }, 'Choose models…')));
  }
  $('#form-test-offers').replaceChildren(...offers);
}

async function trust(sha256) {
  try {
    await api.trustCertificate(form.id, sha256);
    toast('The certificate is trusted for this provider only.');
    await start();
  } catch (error) {
    toast(error.message, { error: true });
  }
}

async function start() {
  if (run.running) return;
  // A kept key is tested against another origin only with the person's yes.
  if (!(await confirmKeyDestination())) return;
  const draft = formDraft();
  const testId = newTestId('form');
  Object.assign(run, {
    testId, chat: $('#form-test-chat').checked, stages: new Map(), report: null, error: null, running: true,
    tested: testedPart(draft), stale: false,
  });
  render();
  // The report opens below the button; keep it in view while it fills in.
  $('#form-test-card').scrollIntoView({ block: 'nearest' });
  $('#form-test-cancel').focus({ preventScroll: true });
  try {
    const target = { kind: 'draft', draft, id: form.mode === 'edit' ? form.id : null };
    const model = run.chat ? ($('#form-test-chat-model').value || draft.models[0] || null) : null;
    const report = await api.testConnection(testId, target, model, (stage) => {
      if (run.testId !== testId || !run.running) return;
      run.stages.set(stage.stage, stage);
      render();
    });
    if (run.testId !== testId) return;
    run.report = report;
    for (const stage of report.stages) run.stages.set(stage.stage, stage);
  } catch (error) {
    if (run.testId !== testId) return;
    run.error = error;
    if (error.kind === 'invalid_input') {
      run.error = { ...error, message: `Fix the form first. ${describeError(error)}` };
    }
  } finally {
    if (run.testId === testId) {
      run.running = false;
      render();
      $('#form-test-card').scrollIntoView({ block: 'nearest' });
      $('#form-test').focus({ preventScroll: true });
    }
  }
}

async function cancel() {
  if (!run.testId) return;
  try {
    await api.cancelTest(run.testId);
  } catch (error) {
    toast(error.message, { error: true });
  }
}

/** Forgets the last report: a new form (or another provider) starts clean. */
export function resetFormTest() {
  // A test of what the form held before is of no use any more.
  if (run.running) cancel();
  Object.assign(run, {
    testId: null, stages: new Map(), report: null, error: null, running: false, tested: null, stale: false,
  });
  $('#form-test-chat').checked = false;
  fillChatModels();
  render();
}

/** Wires the form's "Test connection" card. */
export function initFormTest() {
  $('#form-test').addEventListener('click', start);
  $('#form-test-cancel').addEventListener('click', cancel);
  // After the form's own handlers (a model added, a key replaced, a header
  // removed by a click): the result may no longer match what is typed.
  for (const type of ['input', 'change', 'click']) {
    $('#provider-form').addEventListener(type, () => setTimeout(checkStale, 0));
  }
  render();
}
