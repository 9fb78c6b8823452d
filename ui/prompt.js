// "Try a prompt" in a provider's page: one message to one of its models,
// sent by Rust the way an app's request goes through the gateway, the
// answer shown as it streams with the time to first token, tokens/s and
// usage. Stop cancels (Rust drops the provider connection). Nothing typed
// or answered is kept: leaving the provider clears it.

import { api, newTestId } from './api.js';
import { $, describeError, fillModelChoice } from './dom.js';
import { state } from './state.js';

/** This view's part of the state. */
const prompt = state.prompt;

function render() {
  const running = prompt.running !== null;
  $('#prompt-send').hidden = running;
  $('#prompt-stop').hidden = !running;
  $('#prompt-text').disabled = running;
  $('#prompt-model').disabled = running || $('#prompt-model').options.length === 0;
  $('#prompt-result').hidden = !prompt.shown;
  $('#prompt-result').setAttribute('aria-busy', running ? 'true' : 'false');
}

function stats(outcome) {
  const parts = [];
  parts.push(outcome.first_token_ms === null || outcome.first_token_ms === undefined
    ? 'No answer text' : `First token ${outcome.first_token_ms} ms`);
  parts.push(`${(outcome.duration_ms / 1000).toFixed(1)} s`);
  if (outcome.tokens_per_second) parts.push(`${outcome.tokens_per_second.toFixed(1)} tokens/s`);
  const usage = outcome.usage;
  if (usage) parts.push(`${usage.prompt_tokens ?? '?'} tokens in, ${usage.completion_tokens ?? '?'} out`);
  else parts.push('no usage reported');
  if (outcome.finish_reason) parts.push(`finished: ${outcome.finish_reason}`);
  return parts.join(' · ');
}

async function send(event) {
  event?.preventDefault();
  const providerId = state.selectedId;
  const text = $('#prompt-text').value;
  const model = $('#prompt-model').value;
  if (!providerId || prompt.running) return;
  if (!text.trim()) {
    $('#prompt-text').focus();
    return;
  }
  const promptId = newTestId('prompt');
  prompt.running = promptId;
  prompt.shown = true;
  const answer = $('#prompt-answer');
  const status = $('#prompt-stats');
  answer.textContent = '';
  status.textContent = 'Sending…';
  delete status.dataset.state;
  render();
  $('#prompt-stop').focus();
  try {
    const outcome = await api.tryPrompt(promptId, providerId, model, text, (piece) => {
      if (prompt.running === promptId) answer.append(piece);
    });
    if (prompt.running !== promptId) return;
    status.textContent = stats(outcome);
    status.dataset.state = 'done';
  } catch (error) {
    if (prompt.running !== promptId) return;
    status.textContent = error.kind === 'cancelled' ? 'Stopped.' : describeError(error);
    status.dataset.state = error.kind === 'cancelled' ? 'stopped' : 'failed';
  } finally {
    if (prompt.running === promptId) {
      prompt.running = null;
      render();
      $('#prompt-send').focus();
    }
  }
}

async function stop() {
  if (!prompt.running) return;
  try {
    await api.cancelCall(prompt.running);
  } catch (error) {
    console.warn('could not stop the prompt', error);
  }
}

/** Called whenever the details of `provider` are shown. */
export function promptShown(provider) {
  if (prompt.providerId !== provider.id) {
    // Another provider: what was typed and answered goes.
    if (prompt.running) stop();
    prompt.running = null;
    prompt.shown = false;
    prompt.providerId = provider.id;
    $('#prompt-text').value = '';
    $('#prompt-answer').textContent = '';
    $('#prompt-stats').textContent = '';
  }
  fillModelChoice($('#prompt-model'), provider.models.map((model) => model.id));
  render();
}

/** The page left the provider's details (another view). */
export function promptHidden() {
  if (prompt.running) stop();
}

export function initPrompt() {
  $('#prompt-form').addEventListener('submit', send);
  $('#prompt-stop').addEventListener('click', stop);
  $('#prompt-text').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) send(event);
    if (event.key === 'Escape' && prompt.running) {
      event.preventDefault();
      stop();
    }
  });
}
