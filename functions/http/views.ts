/**
 * The HTML views of the API, for a browser that posts the form or follows a status link without
 * JavaScript: the form again with its values and errors, a task's status in words, and the error pages.
 * They use the site's stylesheet and favicon and hold no inline script or style, so that the site's
 * `default-src 'self'` policy holds; the status view refreshes itself with `<meta http-equiv="refresh">`
 * (not a script) while the task can still change.
 */

import {
  type FeedbackFieldErrors,
  FIELD_NAMES,
  type FieldDefinition,
  type FieldName,
  type FormValues,
  feedbackFields,
  HONEYPOT_FIELD,
} from '../form/fields.ts';
import { isFinal, statusUrl, type TaskView } from '../task/record.ts';
import {
  awaitsDelivery,
  DAILY_QUOTA_ERROR_TYPE,
  DELIVERY_WAIT_MS,
  statusWords,
} from '../task/status-words.ts';

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

/** How a page behaves beyond its title and content. */
export interface PageOptions {
  /** Reload the page after this many seconds (a task that can still change). */
  refreshSeconds?: number;
}

/**
 * A small page in the site's look (`/styles.css`, `/favicon.svg`). `title` is text (escaped here);
 * `content` is HTML the caller built with {@link escapeHtml}.
 */
export function htmlPage(title: string, content: string, options: PageOptions = {}): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    options.refreshSeconds === undefined
      ? ''
      : `<meta http-equiv="refresh" content="${Math.max(1, Math.round(options.refreshSeconds))}">`,
    `<title>${escapeHtml(title)}</title>`,
    '<link rel="icon" href="/favicon.svg" type="image/svg+xml">',
    '<link rel="stylesheet" href="/styles.css">',
    '</head>',
    '<body>',
    '<main>',
    `<h1>${escapeHtml(title)}</h1>`,
    content,
    '</main>',
    '</body>',
    '</html>\n',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

const BACK_TO_FORM = '<p class="actions"><a class="button" href="/">Back to the form</a></p>';

/** A page that says one thing and leads back to the form (404, 400, 403, 503). */
export function messagePage(title: string, text: string): string {
  return htmlPage(title, `<p>${escapeHtml(text)}</p>\n${BACK_TO_FORM}`);
}

/** What a client over the per-client limit reads (the WAF rule's answer on AWS, the gateway's locally). */
export const TOO_MANY_REQUESTS_MESSAGE =
  'Too many feedbacks from this connection. Please try again in a few minutes.';

/** The JSON answer over the per-client limit, the WAF rule's and the local gateway's. */
export const TOO_MANY_REQUESTS_BODY = { error: 'too_many_requests', message: TOO_MANY_REQUESTS_MESSAGE };

/** The page of a browser's form post over the per-client limit. */
export function tooManyRequestsPage(): string {
  return messagePage('Please wait a moment', TOO_MANY_REQUESTS_MESSAGE);
}

/** The form's fields, with what was typed and each field's errors. */
export interface FormFieldsOptions {
  values?: FormValues;
  errors?: FeedbackFieldErrors;
  /**
   * For the page's script: an empty, hidden error line under every field, which it fills in. Without it
   * (a no-JavaScript answer) a field has one line per error, and none when it has none.
   */
  scriptSlots?: boolean;
}

const errorId = (name: FieldName, i: number) => `${name}-error${i === 0 ? '' : `-${i}`}`;

function fieldHtml(name: FieldName, { values = {}, errors = {}, scriptSlots = false }: FormFieldsOptions) {
  const field: FieldDefinition = feedbackFields[name];
  const texts = errors[name] ?? [];
  const errorIds = scriptSlots ? [errorId(name, 0)] : texts.map((_, i) => errorId(name, i));
  const describedBy = [...(field.hint ? [`${name}-hint`] : []), ...errorIds];
  const attributes = [
    `id="${name}"`,
    `name="${name}"`,
    field.control === 'textarea' ? 'rows="6"' : `type="${field.control}"`,
    field.required ? 'required' : '',
    `maxlength="${field.maxLength}"`,
    field.autocomplete ? `autocomplete="${field.autocomplete}"` : '',
    field.control === 'email' ? 'spellcheck="false"' : '',
    field.control === 'textarea' ? '' : `value="${escapeHtml(values[name] ?? '')}"`,
    texts.length > 0 ? 'aria-invalid="true"' : '',
    describedBy.length > 0 ? `aria-describedby="${describedBy.join(' ')}"` : '',
  ].filter((attribute) => attribute !== '');
  const control =
    field.control === 'textarea'
      ? // A newline right after <textarea> is dropped by the parser: the first one keeps the value's own.
        `<textarea ${attributes.join(' ')}>\n${escapeHtml(values[name] ?? '')}</textarea>`
      : `<input ${attributes.join(' ')}>`;
  const errorLines = scriptSlots
    ? [`<p id="${errorId(name, 0)}" class="field-error" hidden></p>`]
    : texts.map((text, i) => `<p id="${errorId(name, i)}" class="field-error">${escapeHtml(text)}</p>`);
  return [
    '<div class="field">',
    `<label for="${name}">${escapeHtml(field.label)}</label>`,
    field.hint ? `<p id="${name}-hint" class="hint">${escapeHtml(field.hint)}</p>` : '',
    control,
    ...errorLines,
    '</div>',
  ];
}

/**
 * The form's fields from their one definition (`form/fields.ts`), then the honeypot: the page's form
 * (built into `index.html`) and the no-JavaScript form view show the same markup.
 */
export function formFieldsHtml(options: FormFieldsOptions = {}): string {
  return [
    ...FIELD_NAMES.flatMap((name) => fieldHtml(name, options)),
    '<div class="honeypot" aria-hidden="true">',
    `<label for="${HONEYPOT_FIELD}">Leave this empty</label>`,
    `<input id="${HONEYPOT_FIELD}" name="${HONEYPOT_FIELD}" type="text" tabindex="-1" autocomplete="off">`,
    '</div>',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

/** The 400 view of a form post: the form again, with what was typed and each field's errors beside it. */
export function formPage({ values, errors }: { values: FormValues; errors: FeedbackFieldErrors }): string {
  const content = [
    '<p class="alert" role="alert">Please correct the fields marked below, then send again.</p>',
    '<form method="post" action="/api/feedback">',
    formFieldsHtml({ values, errors }),
    '<button type="submit">Submit</button>',
    '</form>',
  ];
  return htmlPage('Please check your feedback', content.join('\n'));
}

/** Seconds between the status view's own reloads: soon while the task moves, rarely while the quota holds it. */
const REFRESH_SECONDS = { moving: 3, quota: 60 } as const;

/** How the status view is shown. */
export interface TaskStatusPageOptions {
  /** The time the view is made (whether SES may still say something of the copy). @default now */
  now?: Date;
  /**
   * Reload by itself until the task is done, because the visitor asked for it (`?refresh=on`). Not by
   * default: a page that reloads every few seconds moves a screen reader's place and keyboard focus
   * without warning (WCAG 2.2.1, axe's `meta-refresh`), so the visitor turns it on, and can turn it off.
   */
  autoRefresh?: boolean;
}

/**
 * The no-JavaScript status view of an existing task: its state in words, a link to check at once, one to
 * let the page reload itself until the task is done (and, for up to `DELIVERY_WAIT_MS` after it was sent,
 * until SES said whether its copy arrived), and one to send another feedback.
 */
export function taskStatusPage(task: TaskView, options: TaskStatusPageOptions = {}): string {
  const { now = new Date(), autoRefresh = false } = options;
  const words = statusWords(task);
  // The step, in the words that open the status line: "Queued", "Sending", "Delivered", "Failed"…
  const step = words.text.split(/[:…(]/)[0]?.trim() ?? task.status;
  const sentMsAgo = now.getTime() - Date.parse(task.finishedAt ?? '');
  const awaitingDelivery =
    awaitsDelivery(task.status, task.emails?.visitor?.status) && sentMsAgo < DELIVERY_WAIT_MS;
  const final = isFinal(task.status) && !awaitingDelivery;
  const url = escapeHtml(statusUrl(task.taskId));
  const lines = [
    '<p class="lead">We got your feedback.</p>',
    `<p class="status" role="status">${escapeHtml(words.text)}</p>`,
    words.reason === undefined ? '' : `<p class="reason">${escapeHtml(words.reason)}</p>`,
    // The page's "Technical details" disclosure: what the worker recorded, for whoever looks into it.
    words.technical === undefined
      ? ''
      : `<details><summary>Technical details</summary><p><code>${escapeHtml(words.technical)}</code></p></details>`,
    '<dl class="facts">',
    '<dt>Step</dt>',
    `<dd>${escapeHtml(step)}</dd>`,
    '<dt>Reference</dt>',
    `<dd><code>${escapeHtml(task.taskId)}</code></dd>`,
    '</dl>',
    final
      ? ''
      : autoRefresh
        ? '<p class="hint">This page updates by itself every few seconds.</p>'
        : '<p class="hint">This page does not change by itself: check again, or let it update itself.</p>',
    '<p class="actions">',
    final ? '' : `<a class="button" href="${url}">Check now</a>`,
    final
      ? ''
      : autoRefresh
        ? `<a class="button" href="${url}">Stop updating</a>`
        : `<a class="button" href="${url}?refresh=on">Update by itself</a>`,
    '<a class="button" href="/">Send another</a>',
    '</p>',
  ];
  const refreshSeconds =
    final || !autoRefresh
      ? undefined
      : task.error?.type === DAILY_QUOTA_ERROR_TYPE
        ? REFRESH_SECONDS.quota
        : REFRESH_SECONDS.moving;
  return htmlPage(
    'Thank you!',
    lines.filter((line) => line !== '').join('\n'),
    refreshSeconds === undefined ? {} : { refreshSeconds },
  );
}

/** The view of a task id that has no record (never existed, or expired): no thanks, since nothing was received. */
export function taskNotFoundPage(): string {
  return messagePage(
    'Feedback not found',
    'There is no feedback at this address. Feedback is kept for a few days only; you can send a new one.',
  );
}
