/**
 * What a visitor reads when no copy of their feedback was emailed for the sake of the owner's SES account,
 * with and without JavaScript, on the local stack: an address SES's validation judged unable to receive
 * mail (a domain under `.invalid`), and the autoresponses paused by the breaker (tripped for real by
 * enough bounces from the mailbox simulator). In that order: the pause stays for the rest of the file.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { autoresponseBreaker } from '../../functions/config/settings.ts';
import { validFeedback } from '../helpers/feedback.ts';
import { submitFeedback, waitFor, waitForStatus } from '../helpers/local-stack.ts';
import { browserAndStack, fillFeedbackForm, screenshot, skipBrowserTests } from './browser.ts';

const SENT_TIMEOUT_MS = 20_000;
const INVALID_WORDS = /our mail service judged this address unable to receive mail/;
const PAUSED_WORDS = /copies to visitors are paused for the moment/;

describe.skipIf(skipBrowserTests)('the visitor’s words when no copy was emailed', () => {
  const setup = browserAndStack({ workSeconds: 0, notifyEmail: 'owner@example.com' });

  async function submitOnPage(page: Page, email: string): Promise<string> {
    await page.goto(setup.stack.url);
    await fillFeedbackForm(page, { email, message: 'Will you write back?' });
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/\/\?task=[0-9a-f-]{36}$/);
    return new URL(page.url()).searchParams.get('task') ?? '';
  }

  /** The no-JavaScript status view of a task. */
  async function noScriptView(taskId: string): Promise<string> {
    const { page } = await setup.open({ javaScriptEnabled: false });
    await page.goto(`${setup.stack.url}/api/tasks/${taskId}`);
    return (await page.locator('main').textContent()) ?? '';
  }

  it('says an address that failed validation was judged unable to receive mail', async () => {
    // Prepare
    const { page, problems } = await setup.open({ viewport: { width: 320, height: 640 } });

    // Act
    const taskId = await submitOnPage(page, 'nobody@mistyped.invalid');

    // Assess
    await page
      .locator('#task-status', { hasText: /^Not delivered: check the address\.$/ })
      .waitFor({ timeout: SENT_TIMEOUT_MS });
    expect(await page.locator('#task-reason').textContent()).toMatch(INVALID_WORDS);
    expect(await page.locator('#thanks-view').getAttribute('class')).toContain('is-undelivered');
    await screenshot(page, 'thanks-invalid-320-light');
    expect(await noScriptView(taskId)).toMatch(INVALID_WORDS);
    expect(problems).toEqual([]);
  });

  it('says the copies are paused once the breaker paused them, and that the owner has the feedback', async () => {
    // Prepare: enough bounces for the breaker, through the API
    const bounces = await Promise.all(
      Array.from({ length: autoresponseBreaker.localMinimumVolume }, (_, n) =>
        submitFeedback(
          setup.stack,
          validFeedback({ email: `bounce+page-${n}@simulator.amazonses.com`, message: 'Junk' }),
        ),
      ),
    );
    for (const { body } of bounces) await waitForStatus(setup.stack, body.taskId, 'SUCCESS');
    await waitFor(() => setup.stack.autoresponsesPaused(), { what: 'the autoresponses to be paused' });
    const { page, problems } = await setup.open({ colorScheme: 'dark' });

    // Act
    const taskId = await submitOnPage(page, 'success+paused@simulator.amazonses.com');

    // Assess
    await page
      .locator('#task-status', { hasText: /^Received: no copy emailed for now\.$/ })
      .waitFor({ timeout: SENT_TIMEOUT_MS });
    const reason = await page.locator('#task-reason').textContent();
    expect(reason).toMatch(PAUSED_WORDS);
    expect(reason).toMatch(/the site owner has your feedback all the same/);
    expect(await page.locator('#thanks-view').getAttribute('class')).not.toContain('is-undelivered');
    await screenshot(page, 'thanks-paused-desktop-dark');
    expect(await noScriptView(taskId)).toMatch(PAUSED_WORDS);
    expect(problems).toEqual([]);
  });
});
