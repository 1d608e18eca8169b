/**
 * axe-core's checks (WCAG 2.x A and AA, and its best practices) on every view a visitor meets, with
 * JavaScript and without, light and dark: 0 violations is the bar. axe is injected into the page, so
 * this context bypasses the page's CSP (`default-src 'self'`) for that one script; the page itself runs
 * as it always does.
 */
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserAndStack, fillFeedbackForm, skipBrowserTests } from './browser.ts';

const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

interface AxeViolation {
  id: string;
  help: string;
  nodes: { target: string[] }[];
}

/** axe's violations on the page as it is now, as `rule: help (selectors)` lines. */
async function violations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE_PATH });
  const found = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run()).violations;
  });
  return found.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

describe.skipIf(skipBrowserTests)('accessibility (axe-core)', () => {
  const setup = browserAndStack({ workSeconds: 0 });
  const open = async (colorScheme: 'light' | 'dark', javaScriptEnabled = true): Promise<Page> =>
    (await setup.open({ bypassCSP: true, colorScheme, javaScriptEnabled })).page;

  describe.each(['light', 'dark'] as const)('%s', (colorScheme) => {
    it('finds nothing on the form, the form with errors, and the thank-you view once delivered', async () => {
      // Prepare
      const page = await open(colorScheme);
      await page.goto(setup.stack.url);

      // Act and assess
      expect(await violations(page)).toEqual([]);
      await page.getByRole('button', { name: 'Submit' }).click();
      await page.locator('#email[aria-invalid="true"]').waitFor();
      expect(await violations(page)).toEqual([]);
      await fillFeedbackForm(page, {
        email: 'success@simulator.amazonses.com',
        message: 'Checking the page with axe.',
      });
      await page.getByRole('button', { name: 'Submit' }).click();
      await page.getByText(/^Delivered/).waitFor({ timeout: 20_000 });
      expect(await violations(page)).toEqual([]);
    });

    it('finds nothing on the view of an unknown task', async () => {
      // Prepare
      const page = await open(colorScheme);

      // Act
      await page.goto(`${setup.stack.url}/?task=${crypto.randomUUID()}`);
      await page.getByRole('heading', { name: 'Feedback not found' }).waitFor();

      // Assess
      expect(await violations(page)).toEqual([]);
    });

    it('finds nothing on the no-JavaScript views: the form again with errors, and the status', async () => {
      // Prepare: the views come from a browser without JavaScript; axe runs on the same HTML in one with
      // it, at the same origin (the views have no script of their own, so their DOM is the same).
      const noScript = await open(colorScheme, false);
      const page = await open(colorScheme);
      await noScript.goto(setup.stack.url);
      // The browser's own checks pass this address; the server's refuse it (no dot in the domain).
      await fillFeedbackForm(noScript, {
        email: 'visitor@localhost',
        message: 'Kept when the form comes back.',
      });
      await noScript.getByRole('button', { name: 'Submit' }).click();
      await noScript.getByText('Enter a valid email address.').first().waitFor();
      const formAgain = await noScript.content();
      await noScript.goto(setup.stack.url);
      await fillFeedbackForm(noScript, {
        email: 'success@simulator.amazonses.com',
        message: 'Checking the no-script view with axe.',
      });
      await noScript.getByRole('button', { name: 'Submit' }).click();
      await noScript.waitForURL(/\/api\/tasks\//);
      const status = await noScript.content();

      // Act and assess
      for (const html of [formAgain, status]) {
        await page.goto(setup.stack.url);
        await page.setContent(html);
        expect(await violations(page)).toEqual([]);
      }
    });
  });
});
