/**
 * Shared set-up of the browser tests: Debian's Chromium driven by playwright-core, a clear message when
 * it is missing (a failure in CI, a skip on a developer's machine), console errors (CSP violations
 * among them) collected, and screenshots written under test/output/screenshots/. The CSP is the local
 * gateway's own: it sends CloudFront's security headers (lib/security-headers.ts).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../lib/local/stack.ts';
import { validFeedback } from '../helpers/feedback.ts';

/** Where Debian installs Chromium (`apt-get install chromium`); `CHROMIUM_PATH` points elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const chromiumMissing = !existsSync(CHROMIUM_PATH);
const MISSING_TEXT = `No Chromium at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` (.ci/run does), or set CHROMIUM_PATH.`;

/** True when the browser tests should be skipped: no Chromium, and not in CI (where that is a failure). */
export const skipBrowserTests = chromiumMissing && !process.env.CI;
if (skipBrowserTests) console.warn(`Browser tests skipped. ${MISSING_TEXT}`);

export const SCREENSHOT_DIR = join(import.meta.dirname, '..', 'output', 'screenshots');

/** Starts headless Chromium with a fresh profile; throws the install hint when it is missing. */
export async function launchBrowser(): Promise<Browser> {
  if (chromiumMissing) throw new Error(MISSING_TEXT);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page in a fresh context, with every console error collected. */
export interface TestPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions, CSP violations among them. */
  problems: string[];
}

export async function openPage(browser: Browser, options: BrowserContextOptions = {}): Promise<TestPage> {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, ...options });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return { context, page, problems };
}

/**
 * Fills the page's form with {@link validFeedback}'s fields and the test's own values (by the fields'
 * names, which are the controls' ids); `undefined` leaves a field as it is.
 */
export async function fillFeedbackForm(
  page: Page,
  overrides: Record<string, string | undefined> = {},
): Promise<void> {
  for (const [name, value] of Object.entries(validFeedback(overrides))) {
    await page.locator(`#${name}`).fill(String(value));
  }
}

/** Saves a full-page screenshot as test/output/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * One browser and one local stack for a test file: started together in `beforeAll` (the one that
 * started is kept when the other fails, so that `afterAll` stops it), and `open()` for a page in a fresh
 * context; the contexts, the browser and the stack are closed in `afterAll`. Call inside `describe`.
 */
export function browserAndStack(options: LocalStackOptions) {
  const opened: TestPage[] = [];
  let browser: Browser | undefined;
  let stack: LocalStack | undefined;
  beforeAll(async () => {
    const [launched, started] = await Promise.allSettled([
      launchBrowser(),
      // SES not the bottleneck, and a short long poll: the tests wait for seconds, not minutes.
      startLocalStack({ sesMaxSendRate: 50, pollWaitSeconds: 1, quiet: true, ...options }),
    ]);
    if (launched.status === 'fulfilled') browser = launched.value;
    if (started.status === 'fulfilled') stack = started.value;
    if (launched.status === 'rejected') throw launched.reason;
    if (started.status === 'rejected') throw started.reason;
  });
  afterAll(async () => {
    await Promise.all(opened.map(({ context }) => context.close()));
    await browser?.close();
    await stack?.stop();
  });
  return {
    /** The running local stack (from `beforeAll` on). */
    get stack(): LocalStack {
      if (!stack) throw new Error('the local stack is not started (use it in a test)');
      return stack;
    },
    async open(contextOptions: BrowserContextOptions = {}): Promise<TestPage> {
      if (!browser) throw new Error('the browser is not started (use it in a test)');
      const test = await openPage(browser, contextOptions);
      opened.push(test);
      return test;
    },
  };
}
