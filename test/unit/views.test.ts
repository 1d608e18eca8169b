import { describe, expect, it } from 'vitest';
import {
  escapeHtml,
  formPage,
  htmlPage,
  messagePage,
  taskNotFoundPage,
  taskStatusPage,
} from '../../functions/http/views.ts';
import type { TaskView } from '../../functions/task/record.ts';

const TASK_ID = '3f1c2b9a-7d4e-4c1b-9a2f-0e8d7c6b5a49';
const INLINE_CODE = /<script|<style|style=|\son[a-z]+=/i;
const REFRESH = /<meta http-equiv="refresh" content="(\d+)">/;

function task(view: Partial<TaskView> = {}): TaskView {
  return { taskId: TASK_ID, status: 'PENDING', createdAt: '2026-01-01T10:00:00.000Z', attempts: 0, ...view };
}

describe('htmlPage', () => {
  it('escapes HTML', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('builds a page with the site stylesheet and favicon, and no inline script or style', () => {
    // Act
    const page = htmlPage('<Thanks>', '<p>ok</p>');

    // Assess
    expect(page).toContain('<title>&lt;Thanks&gt;</title>');
    expect(page).toContain('<link rel="stylesheet" href="/styles.css">');
    expect(page).toContain('<link rel="icon" href="/favicon.svg" type="image/svg+xml">');
    expect(page).not.toMatch(REFRESH);
    expect(page).not.toMatch(INLINE_CODE);
  });

  it('refreshes itself when asked to', () => {
    expect(htmlPage('Wait', '', { refreshSeconds: 3 })).toMatch(REFRESH);
  });
});

describe('formPage (a no-JavaScript post the API refused)', () => {
  it('shows the form again with the typed values, escaped, and each error beside its field', () => {
    // Act
    const page = formPage({
      values: { email: 'a"><script>@x', message: '\nFirst line\n</textarea><b>bold</b>' },
      errors: { email: ['Enter a valid email address.'] },
    });

    // Assess
    expect(page).toContain('<label for="email">Email address</label>');
    expect(page).toContain('value="a&quot;&gt;&lt;script&gt;@x"');
    expect(page).toContain('aria-invalid="true" aria-describedby="email-error"');
    expect(page).toContain('<p id="email-error" class="field-error">Enter a valid email address.</p>');
    expect(page).toContain('>\n\nFirst line\n&lt;/textarea&gt;&lt;b&gt;bold&lt;/b&gt;</textarea>');
    expect(page).toContain('<form method="post" action="/api/feedback">');
    expect(page).toContain('name="website"');
    expect(page).not.toContain('id="message-error"');
    expect(page).not.toMatch(INLINE_CODE);
  });

  it('links every error of a field to it', () => {
    // Act
    const page = formPage({
      values: {},
      errors: { message: ['Enter a valid value.', 'Null characters are not allowed.'] },
    });

    // Assess
    expect(page).toContain('aria-describedby="message-hint message-error message-error-1"');
    expect(page).toContain(
      '<p id="message-error-1" class="field-error">Null characters are not allowed.</p>',
    );
  });
});

describe('taskStatusPage', () => {
  it.each([
    ['PENDING', 'Queued: waiting for a free worker.', 'Queued'],
    ['STARTED', 'Sending…', 'Sending'],
    ['RETRY', 'Retrying: the last try did not go through; we try again shortly.', 'Retrying'],
  ] as const)(
    'says %s in words and, when asked to, refreshes itself while it can change',
    (status, text, step) => {
      // Act
      const page = taskStatusPage(task({ status, attempts: 1 }), { autoRefresh: true });

      // Assess
      expect(page).toContain(text);
      expect(page).toContain(`<dd>${step}</dd>`);
      expect(page).not.toContain(`>${status}<`);
      expect(page.match(REFRESH)?.[1]).toBe('3');
      expect(page).toContain(`<a class="button" href="/api/tasks/${TASK_ID}">Check now</a>`);
      expect(page).toContain(`<a class="button" href="/api/tasks/${TASK_ID}">Stop updating</a>`);
      expect(page).toContain('<link rel="icon" href="/favicon.svg"');
      expect(page).not.toMatch(INLINE_CODE);
    },
  );

  it('does not reload by itself unless asked (a reload moves a screen reader), and offers to', () => {
    // Act
    const page = taskStatusPage(task({ status: 'PENDING' }));

    // Assess
    expect(page).not.toMatch(REFRESH);
    expect(page).toContain(`<a class="button" href="/api/tasks/${TASK_ID}">Check now</a>`);
    expect(page).toContain(`<a class="button" href="/api/tasks/${TASK_ID}?refresh=on">Update by itself</a>`);
  });

  it.each([
    ['SUCCESS', 'Sent: a copy is on its way to your inbox.'],
    ['FAILURE', 'Failed: your feedback could not be sent.'],
  ] as const)('stops refreshing once %s', (status, text) => {
    // Act
    const page = taskStatusPage(task({ status }));

    // Assess
    expect(page).toContain(text);
    expect(page).not.toMatch(REFRESH);
    expect(page).not.toContain('Check now');
    expect(page).toContain('<a class="button" href="/">Send another</a>');
  });

  it.each([
    ['DELIVERED', 'Delivered: the copy reached your email provider.', 'Delivered', undefined],
    ['BOUNCED', 'Bounced: check the address.', 'Bounced', /that address could not receive mail/],
    ['SUPPRESSED', 'Bounced: check the address.', 'Bounced', /came back before/],
    [
      'COMPLAINED',
      'Marked as spam: the copy was reported as unwanted mail.',
      'Marked as spam',
      /reached us all the same/,
    ],
    [
      'SKIPPED',
      'Received: no copy emailed this time.',
      'Received',
      /This address already got several copies from us today/,
    ],
  ] as const)("shows a copy %s in the page's words, and stops refreshing", (status, text, step, reason) => {
    // Act
    const page = taskStatusPage(
      task({ status: 'SUCCESS', finishedAt: '2026-01-01T10:00:20.000Z', emails: { visitor: { status } } }),
      { now: new Date('2026-01-01T10:00:21.000Z'), autoRefresh: true },
    );

    // Assess
    expect(page).toContain(`<p class="status" role="status">${escapeHtml(text)}</p>`);
    expect(page).toContain(`<dd>${step}</dd>`);
    if (reason === undefined) expect(page).not.toContain('class="reason"');
    else expect(page).toMatch(reason);
    expect(page).not.toContain(`>${status}<`);
    expect(page).not.toMatch(REFRESH);
  });

  it('looks again for the delivery of a copy sent less than 30 s ago, then stops', () => {
    // Prepare
    const sent = task({
      status: 'SUCCESS',
      finishedAt: '2026-01-01T10:00:20.000Z',
      emails: { visitor: { status: 'SENT' } },
    });

    // Act
    const justSent = taskStatusPage(sent, { now: new Date('2026-01-01T10:00:25.000Z'), autoRefresh: true });
    const later = taskStatusPage(sent, { now: new Date('2026-01-01T10:00:50.000Z'), autoRefresh: true });

    // Assess
    expect(justSent).toContain('Sent: a copy is on its way to your inbox.');
    expect(justSent.match(REFRESH)?.[1]).toBe('3');
    expect(justSent).toContain('Check now');
    expect(later).toContain('Sent: a copy is on its way to your inbox.');
    expect(later).not.toMatch(REFRESH);
    expect(later).not.toContain('Check now');
  });

  it("puts SES's daily quota in words and looks again once a minute", () => {
    // Prepare
    const message = 'The daily sending quota of SES is used up; the email is sent once it frees up.';

    // Act
    const page = taskStatusPage(task({ status: 'RETRY', error: { type: 'DailyQuotaExceeded', message } }), {
      autoRefresh: true,
    });

    // Assess
    expect(page).toContain('Waiting: we have sent as many emails as we may today.');
    expect(page).toContain('goes out by itself once our daily sending limit frees up');
    // The recorded error only in the technical details, as on the page.
    expect(page).toContain(
      `<details><summary>Technical details</summary><p><code>DailyQuotaExceeded: ${message}`,
    );
    expect(page.match(REFRESH)?.[1]).toBe('60');
  });

  it('says a failure in plain words, and escapes the recorded error in its technical details', () => {
    // Act
    const page = taskStatusPage(
      task({ status: 'FAILURE', error: { type: 'X', message: '<img src=x onerror=alert(1)>' } }),
    );

    // Assess
    expect(page).toContain('Something went wrong on our side while sending.');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page).not.toContain('<img');
  });
});

describe('error pages', () => {
  it('an unknown task: not found, and no thanks', () => {
    // Act
    const page = taskNotFoundPage();

    // Assess
    expect(page).toContain('<h1>Feedback not found</h1>');
    expect(page).not.toMatch(/thank/i);
  });

  it('a message page leads back to the form', () => {
    expect(messagePage('Oops', 'a < b')).toContain('<p>a &lt; b</p>');
    expect(messagePage('Oops', '')).toContain('<a class="button" href="/">Back to the form</a>');
  });
});
