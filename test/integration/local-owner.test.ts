/**
 * The site owner on the local stack: with `notifyEmail`, each feedback also mails the owner
 * (Reply-To the visitor), and the daily report counts a handful of tasks — sent, retried, failed —
 * with the dead-letter queue's depth, as it arrives in the mailbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalStack,
  queueDepth,
  readMailbox,
  startTestStack,
  submitFeedback,
  uniqueAddress,
  waitFor,
  waitForEmails,
  waitForStatus,
} from '../helpers/local-stack.ts';

const OWNER = 'owner@example.com';

let stack: LocalStack;
const createdDays = new Set<string>();

beforeAll(async () => {
  stack = await startTestStack({
    notifyEmail: OWNER,
    reportSchedule: false,
    maxAttempts: 2,
    visibilityTimeoutSeconds: 3,
  });
});

afterAll(async () => {
  await stack?.stop();
});

async function submit(email: string, message: string): Promise<string> {
  const accepted = await submitFeedback(stack, { email, message });
  expect(accepted.status).toBe(202);
  const { task } = await waitForStatus(stack, accepted.body.taskId, [
    'PENDING',
    'STARTED',
    'RETRY',
    'SUCCESS',
    'FAILURE',
  ]);
  createdDays.add(task.createdAt.slice(0, 10));
  return accepted.body.taskId;
}

describe('the owner', () => {
  it('gets one notification per feedback, Reply-To the visitor, besides the visitor’s email', async () => {
    // Prepare
    const visitor = uniqueAddress('visitor');

    // Act
    const taskId = await submit(visitor, 'Your site is lovely.');
    await waitForStatus(stack, taskId, 'SUCCESS');

    // Assess
    const toVisitor = await waitForEmails(stack, visitor);
    const toOwner = (await waitForEmails(stack, OWNER)).filter(
      (e) => e.subject === `New feedback from ${visitor}`,
    );
    expect(toVisitor).toHaveLength(1);
    expect(toVisitor[0]).toMatchObject({ subject: 'Your Feedback', replyTo: [] });
    expect(toOwner).toHaveLength(1);
    expect(toOwner[0]).toMatchObject({
      from: 'support@example.com',
      destination: { to: [OWNER] },
      replyTo: [visitor],
      body: { text: 'Your site is lovely.' },
    });
  });

  it('gets a daily report with the day’s figures and the dead-letter queue’s depth', async () => {
    // Prepare: two more sent, one retried then sent, one failed for good (its message in the DLQ).
    for (const n of [1, 2]) await waitForStatus(stack, await submit(uniqueAddress(), `fine ${n}`), 'SUCCESS');
    await stack.stopSes();
    const failed = await submit(uniqueAddress('failed'), 'never sent');
    await waitForStatus(stack, failed, 'FAILURE');
    await waitFor(async () => (await queueDepth(stack, stack.deadLetterQueueUrl)).total === 1, {
      what: 'the DLQ message',
    });
    const retried = await submit(uniqueAddress('retried'), 'sent at the second try');
    await waitForStatus(stack, retried, 'RETRY');
    await stack.startSes();
    await waitForStatus(stack, retried, 'SUCCESS');
    expect(createdDays.size).toBe(1);
    const [day] = [...createdDays] as [string];

    // Act
    const report = await stack.runReport(day);

    // Assess
    expect(report).toMatchObject({
      date: day,
      accepted: 5,
      sent: 4,
      retried: 2,
      failed: 1,
      deadLetterQueueDepth: 1,
    });
    const email = await waitFor(async () =>
      (await readMailbox(stack)).find((e) => e.subject === `Feedback report for ${day}`),
    );
    expect(email.destination.to).toEqual([OWNER]);
    expect(email.body.text).toContain('Accepted: 5');
    expect(email.body.text).toContain('Sent:     4');
    expect(email.body.text).toContain('Retried:  2');
    expect(email.body.text).toContain('Failed:   1');
    expect(email.body.text).toContain('npm run redrive');
    expect(email.body.text).not.toMatch(/visitor-|retried-|failed-/);
  });
});
