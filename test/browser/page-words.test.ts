/**
 * The page's words for task states and API answers, checked without a browser.
 */
import { describe, expect, it } from 'vitest';
import { reasonFor } from '../../functions/task/status-words.ts';
import { submitErrorText, waitText } from '../../static/api.ts';
import {
  formatElapsed,
  formatSeconds,
  isTaskStatus,
  pollDelayMs,
  presentStatus,
} from '../../static/task-status.ts';

const sent = (
  visitor: 'SENT' | 'DELIVERED' | 'BOUNCED' | 'SUPPRESSED' | 'INVALID' | 'COMPLAINED' | 'SKIPPED' | 'PAUSED',
) => presentStatus({ status: 'SUCCESS', attempts: 1, emails: { visitor: { status: visitor } } });

describe('presentStatus', () => {
  it.each([
    ['PENDING', 'queued', /^Queued/, false],
    ['STARTED', 'sending', /^Sending/, false],
    ['RETRY', 'sending', /^Retrying/, false],
    ['SUCCESS', 'sent', /^Sent/, true],
    ['FAILURE', 'sending', /^Failed/, true],
  ] as const)('shows %s as the %s step', (status, step, text, final) => {
    // Act
    const shown = presentStatus({ status, attempts: 1 });

    // Assess
    expect(shown.step).toBe(step);
    expect(shown.text).toMatch(text);
    expect(shown.final).toBe(final);
    expect(shown.failed).toBe(status === 'FAILURE');
  });

  it('gives a failure a reason in words and the technical text apart', () => {
    // Act
    const shown = presentStatus({
      status: 'FAILURE',
      attempts: 1,
      error: { type: 'MessageRejected', message: 'Email address is not verified.' },
    });

    // Assess
    expect(shown.reason).toMatch(/refused to send to this address/);
    expect(shown.technical).toBe('MessageRejected: Email address is not verified.');
  });

  it('counts attempts after the first and shows how long a sent task took', () => {
    expect(presentStatus({ status: 'STARTED', attempts: 3 }).text).toBe('Sending (attempt 3)…');
    expect(presentStatus({ status: 'SUCCESS', attempts: 1, runtimeMs: 20_400 }).runtime).toBe('20 s');
  });

  it('tells a visitor watching "Sending…" that it may take a while and that they need not wait', () => {
    expect(presentStatus({ status: 'STARTED', attempts: 1 }).reason).toMatch(
      /can take a minute.*close this page/,
    );
  });

  it("puts SES's used-up daily quota in words: a wait of hours, not a failure", () => {
    // Act
    const shown = presentStatus({
      status: 'RETRY',
      attempts: 1,
      error: {
        type: 'DailyQuotaExceeded',
        message: 'The daily sending quota of SES is used up; the email is sent once it frees up.',
      },
    });

    // Assess
    expect(shown.text).toBe('Waiting: we have sent as many emails as we may today.');
    expect(shown.reason).toMatch(/goes out by itself once our daily sending limit frees up, within a day/);
    expect(shown.final).toBe(false);
  });
});

describe("presentStatus: the copy's delivery", () => {
  it('shows a sent copy as on its way, and keeps looking for its delivery', () => {
    // Act
    const shown = sent('SENT');

    // Assess
    expect(shown.text).toMatch(/^Sent: a copy is on its way/);
    expect(shown).toMatchObject({ final: true, awaitingDelivery: true, undelivered: false });
  });

  it.each([
    ['DELIVERED', /^Delivered/, undefined, false],
    ['BOUNCED', /^Bounced: check the address\./, /could not receive mail/, true],
    ['SUPPRESSED', /^Bounced: check the address\./, /came back before/, true],
    [
      'INVALID',
      /^Not delivered: check the address\./,
      /our mail service judged this address unable to receive mail/,
      true,
    ],
    ['COMPLAINED', /^Marked as spam/, /reached us all the same/, true],
    ['PAUSED', /^Received: no copy emailed for now\./, /copies to visitors are paused/, false],
    [
      'SKIPPED',
      /no copy emailed/,
      /reached us\. This address already got several copies from us today/,
      false,
    ],
  ] as const)('puts a copy %s in words, and stops looking', (status, text, reason, undelivered) => {
    // Act
    const shown = sent(status);

    // Assess
    expect(shown.text).toMatch(text);
    if (reason === undefined) expect(shown.reason).toBeUndefined();
    else expect(shown.reason).toMatch(reason);
    expect(shown).toMatchObject({
      step: 'sent',
      final: true,
      failed: false,
      awaitingDelivery: false,
      undelivered,
    });
  });

  it('shows a task with no emails recorded (an older record) as sent, without waiting for its delivery', () => {
    expect(presentStatus({ status: 'SUCCESS', attempts: 1 })).toMatchObject({
      text: expect.stringMatching(/^Sent/),
      awaitingDelivery: false,
    });
  });
});

describe('isTaskStatus', () => {
  it('accepts the five states of the contract and nothing else', () => {
    for (const status of ['PENDING', 'STARTED', 'RETRY', 'SUCCESS', 'FAILURE']) {
      expect(isTaskStatus(status)).toBe(true);
    }
    for (const value of ['pending', 'REVOKED', '', undefined, null, 1, {}]) {
      expect(isTaskStatus(value)).toBe(false);
    }
  });
});

describe('reasonFor', () => {
  it.each([
    [{ type: 'Throttling', message: 'Maximum sending rate exceeded.' }, /too busy/],
    [{ type: 'TimeoutError', message: 'socket hang up' }, /could not reach our mail service/],
    [{ type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:8005' }, /could not reach our mail service/],
    [{ type: 'InvalidPayload', message: 'not JSON' }, /shape we could not process/],
    [{ type: 'MailFromDomainNotVerifiedException', message: '' }, /switched off on our side/],
    [{ type: 'Mystery', message: '' }, /went wrong on our side/],
    [undefined, /went wrong on our side/],
  ])('explains %j', (error, reason) => {
    expect(reasonFor(error)).toMatch(reason);
  });
});

describe('submitErrorText', () => {
  it.each([
    [413, null, /too large/],
    [415, null, /reload the page/],
    [429, '300', /Too many feedbacks came from your connection.*in 5 minutes.*still here/],
    [429, null, /Too many feedbacks.*in a moment/],
    [503, '7', /in 7 seconds/],
    [503, '1', /in 1 second\./],
    [503, null, /in a moment/],
    [500, null, /error 500/],
  ])('explains %i (Retry-After %s)', (status, retryAfter, text) => {
    expect(submitErrorText(status, retryAfter)).toMatch(text);
  });
});

describe('waitText', () => {
  it.each([
    ['7', 'in 7 seconds'],
    ['1', 'in 1 second'],
    ['89', 'in 89 seconds'],
    ['300', 'in 5 minutes'],
    ['61', 'in 61 seconds'],
    ['120', 'in 2 minutes'],
    ['0', 'in a moment'],
    ['soon', 'in a moment'],
    [null, 'in a moment'],
  ])('says Retry-After %j as %j', (retryAfter, text) => {
    expect(waitText(retryAfter)).toBe(text);
  });

  it('reads an HTTP date', () => {
    const now = Date.parse('2026-01-01T10:00:00Z');
    expect(waitText('Thu, 01 Jan 2026 10:03:00 GMT', now)).toBe('in 3 minutes');
  });
});

describe('polling', () => {
  it('starts at a quarter of a second and grows to at most 5 s', () => {
    const delays = Array.from({ length: 8 }, (_, n) => pollDelayMs(n));
    expect(delays[0]).toBe(250);
    expect(delays.every((delay, n) => n === 0 || delay >= (delays[n - 1] ?? 0))).toBe(true);
    expect(Math.max(...delays)).toBe(5000);
  });

  it('formats seconds for people', () => {
    expect(formatSeconds(1234)).toBe('1.2 s');
    expect(formatSeconds(20_000)).toBe('20 s');
    expect(formatElapsed(12_900)).toBe('12 s');
    expect(formatElapsed(-500)).toBe('0 s');
  });
});
