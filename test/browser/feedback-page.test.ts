/**
 * The feedback page in a real browser (Debian's Chromium through playwright-core) against the local
 * stack on free ports, under the CSP that CloudFront sends: the local gateway sends the same headers
 * (lib/security-headers.ts). One browser and one stack for the file; a fresh context per test.
 * Screenshots go to test/output/screenshots/.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { FIELD_NAMES } from '../../functions/form/fields.ts';
import { CONTENT_SECURITY_POLICY } from '../../lib/security-headers.ts';
import { validFeedback } from '../helpers/feedback.ts';
import { browserAndStack, fillFeedbackForm, screenshot, skipBrowserTests } from './browser.ts';

const TASK_URL = /\/\?task=[0-9a-f-]{36}$/;
const SENT_TIMEOUT_MS = 20_000;
/** The local stack's SES events arrive a moment after the send (as SES's do, within seconds). */
const DELIVERED = /^Delivered: the copy reached your email provider\./;

describe.skipIf(skipBrowserTests)('feedback page', () => {
  // No simulated work: the tests wait for seconds, not minutes.
  const setup = browserAndStack({ workSeconds: 0 });
  const open = (options: Parameters<typeof setup.open>[0] = {}) => setup.open(options);

  /** Every console error but the browser's own note on a 4xx/5xx or aborted request. */
  function unexpected(problems: string[]): string[] {
    return problems.filter((text) => !text.startsWith('Failed to load resource'));
  }

  /** The emails the SES emulator holds for one recipient. */
  async function mailTo(address: string): Promise<{ subject: string; body: { text?: string } }[]> {
    const store = (await (await fetch(`${setup.stack.sesUrl}/store`)).json()) as {
      emails: { destination: { to: string[] }; subject: string; body: { text?: string } }[];
    };
    return store.emails.filter((email) => email.destination.to.includes(address));
  }

  /** True when nothing sticks out sideways (no horizontal scrolling at 320 px). */
  function fitsWidth(page: Page): Promise<boolean> {
    return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  }

  it('takes valid feedback to the sent state, with history and reload', async () => {
    // Prepare
    const { page, problems } = await open();
    const answer = await page.goto(setup.stack.url);
    expect(answer?.headers()['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    await screenshot(page, 'form-desktop-light');
    await fillFeedbackForm(page, { email: 'sent@example.com', message: 'The form is lovely.' });

    // Act
    await page.getByRole('button', { name: 'Submit' }).click();

    // Assess
    await expect.poll(() => page.url()).toMatch(TASK_URL);
    const taskId = new URL(page.url()).searchParams.get('task') ?? '';
    await page.getByRole('heading', { name: 'Thank you!' }).waitFor();
    expect(await page.locator('#task-id').textContent()).toBe(taskId);
    await page.locator('#task-status', { hasText: DELIVERED }).waitFor({ timeout: SENT_TIMEOUT_MS });
    expect(await page.locator('#step-sent').getAttribute('aria-current')).toBe('step');
    expect(await page.title()).toMatch(/^Delivered – /);
    await screenshot(page, 'thanks-delivered-desktop-light');
    expect(await mailTo('sent@example.com')).toMatchObject([
      { subject: 'Your Feedback', body: { text: '\tThe form is lovely.\n\nThank you!' } },
    ]);

    await page.getByRole('link', { name: 'Send another' }).click();
    await page.getByLabel('Message').waitFor();
    expect(new URL(page.url()).search).toBe('');
    expect(await page.getByLabel('Email address', { exact: true }).inputValue()).toBe('sent@example.com');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('message');

    await page.goBack();
    await page.locator('#task-status', { hasText: DELIVERED }).waitFor();
    await page.reload();
    await page.locator('#task-status', { hasText: DELIVERED }).waitFor();
    expect(await page.locator('#task-id').textContent()).toBe(taskId);

    const small = await open({ viewport: { width: 320, height: 640 }, colorScheme: 'dark' });
    await small.page.goto(`${setup.stack.url}/?task=${taskId}`);
    await small.page.locator('#task-status', { hasText: DELIVERED }).waitFor();
    await screenshot(small.page, 'thanks-delivered-320-dark');
    expect(await fitsWidth(small.page)).toBe(true);
    expect(unexpected([...problems, ...small.problems])).toEqual([]);
  });

  it("shows the contract's text next to an invalid email, with focus on it, and posts nothing", async () => {
    // Prepare
    const { page, problems } = await open({ viewport: { width: 320, height: 640 } });
    const posts: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST') posts.push(request.url());
    });
    await page.goto(setup.stack.url);
    await screenshot(page, 'form-320-light');
    await fillFeedbackForm(page, { email: 'not-an-email', message: '' });

    // Act
    await page.getByRole('button', { name: 'Submit' }).click();

    // Assess
    const email = page.getByLabel('Email address', { exact: true });
    expect(await page.locator('#email-error').textContent()).toBe('Enter a valid email address.');
    expect(await page.locator('#message-error').textContent()).toBe('This field is required.');
    expect(await email.getAttribute('aria-invalid')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('email');
    expect(await email.evaluate((input) => input.getAttribute('aria-describedby'))).toContain('email-error');
    expect(posts).toEqual([]);
    // The focused invalid field keeps its red border; the focus ring sits outside it.
    const border = await email.evaluate((input) => {
      const style = getComputedStyle(input);
      return { color: style.borderTopColor, width: style.borderTopWidth, offset: style.outlineOffset };
    });
    expect(border).toEqual({ color: 'rgb(179, 38, 30)', width: '2px', offset: '2px' });
    await screenshot(page, 'form-errors-320-light');
    expect(await fitsWidth(page)).toBe(true);

    await email.fill('visitor@example.com');
    expect(await page.locator('#email-error').isHidden()).toBe(true);
    expect(unexpected(problems)).toEqual([]);
  });

  it('reaches every control by keyboard and skips the honeypot', async () => {
    // Prepare
    const { page } = await open({ colorScheme: 'dark' });
    await page.goto(setup.stack.url);

    // Act
    const order: (string | undefined)[] = [];
    for (let i = 0; i <= FIELD_NAMES.length; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement?.id));
    }

    // Assess
    expect(order).toEqual([...FIELD_NAMES, 'submit-button']);
    await page.getByRole('button', { name: 'Submit' }).press('Enter');
    await page.locator('#email-error', { hasText: 'This field is required.' }).waitFor();
    await screenshot(page, 'form-errors-desktop-dark');
  });

  it('sends one feedback for a double-click', async () => {
    // Prepare
    const { page } = await open();
    const posts: string[] = [];
    // Hold the request back a little, so that the second click lands while the first is in flight.
    await page.route('**/api/feedback', async (route) => {
      posts.push(route.request().method());
      await new Promise((resolve) => setTimeout(resolve, 300));
      await route.continue();
    });
    await page.goto(setup.stack.url);
    await fillFeedbackForm(page, { email: 'double-click@example.com', message: 'Clicked twice.' });

    // Act
    await page.getByRole('button', { name: 'Submit' }).dblclick();

    // Assess
    await page.locator('#task-status', { hasText: /^Sent/ }).waitFor({ timeout: SENT_TIMEOUT_MS });
    expect(posts).toEqual(['POST']);
    expect(await mailTo('double-click@example.com')).toHaveLength(1);
  });

  it('keeps what was typed when the network fails, the API is busy or rejects a field', async () => {
    // Prepare
    const { page } = await open();
    await page.goto(setup.stack.url);
    await fillFeedbackForm(page, { email: 'visitor@example.com', message: 'Please keep this text.' });
    const alert = page.getByRole('alert');
    const submit = page.getByRole('button', { name: 'Submit' });

    // Act + Assess: the network is down
    await page.route('**/api/feedback', (route) => route.abort('internetdisconnected'));
    await submit.click();
    await alert.filter({ hasText: 'We could not reach the server' }).waitFor();
    expect(await page.getByLabel('Message').inputValue()).toBe('Please keep this text.');
    await screenshot(page, 'form-network-error-desktop-light');

    // Act + Assess: the API is busy
    await page.unroute('**/api/feedback');
    await page.route('**/api/feedback', (route) =>
      route.fulfill({ status: 503, headers: { 'Retry-After': '5' }, json: { error: 'unavailable' } }),
    );
    await submit.click();
    await alert.filter({ hasText: 'Please press Submit again in 5 seconds' }).waitFor();

    // Act + Assess: the server, the authority, rejects a field the page let through
    await page.unroute('**/api/feedback');
    await page.route('**/api/feedback', (route) =>
      route.fulfill({
        status: 400,
        json: { error: 'invalid_feedback', fields: { message: ['Null characters are not allowed.'] } },
      }),
    );
    await submit.click();
    await page.locator('#message-error', { hasText: 'Null characters are not allowed.' }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('message');
    expect(await alert.isHidden()).toBe(true);

    // Act + Assess: the network is back
    await page.unroute('**/api/feedback');
    await submit.click();
    await page.getByRole('heading', { name: 'Thank you!' }).waitFor();
  });

  it('follows a retry to a failure and says why in words', async () => {
    // Prepare: the API's answers for a task whose mail SES refuses (the sandbox's unverified address)
    const { page, problems } = await open({ viewport: { width: 320, height: 640 } });
    const taskId = '6f1c2a9e-3b4d-4e5f-8a6b-7c8d9e0f1a2b';
    const error = { type: 'MessageRejected', message: 'Email address is not verified.' };
    const answers = [
      { taskId, status: 'RETRY', createdAt: '2026-01-01T00:00:00.000Z', attempts: 1, error },
      { taskId, status: 'FAILURE', createdAt: '2026-01-01T00:00:00.000Z', attempts: 2, error },
    ];
    const seen: string[] = [];
    await page.route(`**/api/tasks/${taskId}`, (route) => {
      const answer = answers[Math.min(seen.length, answers.length - 1)];
      seen.push(answer?.status ?? '');
      return route.fulfill({ json: answer, headers: { 'Cache-Control': 'no-store' } });
    });

    // Act
    await page.goto(`${setup.stack.url}/?task=${taskId}`);

    // Assess
    await page.locator('#task-status', { hasText: /^Retrying/ }).waitFor();
    await page.locator('#task-status', { hasText: /^Failed/ }).waitFor({ timeout: SENT_TIMEOUT_MS });
    expect(seen).toEqual(['RETRY', 'FAILURE']);
    expect(await page.locator('#task-reason').textContent()).toMatch(/refused to send to this address/);
    expect(await page.locator('#step-sending').getAttribute('class')).toContain('is-failed');
    await page.getByText('Technical details').click();
    await screenshot(page, 'thanks-failed-320-light');
    expect(unexpected(problems)).toEqual([]);
  });

  it('shows how long a send has run, that the visitor may leave, and a used-up daily quota in words', async () => {
    // Prepare: a task that a worker started 12 s ago, then held back by SES's daily quota
    const { page, problems } = await open({ viewport: { width: 320, height: 640 }, colorScheme: 'dark' });
    const taskId = '2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a';
    const startedAt = new Date(Date.now() - 12_000).toISOString();
    const base = { taskId, createdAt: startedAt, startedAt, attempts: 1 };
    const quota = {
      type: 'DailyQuotaExceeded',
      message: 'The daily sending quota of SES is used up; the email is sent once it frees up.',
    };
    let answer: object = { ...base, status: 'STARTED' };
    await page.route(`**/api/tasks/${taskId}`, (route) =>
      route.fulfill({ json: answer, headers: { 'Cache-Control': 'no-store' } }),
    );

    // Act
    await page.goto(`${setup.stack.url}/?task=${taskId}`);

    // Assess
    await page.locator('#task-status', { hasText: /^Sending/ }).waitFor();
    expect(await page.locator('#task-reason').textContent()).toMatch(/can take a minute.*close this page/);
    expect(await page.locator('#task-runtime-label').textContent()).toBe('Running for');
    const seconds = Number.parseInt((await page.locator('#task-runtime').textContent()) ?? '', 10);
    expect(seconds).toBeGreaterThanOrEqual(12);
    // The current step pulses its bar only, never its words' colour or opacity (their contrast).
    const animated = await page
      .locator('#step-sending')
      .evaluate((step) =>
        step.getAnimations().flatMap((animation) => (animation.effect as KeyframeEffect).getKeyframes()),
      );
    expect(animated.length).toBeGreaterThan(0);
    for (const frame of animated) {
      expect(Object.keys(frame)).not.toContain('opacity');
      expect(Object.keys(frame)).not.toContain('color');
    }
    await screenshot(page, 'thanks-sending-320-dark');

    answer = { ...base, status: 'RETRY', error: quota };
    await page
      .locator('#task-status', { hasText: /^Waiting: we have sent as many emails as we may today/ })
      .waitFor();
    expect(await page.locator('#task-reason').textContent()).toMatch(/goes out by itself .* within a day/);
    expect(await page.locator('#task-runtime').isHidden()).toBe(true);
    await screenshot(page, 'thanks-daily-quota-320-dark');
    expect(unexpected(problems)).toEqual([]);
  });

  it('says so for a link to no known task, a task the API no longer has, and a lost connection', async () => {
    // Prepare
    const { page, problems } = await open();
    const lostId = '0b9d2c4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e';
    const goneId = '1c2d3e4f-5a6b-4c7d-9e8f-a0b1c2d3e4f5';
    await page.route(`**/api/tasks/${lostId}`, (route) => route.abort('internetdisconnected'));
    await page.route(`**/api/tasks/${goneId}`, (route) =>
      route.fulfill({ status: 404, json: { error: 'not_found' } }),
    );

    // Act + Assess: a link whose task id is not one the API could have made
    await page.goto(`${setup.stack.url}/?task=not-a-task`);
    await page.getByRole('alert').filter({ hasText: 'does not point to a feedback we know' }).waitFor();
    expect(await page.getByLabel('Message').isVisible()).toBe(true);

    // Act + Assess: the server cannot be reached, the page keeps trying
    await page.goto(`${setup.stack.url}/?task=${lostId}`);
    await page.locator('#task-note', { hasText: 'Lost contact with the server' }).waitFor();

    // Act + Assess: the API does not know the task (expired or never there): no thanks for it
    await page.goto(`${setup.stack.url}/?task=${goneId}`);
    await page.getByRole('heading', { name: 'Feedback not found' }).waitFor();
    const view = page.locator('#thanks-view');
    expect(await view.innerText()).toMatch(/cannot find this feedback/);
    expect(await view.innerText()).not.toMatch(/Thank you|Your feedback is in|Queued|Sending/);
    expect(await page.locator('#task-id').textContent()).toBe(goneId);
    expect(await page.title()).toMatch(/^Feedback not found/);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('thanks-view');
    await screenshot(page, 'task-not-found-desktop-light');
    await page.getByRole('link', { name: 'Send new feedback' }).click();
    await page.getByLabel('Message').waitFor();

    // Act + Assess: a real task's link after that one shows the thanks again
    const known = await fetch(`${setup.stack.url}/api/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(validFeedback({ email: 'link@example.com', message: 'From a link.' })),
    });
    const { taskId } = (await known.json()) as { taskId: string };
    await page.goto(`${setup.stack.url}/?task=${taskId}`);
    await page.getByRole('heading', { name: 'Thank you!' }).waitFor();
    await page.locator('#task-status', { hasText: DELIVERED }).waitFor({ timeout: SENT_TIMEOUT_MS });
    expect(unexpected(problems)).toEqual([]);
  });

  it("shows a bounce from SES's mailbox simulator in words within seconds of the send", async () => {
    // Prepare
    const { page, problems } = await open({ viewport: { width: 320, height: 640 } });
    await page.goto(setup.stack.url);
    await fillFeedbackForm(page, { email: 'bounce@simulator.amazonses.com', message: 'Will this bounce?' });

    // Act
    await page.getByRole('button', { name: 'Submit' }).click();

    // Assess
    const status = page.locator('#task-status', { hasText: /^Bounced: check the address\.$/ });
    await status.waitFor({ timeout: SENT_TIMEOUT_MS });
    expect(await page.locator('#task-reason').textContent()).toMatch(
      /feedback reached us, but the copy we emailed came back: that address could not receive mail/,
    );
    expect(await page.locator('#thanks-view').getAttribute('class')).toContain('is-undelivered');
    expect(await page.locator('#step-sent').getAttribute('class')).toContain('is-done');
    expect(await page.title()).toMatch(/^Bounced – /);
    await screenshot(page, 'thanks-bounced-320-light');
    expect(unexpected(problems)).toEqual([]);
  });

  it('says when the copy was marked as spam, or not emailed because the address had its copies today', async () => {
    // Prepare: the API's answers: sent, then delivered and marked as spam; a task whose copy was skipped
    const { page, problems } = await open({ colorScheme: 'dark' });
    const spamId = '3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d';
    const skippedId = '4b5c6d7e-8f9a-4b1c-8d2e-3f4a5b6c7d8e';
    const base = { status: 'SUCCESS', createdAt: '2026-01-01T00:00:00.000Z', attempts: 1, runtimeMs: 1200 };
    const spam = [
      { ...base, taskId: spamId, emails: { visitor: { status: 'SENT' } } },
      { ...base, taskId: spamId, emails: { visitor: { status: 'COMPLAINED' } } },
    ];
    let spamPolls = 0;
    let skippedPolls = 0;
    await page.route(`**/api/tasks/${spamId}`, (route) => {
      const answer = spam[Math.min(spamPolls++, spam.length - 1)];
      return route.fulfill({ json: answer, headers: { 'Cache-Control': 'no-store' } });
    });
    await page.route(`**/api/tasks/${skippedId}`, (route) => {
      skippedPolls++;
      const answer = { ...base, taskId: skippedId, emails: { visitor: { status: 'SKIPPED' } } };
      return route.fulfill({ json: answer, headers: { 'Cache-Control': 'no-store' } });
    });

    // Act + Assess: sent, then the page keeps looking and finds the complaint
    await page.goto(`${setup.stack.url}/?task=${spamId}`);
    await page.locator('#task-status', { hasText: /^Sent: a copy is on its way/ }).waitFor();
    await page.locator('#task-status', { hasText: /^Marked as spam/ }).waitFor({ timeout: 5000 });
    expect(await page.locator('#task-reason').textContent()).toMatch(/reached us all the same/);
    await screenshot(page, 'thanks-spam-desktop-dark');

    // Act + Assess: no copy emailed, in words; nothing more to wait for, so no more looks
    await page.goto(`${setup.stack.url}/?task=${skippedId}`);
    await page.locator('#task-status', { hasText: /^Received: no copy emailed this time\.$/ }).waitFor();
    expect(await page.locator('#task-reason').textContent()).toMatch(
      /Your feedback reached us\. This address already got several copies from us today/,
    );
    expect(await page.locator('#thanks-view').getAttribute('class')).not.toContain('is-undelivered');
    await page.waitForTimeout(2500);
    expect(skippedPolls).toBe(1);
    await screenshot(page, 'thanks-skipped-desktop-dark');
    expect(unexpected(problems)).toEqual([]);
  });

  it('stops looking for a delivery that does not come after about 30 s', async () => {
    // Prepare: a sent task whose delivery never shows, on a page whose clock the test runs
    const { page, problems } = await open();
    const taskId = '5c6d7e8f-9a0b-4c2d-9e3f-4a5b6c7d8e9f';
    let polls = 0;
    await page.route(`**/api/tasks/${taskId}`, (route) => {
      polls++;
      const answer = {
        taskId,
        status: 'SUCCESS',
        createdAt: '2026-01-01T00:00:00.000Z',
        attempts: 1,
        emails: { visitor: { status: 'SENT' } },
      };
      return route.fulfill({ json: answer, headers: { 'Cache-Control': 'no-store' } });
    });
    await page.clock.install();

    // Act
    await page.goto(`${setup.stack.url}/?task=${taskId}`);
    await page.clock.runFor(1000);
    await page.locator('#task-status', { hasText: /^Sent/ }).waitFor();
    for (let second = 0; second < 40; second++) await page.clock.runFor(1000);

    // Assess: a look every 2 s for 30 s, then no more
    const looked = polls;
    expect(looked).toBeGreaterThanOrEqual(10);
    expect(looked).toBeLessThanOrEqual(17);
    for (let second = 0; second < 20; second++) await page.clock.runFor(1000);
    expect(polls).toBe(looked);
    expect(unexpected(problems)).toEqual([]);
  });

  it('says too many feedbacks came from this connection, and when to try again, keeping the text', async () => {
    // Prepare: the per-client limit's answer
    const { page, problems } = await open();
    await page.goto(setup.stack.url);
    await fillFeedbackForm(page, { email: 'busy@example.com', message: 'Sent once too often.' });
    await page.route('**/api/feedback', (route) =>
      route.fulfill({
        status: 429,
        headers: { 'Retry-After': '300' },
        json: { error: 'too_many_requests', message: 'Too many feedbacks from this connection.' },
      }),
    );

    // Act
    await page.getByRole('button', { name: 'Submit' }).click();

    // Assess
    const alert = page.getByRole('alert');
    await alert.filter({ hasText: 'Too many feedbacks came from your connection' }).waitFor();
    expect(await alert.textContent()).toMatch(
      /Please press Submit again in 5 minutes\. What you typed is still here\./,
    );
    expect(await page.getByLabel('Message').inputValue()).toBe('Sent once too often.');
    expect(await page.getByLabel('Email address', { exact: true }).inputValue()).toBe('busy@example.com');
    await screenshot(page, 'form-too-many-desktop-light');
    expect(unexpected(problems)).toEqual([]);
  });

  it('works without JavaScript: the form posts, the 303 lands on the HTML thank-you view', async () => {
    // Prepare
    const { page, problems } = await open({ javaScriptEnabled: false });
    await page.goto(setup.stack.url);
    await fillFeedbackForm(page, { email: 'no-script@example.com', message: 'No script here.' });

    // Act
    const [response] = await Promise.all([
      page.waitForResponse((answer) => answer.request().method() === 'POST'),
      page.getByRole('button', { name: 'Submit' }).click(),
    ]);
    await page.waitForURL(/\/api\/tasks\/[0-9a-f-]{36}$/);

    // Assess
    expect(response.status()).toBe(303);
    await page.locator('main h1').waitFor();
    expect(await page.locator('link[rel=stylesheet]').getAttribute('href')).toBe('/styles.css');
    expect(await page.locator('main').textContent()).toMatch(/queued|sending|sent|PENDING|STARTED|SUCCESS/i);
    expect(await page.locator('a[href="/"]').count()).toBeGreaterThan(0);
    await screenshot(page, 'nojs-thanks-desktop-light');

    // The view reloads itself; the visitor may also follow "Check now" until the task is done (it disappears then).
    const refresh = page.getByRole('link', { name: 'Check now' });
    await expect
      .poll(
        async () => {
          if ((await refresh.count()) > 0) await refresh.click();
          return refresh.count();
        },
        { timeout: SENT_TIMEOUT_MS, interval: 500 },
      )
      .toBe(0);
    expect(await page.locator('main').textContent()).toMatch(
      /Delivered: the copy reached your email provider\./,
    );
    expect(await mailTo('no-script@example.com')).toHaveLength(1);

    const small = await open({
      javaScriptEnabled: false,
      viewport: { width: 320, height: 640 },
      colorScheme: 'dark',
    });
    const view = await small.page.goto(page.url());
    expect(view?.headers()['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    await screenshot(small.page, 'nojs-thanks-sent-320-dark');
    expect(unexpected([...problems, ...small.problems])).toEqual([]);
  });
});
