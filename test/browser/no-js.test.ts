/**
 * The no-JavaScript path in a real browser (Debian's Chromium through playwright-core, scripts off)
 * against the local stack: the form posts to the API, whose HTML views take over. A few seconds of
 * simulated work, so that a task is seen before it is done and the status view's own reload is seen
 * taking it to the end. Screenshots go to test/output/screenshots/.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { browserAndStack, fillFeedbackForm, screenshot, skipBrowserTests } from './browser.ts';

const WORK_SECONDS = 3;
const DONE_TIMEOUT_MS = 25_000;
const STATUS_URL = /\/api\/tasks\/[0-9a-f-]{36}$/;
const RAW_STATUS = /\b(PENDING|STARTED|RETRY|SUCCESS|FAILURE)\b/;

describe.skipIf(skipBrowserTests)('without JavaScript', () => {
  const setup = browserAndStack({ workSeconds: WORK_SECONDS });
  const open = () => setup.open({ javaScriptEnabled: false });

  async function submit(page: Page): Promise<number | undefined> {
    const [response] = await Promise.all([
      page.waitForResponse((answer) => answer.request().method() === 'POST'),
      page.getByRole('button', { name: 'Submit' }).click(),
    ]);
    await page.waitForLoadState();
    return response.status();
  }

  it('shows the form again with what was typed and the error, and sends once corrected', async () => {
    // Prepare: an address the browser's own check lets through and the API refuses (no dot in the domain).
    const { page, problems } = await open();
    await page.goto(setup.stack.url);
    const message = 'A long message I do not want to type again.\nSecond line.';
    await fillFeedbackForm(page, { email: 'visitor@localhost', message });

    // Act
    const refused = await submit(page);

    // Assess
    expect(refused).toBe(400);
    await page.getByRole('heading', { name: 'Please check your feedback' }).waitFor();
    const email = page.getByLabel('Email address', { exact: true });
    expect(await email.inputValue()).toBe('visitor@localhost');
    expect(await email.getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Message').inputValue()).toBe(message);
    expect(await page.locator('#email-error').textContent()).toBe('Enter a valid email address.');
    await screenshot(page, 'nojs-invalid-desktop-light');

    // Act: correct the address on that page and send again.
    await email.fill('corrected@example.com');
    const accepted = await submit(page);

    // Assess
    expect(accepted).toBe(303);
    expect(page.url()).toMatch(STATUS_URL);
    await page.getByRole('heading', { name: 'Thank you!' }).waitFor();
    // The browser's note on the 400 itself is expected; nothing else (no favicon 404, no CSP report).
    expect(problems.filter((text) => !text.includes('status of 400'))).toEqual([]);
  });

  it('says an unknown task is not found, with no thanks', async () => {
    // Prepare
    const { page, problems } = await open();

    // Act
    const answer = await page.goto(`${setup.stack.url}/api/tasks/${crypto.randomUUID()}`);

    // Assess
    expect(answer?.status()).toBe(404);
    await page.getByRole('heading', { name: 'Feedback not found' }).waitFor();
    expect(await page.locator('main').textContent()).not.toMatch(/thank/i);
    expect(await page.getByRole('link', { name: 'Back to the form' }).getAttribute('href')).toBe('/');
    // The browser's note on the 404 itself is expected; nothing else (no favicon 404, no CSP report).
    expect(problems.filter((text) => !text.startsWith('Failed to load resource'))).toEqual([]);
    expect(problems).toHaveLength(1);
  });

  it('shows the status in words and, once asked to, refreshes by itself until the feedback is sent', async () => {
    // Prepare
    const { page, problems } = await open();
    await page.goto(setup.stack.url);
    await fillFeedbackForm(page, { email: 'patient@example.com', message: 'I will watch it go.' });

    // Act
    expect(await submit(page)).toBe(303);

    // Assess: first seen before it is done, in words, still (no reload the visitor did not ask for).
    const status = page.locator('p.status');
    const first = await status.textContent();
    expect(first).toMatch(/^(Queued|Sending)/);
    expect(await page.locator('main').textContent()).not.toMatch(RAW_STATUS);
    expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
    await page.getByRole('link', { name: 'Update by itself' }).click();
    expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(1);
    expect(await page.locator('link[rel="icon"]').getAttribute('href')).toBe('/favicon.svg');
    await screenshot(page, 'nojs-status-waiting-desktop-light');

    // Nothing is clicked: the page reloads itself until the task is done and its copy delivered, then stops.
    await status.filter({ hasText: /^Delivered/ }).waitFor({ timeout: DONE_TIMEOUT_MS });
    expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Check now' }).count()).toBe(0);
    expect(await page.locator('main').textContent()).not.toMatch(RAW_STATUS);
    await screenshot(page, 'nojs-status-sent-desktop-light');
    expect(problems).toEqual([]);
  });

  it("refuses another site's plain form post and its no-cors fetch: 403, no email", async () => {
    // Prepare: a page of another site (served at localhost, where the stack is at 127.0.0.1: a loopback
    // address too, so that Chromium's local network checks let its requests out) with a form aimed at the API.
    const { page } = await setup.open();
    const action = `${setup.stack.url}/api/feedback`;
    const otherSite = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html; charset=utf-8');
      response.end(
        `<!doctype html><form method="post" action="${action}"><input name="email" value="victim@example.com"><input name="message" value="spam"><button>Go</button></form>`,
      );
    });
    await new Promise<void>((resolve) => otherSite.listen(0, '127.0.0.1', resolve));
    const { port } = otherSite.address() as AddressInfo;
    onTestFinished(() => {
      otherSite.close();
    });
    await page.goto(`http://localhost:${port}/`);

    // Act: the fetch's answer is not readable by the other site (the API's resource policy), but the
    // request reaches the API all the same, so its status is read from the browser's network events.
    const [fetched] = await Promise.all([
      page.waitForResponse((answer) => answer.request().resourceType() === 'fetch'),
      page.evaluate(async (url) => {
        const body = new URLSearchParams({ email: 'victim@example.com', message: 'spam' });
        await fetch(url, { method: 'POST', mode: 'no-cors', body }).catch(() => undefined);
      }, action),
    ]);
    const [posted] = await Promise.all([
      page.waitForResponse(
        (answer) => answer.request().method() === 'POST' && answer.request().isNavigationRequest(),
      ),
      page.getByRole('button', { name: 'Go' }).click(),
    ]);

    // Assess
    expect(fetched.status()).toBe(403);
    expect(posted.status()).toBe(403);
    await page.getByText('Feedback can only be sent from our own page.').waitFor();
    const store = (await (await fetch(`${setup.stack.sesUrl}/store`)).json()) as {
      emails: { destination: { to: string[] } }[];
    };
    expect(store.emails.filter((email) => email.destination.to.includes('victim@example.com'))).toEqual([]);
  });
});
