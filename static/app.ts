/**
 * The feedback page: validates with the API's own rules, submits once, then follows the task live.
 * The HTML works without this script (the form posts and the API answers with its own thank-you view);
 * this script only enhances it. It never writes inline styles (the CSP forbids them): it toggles
 * `hidden`, classes and ARIA attributes.
 */

import {
  type FeedbackFieldErrors,
  FIELD_NAMES,
  type FieldName,
  feedbackFields,
  validateFeedback,
} from '../functions/form/fields.ts';
import { TASK_ID_PATTERN, type TaskView } from '../functions/task/record.ts';
import { DAILY_QUOTA_ERROR_TYPE, DELIVERY_WAIT_MS } from '../functions/task/status-words.ts';
import { fetchTask, submitFeedback } from './api.ts';
import { DELIVERY_POLL_MS, formatElapsed, pollDelayMs, presentStatus, type Step } from './task-status.ts';

function byId<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`The page has no #${id}`);
  return found as T;
}

const page = {
  formView: byId<HTMLElement>('form-view'),
  form: byId<HTMLFormElement>('feedback-form'),
  alert: byId<HTMLElement>('form-alert'),
  submit: byId<HTMLButtonElement>('submit-button'),
  website: byId<HTMLInputElement>('website'),
  thanksView: byId<HTMLElement>('thanks-view'),
  thanksTitle: byId<HTMLElement>('thanks-title'),
  thanksLead: byId<HTMLElement>('thanks-lead'),
  steps: byId<HTMLElement>('task-steps'),
  taskId: byId<HTMLElement>('task-id'),
  runtimeLabel: byId<HTMLElement>('task-runtime-label'),
  runtime: byId<HTMLElement>('task-runtime'),
  status: byId<HTMLElement>('task-status'),
  reason: byId<HTMLElement>('task-reason'),
  note: byId<HTMLElement>('task-note'),
  details: byId<HTMLDetailsElement>('task-details'),
  error: byId<HTMLElement>('task-error'),
  sendAnother: byId<HTMLAnchorElement>('send-another'),
};

/** Each field of the form (`index.html` has them from their definition) and its error line. */
const fields = Object.fromEntries(
  FIELD_NAMES.map((name) => [
    name,
    { input: byId<HTMLInputElement | HTMLTextAreaElement>(name), error: byId<HTMLElement>(`${name}-error`) },
  ]),
) as Record<FieldName, { input: HTMLInputElement | HTMLTextAreaElement; error: HTMLElement }>;

/** What the visitor has typed, field by field. */
function typedValues(): Record<FieldName, string> {
  return Object.fromEntries(FIELD_NAMES.map((name) => [name, fields[name].input.value])) as Record<
    FieldName,
    string
  >;
}

const steps: Record<Step, HTMLElement> = {
  queued: byId('step-queued'),
  sending: byId('step-sending'),
  sent: byId('step-sent'),
};
const stepOrder: Step[] = ['queued', 'sending', 'sent'];

const BASE_TITLE = document.title;
const QUOTA_POLL_MS = 60_000;

// The page shows the contract's texts itself, instead of the browser's validation bubbles.
page.form.noValidate = true;

// ---- the form ----

let submitting = false;

page.form.addEventListener('submit', (event) => {
  event.preventDefault();
  // A double-click or a second Enter while the first request is out sends nothing more.
  if (submitting) return;
  void send();
});

async function send(): Promise<void> {
  hideAlert();
  const input = typedValues();
  const checked = validateFeedback(input);
  if (!checked.success) {
    showFieldErrors(checked.fields);
    return;
  }
  showFieldErrors({});
  setSubmitting(true);
  const outcome = await submitFeedback({ ...input, website: page.website.value });
  setSubmitting(false);
  switch (outcome.kind) {
    case 'accepted':
      fields.message.input.value = '';
      history.pushState(null, '', `/?task=${encodeURIComponent(outcome.taskId)}`);
      showThanks(outcome.taskId, { status: 'PENDING', attempts: 0 });
      page.thanksView.focus();
      break;
    case 'invalid':
      showFieldErrors(outcome.fields);
      break;
    case 'error':
      showAlert(outcome.message);
      break;
  }
}

function setSubmitting(on: boolean): void {
  submitting = on;
  // aria-disabled rather than disabled: the button keeps focus, and the flag above does the blocking.
  page.submit.setAttribute('aria-disabled', String(on));
  page.submit.textContent = on ? 'Sending…' : 'Submit';
  page.form.setAttribute('aria-busy', String(on));
}

/** Shows each field's errors beside it (or clears them) and moves focus to the first invalid field. */
function showFieldErrors(errors: FeedbackFieldErrors): void {
  let first: FieldName | undefined;
  for (const name of FIELD_NAMES) {
    const messages = errors[name] ?? [];
    setFieldError(name, messages);
    if (messages.length > 0 && first === undefined) first = name;
  }
  if (first !== undefined) fields[first].input.focus();
}

function setFieldError(name: FieldName, messages: string[]): void {
  const { input, error } = fields[name];
  error.textContent = messages.join(' ');
  error.hidden = messages.length === 0;
  if (messages.length > 0) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

// Once a field shows an error, it is checked again as the visitor corrects it.
for (const name of FIELD_NAMES) {
  fields[name].input.addEventListener('input', () => {
    if (fields[name].error.hidden) return;
    const checked = validateFeedback(typedValues());
    setFieldError(name, checked.success ? [] : (checked.fields[name] ?? []));
  });
}

function showAlert(message: string): void {
  page.alert.textContent = message;
  page.alert.hidden = false;
}

function hideAlert(): void {
  page.alert.hidden = true;
  page.alert.textContent = '';
}

// ---- the thank-you view ----

/** The task being followed; `sentAt` (the page's clock) is when it was first seen sent, awaiting its delivery. */
let polling: { taskId: string; attempt: number; timer: number | undefined; sentAt?: number } | undefined;

/**
 * The view's heading says only what the page knows: "Thank you!" once the API has the task (or has just
 * accepted it), as `index.html` words it; a neutral one while a link is being checked; "not found" for a
 * task the API does not have.
 */
type Headline = 'thanks' | 'checking' | 'gone';
const HEADLINES: Record<Headline, { title: string; lead: string; action: string }> = {
  thanks: {
    title: page.thanksTitle.textContent ?? '',
    lead: page.thanksLead.textContent ?? '',
    action: page.sendAnother.textContent ?? '',
  },
  checking: { title: 'Your feedback', lead: 'Looking it up…', action: 'Send another' },
  gone: {
    title: 'Feedback not found',
    lead: 'We cannot find this feedback. Its record is kept for a few days only, or the link is incomplete.',
    action: 'Send new feedback',
  },
};

function setHeadline(kind: Headline): void {
  const shown = HEADLINES[kind];
  page.thanksTitle.textContent = shown.title;
  page.thanksLead.textContent = shown.lead;
  // While checking, the steps keep their place (invisible), so that the view does not jump when they show.
  page.thanksView.classList.toggle('is-checking', kind === 'checking');
  page.steps.hidden = kind === 'gone';
  page.status.hidden = kind === 'gone';
  page.sendAnother.textContent = shown.action;
}

function showThanks(taskId: string, initial?: Pick<TaskView, 'status' | 'attempts'>): void {
  page.formView.hidden = true;
  page.thanksView.hidden = false;
  page.taskId.textContent = taskId;
  page.note.hidden = true;
  page.reason.hidden = page.details.hidden = true;
  page.thanksView.classList.remove('is-failed', 'is-sent', 'is-undelivered');
  showClock(undefined);
  if (initial) {
    setHeadline('thanks');
    renderTask(initial);
  } else {
    setHeadline('checking');
    setStatusText('Checking the status…');
    document.title = `Checking – ${BASE_TITLE}`;
  }
  startPolling(taskId, initial ? pollDelayMs(0) : 0);
}

function showForm(): void {
  stopPolling();
  showClock(undefined);
  document.title = BASE_TITLE;
  page.thanksView.hidden = true;
  page.formView.hidden = false;
}

function renderTask(
  task: Pick<TaskView, 'status' | 'attempts' | 'runtimeMs' | 'error' | 'startedAt' | 'emails'>,
): void {
  const shown = presentStatus(task);
  setHeadline('thanks');
  renderSteps(shown.step, shown.final && !shown.failed, shown.failed);
  setStatusText(shown.text);
  page.reason.textContent = shown.reason ?? '';
  page.reason.hidden = shown.reason === undefined;
  page.error.textContent = shown.technical ?? '';
  page.details.hidden = shown.technical === undefined;
  if (shown.runtime !== undefined) {
    showClock(undefined);
    page.runtimeLabel.textContent = 'Took';
    page.runtime.textContent = shown.runtime;
    page.runtime.hidden = page.runtimeLabel.hidden = false;
  } else {
    showClock(task.status === 'STARTED' ? task.startedAt : undefined);
  }
  page.thanksView.classList.toggle('is-failed', shown.failed);
  page.thanksView.classList.toggle('is-sent', shown.final && !shown.failed);
  page.thanksView.classList.toggle('is-undelivered', shown.undelivered);
  document.title = `${shown.text.split(/[:.(…]/)[0]?.trim()} – ${BASE_TITLE}`;
}

function renderSteps(current: Step, allDone: boolean, failed: boolean): void {
  const reached = stepOrder.indexOf(current);
  stepOrder.forEach((step, index) => {
    const item = steps[step];
    const isCurrent = index === reached;
    const state =
      isCurrent && failed
        ? 'failed'
        : index < reached || (isCurrent && allDone)
          ? 'done'
          : isCurrent
            ? 'current'
            : 'todo';
    for (const name of ['done', 'current', 'failed', 'todo'])
      item.classList.toggle(`is-${name}`, name === state);
    if (isCurrent) item.setAttribute('aria-current', 'step');
    else item.removeAttribute('aria-current');
    const label = item.querySelector('.step-state');
    if (label) label.textContent = state === 'todo' ? '' : ` (${state})`;
  });
}

// While a worker has the task, "Running for N s" counts up once a second beside the task id. It is not
// in the live region: screen readers hear the state changes, not every tick.
let clock: { startedAt: number; timer: number } | undefined;

/** Starts the running clock from `startedAt` (ISO-8601), or stops and hides it (`undefined`). */
function showClock(startedAt: string | undefined): void {
  const since = startedAt === undefined ? Number.NaN : Date.parse(startedAt);
  if (clock && clock.startedAt === since) return;
  if (clock) window.clearInterval(clock.timer);
  clock = undefined;
  page.runtime.hidden = page.runtimeLabel.hidden = true;
  if (Number.isNaN(since)) return;
  const tick = (): void => {
    page.runtime.textContent = formatElapsed(Date.now() - since);
  };
  page.runtimeLabel.textContent = 'Running for';
  tick();
  page.runtime.hidden = page.runtimeLabel.hidden = false;
  clock = { startedAt: since, timer: window.setInterval(tick, 1000) };
}

/** Sets the status line only when it changes, so screen readers announce each change once. */
function setStatusText(text: string): void {
  if (page.status.textContent !== text) page.status.textContent = text;
}

function startPolling(taskId: string, firstDelayMs: number): void {
  stopPolling();
  const current = { taskId, attempt: 0, timer: undefined as number | undefined };
  polling = current;
  current.timer = window.setTimeout(() => void poll(current), firstDelayMs);
}

function stopPolling(): void {
  if (polling?.timer !== undefined) window.clearTimeout(polling.timer);
  polling = undefined;
}

async function poll(current: NonNullable<typeof polling>): Promise<void> {
  current.timer = undefined;
  const outcome = await fetchTask(current.taskId);
  // The visitor went elsewhere (send another, back button) while this request was out.
  if (polling !== current) return;
  if (outcome.kind === 'gone') {
    stopPolling();
    showClock(undefined);
    page.note.hidden = true;
    setHeadline('gone');
    setStatusText('');
    document.title = `${HEADLINES.gone.title} – ${BASE_TITLE}`;
    // The view is named by its heading: moving focus to it has "Feedback not found" read out.
    page.thanksView.focus();
    return;
  }
  if (outcome.kind === 'unreachable') {
    page.note.textContent = 'Lost contact with the server; still trying…';
    page.note.hidden = false;
  } else {
    page.note.hidden = true;
    renderTask(outcome.task);
    const shown = presentStatus(outcome.task);
    if (shown.final) {
      // SES's word on the copy's delivery comes seconds after it was sent: a few more looks, then stop.
      current.sentAt ??= Date.now();
      if (!shown.awaitingDelivery || Date.now() - current.sentAt >= DELIVERY_WAIT_MS) {
        stopPolling();
        return;
      }
      current.timer = window.setTimeout(() => void poll(current), DELIVERY_POLL_MS);
      return;
    }
  }
  // A task held back by the daily quota waits hours: a look a minute is plenty.
  const delay =
    outcome.kind === 'task' && outcome.task.error?.type === DAILY_QUOTA_ERROR_TYPE
      ? QUOTA_POLL_MS
      : pollDelayMs(++current.attempt);
  current.timer = window.setTimeout(() => void poll(current), delay);
}

// A tab brought back to the front checks at once instead of waiting out the backoff.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState !== 'visible' || polling?.timer === undefined) return;
  window.clearTimeout(polling.timer);
  polling.attempt = 0;
  void poll(polling);
});

page.sendAnother.addEventListener('click', (event) => {
  event.preventDefault();
  history.pushState(null, '', '/');
  showForm();
  const empty =
    FIELD_NAMES.find((name) => feedbackFields[name].required && fields[name].input.value.trim() === '') ??
    'message';
  fields[empty].input.focus();
});

// ---- the address bar: `/?task=<id>` is the thank-you view, so it survives a reload ----

function route(): void {
  const taskId = new URLSearchParams(location.search).get('task');
  if (taskId === null) {
    showForm();
  } else if (TASK_ID_PATTERN.test(taskId)) {
    showThanks(taskId);
  } else {
    showForm();
    showAlert('That link does not point to a feedback we know. You can send a new one here.');
  }
}

window.addEventListener('popstate', route);
route();
