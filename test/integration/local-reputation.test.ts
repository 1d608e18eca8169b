/**
 * Safe in front of the public, on the local stack: the autoresponse limit per recipient (the owner
 * still gets every feedback), and SES's delivery events — from the mailbox simulator's addresses,
 * in SES's own event format — recorded on each task's email and shown by the status API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DailyCounterStore } from '../../functions/task/daily-counters.ts';
import { validFeedback } from '../helpers/feedback.ts';
import {
  type LocalStack,
  readMailbox,
  startTestStack,
  submitFeedback,
  uniqueAddress,
  waitFor,
  waitForStatus,
} from '../helpers/local-stack.ts';

const OWNER = 'owner@example.com';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startTestStack({ notifyEmail: OWNER, reportSchedule: false });
});

afterAll(async () => {
  await stack?.stop();
});

/** The visitor email's delivery as the status API shows it. */
async function visitorEmailStatus(taskId: string): Promise<string | undefined> {
  const answer = await fetch(`${stack.url}/api/tasks/${taskId}`);
  const view = (await answer.json()) as { emails?: { visitor?: { status?: string } } };
  return view.emails?.visitor?.status;
}

describe('the autoresponse limit', () => {
  it('mails one address at most 3 times in a day, while the owner gets all 20 feedbacks', async () => {
    // Prepare
    const victim = uniqueAddress('victim');

    // Act
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        submitFeedback(stack, validFeedback({ email: victim, message: `Post ${n}` })),
      ),
    );
    const taskIds = answers.map((answer) => answer.body.taskId);
    for (const taskId of taskIds) await waitForStatus(stack, taskId, 'SUCCESS');

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(202));
    const mailbox = await readMailbox(stack);
    const toVictim = mailbox.filter((email) => email.destination.to.includes(victim));
    const toOwner = mailbox.filter(
      (email) => email.destination.to.includes(OWNER) && email.replyTo.includes(victim),
    );
    expect(toVictim).toHaveLength(3);
    expect(toOwner).toHaveLength(20);
    const statuses = await Promise.all(taskIds.map(visitorEmailStatus));
    expect(statuses.filter((status) => status === 'SKIPPED')).toHaveLength(17);
  });
});

describe('delivery events', () => {
  it.each([
    ['success@simulator.amazonses.com', 'DELIVERED'],
    ['bounce@simulator.amazonses.com', 'BOUNCED'],
    ['complaint@simulator.amazonses.com', 'COMPLAINED'],
    ['suppressionlist@simulator.amazonses.com', 'SUPPRESSED'],
  ])('a feedback for %s shows %s in the status API within a few seconds', async (address, expected) => {
    // Act
    const accepted = await submitFeedback(
      stack,
      validFeedback({ email: address, message: 'Delivery check' }),
    );
    await waitForStatus(stack, accepted.body.taskId, 'SUCCESS');

    // Assess
    const status = await waitFor(
      async () => ((await visitorEmailStatus(accepted.body.taskId)) === expected ? expected : undefined),
      { timeoutMs: 15_000, what: `${expected} for ${address}` },
    );
    expect(status).toBe(expected);
  });
});

describe('the daily report', () => {
  it("tells the owner today's skipped autoresponses, bounces and complaints (the tests above made them)", async () => {
    // Prepare: each count is written just after the state the tests above waited for.
    const today = new Date().toISOString().slice(0, 10);
    const counters = new DailyCounterStore({ dynamodb: stack.clients.dynamodb, tableName: stack.tableName });
    await waitFor(async () => {
      const { skipped, bounced, complained } = await counters.read(today);
      return skipped >= 17 && bounced >= 2 && complained >= 1;
    });

    // Act
    const report = await stack.runReport(today);

    // Assess: 17 skipped; bounce@ and suppressionlist@ bounced; complaint@ complained (more if a test
    // above was tried again).
    expect(report.skipped).toBeGreaterThanOrEqual(17);
    expect(report.bounced).toBeGreaterThanOrEqual(2);
    expect(report.complained).toBeGreaterThanOrEqual(1);
    const email = await waitFor(async () =>
      (await readMailbox(stack)).find((sent) => sent.subject === `Feedback report for ${report.date}`),
    );
    expect(email.body.text).toContain(`Autoresponses skipped: ${report.skipped} `);
    expect(email.body.text).toContain(`Bounced:               ${report.bounced}\n`);
    expect(email.body.text).toContain(`Complaints:            ${report.complained}\n`);
    expect(email.body.text).toContain('count against your SES reputation');
  });
});
