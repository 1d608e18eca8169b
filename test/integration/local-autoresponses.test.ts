/**
 * The autoresponses cannot cost the owner their SES account, on the local stack: SES's address validation
 * (an address under `.invalid` fails it) ends the visitor's email `INVALID`, never retried, while the task
 * succeeds and the owner is notified; enough bounces trip the breaker, which pauses the autoresponses'
 * configuration set alone: later feedback is accepted and reaches the owner, the visitor's email is
 * `PAUSED`; `npm run autoresponses -- --resume` sends again. The tests run in order, on one stack.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoresponseBreaker } from '../../functions/config/settings.ts';
import { PAUSED_SUBJECT } from '../../functions/email/messages.ts';
import { DailyCounterStore } from '../../functions/task/daily-counters.ts';
import type { TaskView } from '../../functions/task/record.ts';
import { validFeedback } from '../helpers/feedback.ts';
import {
  getTask,
  type LocalStack,
  readMailbox,
  runCli,
  startTestStack,
  submitFeedback,
  uniqueAddress,
  waitFor,
  waitForEmails,
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

/** A task once its visitor's email has `status` (SES's events take a second or so). */
async function waitForVisitorEmail(taskId: string, status: string): Promise<TaskView> {
  return waitFor(
    async () => {
      const { body } = await getTask(stack, taskId);
      return body.emails?.visitor?.status === status ? body : undefined;
    },
    { timeoutMs: 15_000, what: `the visitor email of ${taskId} to be ${status}` },
  );
}

/** The owner's notification of a feedback from `visitor`. */
function ownerNotificationFrom(visitor: string) {
  return waitFor(async () =>
    (await readMailbox(stack)).find(
      (email) => email.destination.to.includes(OWNER) && email.replyTo.includes(visitor),
    ),
  );
}

/** `npm run autoresponses` against this test's stack (its SES port; no data folder of a running `npm start`). */
function autoresponsesCli(args: string[] = []) {
  return runCli('autoresponses.ts', args, {
    SES_PORT: String(stack.ports.ses),
    LOCAL_DATA_DIR: mkdtempSync(join(tmpdir(), 'no-stack-')),
  });
}

describe("SES's address validation of the autoresponses", () => {
  it('ends the email to an address that fails it INVALID: not sent, not retried, the task a SUCCESS and the owner notified', async () => {
    // Prepare
    const visitor = `${uniqueAddress('typo').split('@')[0]}@example.invalid`;

    // Act
    const accepted = await submitFeedback(
      stack,
      validFeedback({ email: visitor, message: 'Validated away' }),
    );
    const { task: done } = await waitForStatus(stack, accepted.body.taskId, 'SUCCESS');
    const view = await waitForVisitorEmail(accepted.body.taskId, 'INVALID');

    // Assess
    expect(done.attempts).toBe(1);
    expect(view).toMatchObject({
      status: 'SUCCESS',
      attempts: 1,
      emails: { visitor: { status: 'INVALID' } },
    });
    expect(view.error).toBeUndefined();
    await ownerNotificationFrom(visitor);
    expect((await readMailbox(stack)).filter((email) => email.destination.to.includes(visitor))).toEqual([]);
  });

  it('is counted for the daily report', async () => {
    // Prepare
    const today = new Date().toISOString().slice(0, 10);
    const counters = new DailyCounterStore({ dynamodb: stack.clients.dynamodb, tableName: stack.tableName });

    // Act
    const { invalid } = await waitFor(async () => {
      const read = await counters.read(today);
      return read.invalid >= 1 ? read : undefined;
    });
    const report = await stack.runReport(today);

    // Assess
    expect(invalid).toBe(1);
    expect(report.invalid).toBe(1);
  });
});

describe('the circuit breaker', () => {
  it('pauses the autoresponses once their bounce rate passes its level, and tells the owner', async () => {
    // Prepare: enough bounces for a rate (each a new address: the per-address limit does not apply).
    const bounces = Array.from(
      { length: autoresponseBreaker.localMinimumVolume },
      (_, n) => `bounce+breaker-${n}@simulator.amazonses.com`,
    );

    // Act
    const accepted = await Promise.all(
      bounces.map((email) => submitFeedback(stack, validFeedback({ email, message: 'Junk' }))),
    );
    for (const { body } of accepted) await waitForStatus(stack, body.taskId, 'SUCCESS');
    await waitFor(() => stack.autoresponsesPaused(), { what: 'the autoresponses to be paused' });

    // Assess
    expect(stack.reputation()).toMatchObject({ alarm: 'ALARM', sent: bounces.length });
    expect(stack.reputation().bounceRate).toBeGreaterThan(autoresponseBreaker.bounceRate);
    const [notice] = await waitFor(async () => {
      const found = (await readMailbox(stack)).filter((email) => email.subject === PAUSED_SUBJECT);
      return found.length > 0 ? found : undefined;
    });
    expect(notice?.destination.to).toEqual([OWNER]);
    expect(notice?.body.text).toContain('npm run autoresponses -- --resume');
  });

  it('keeps accepting feedback and notifying the owner while paused; the visitor email is PAUSED, never retried', async () => {
    // Prepare
    const visitor = 'success+while-paused@simulator.amazonses.com';

    // Act
    const accepted = await submitFeedback(stack, validFeedback({ email: visitor, message: 'Still heard' }));
    const { task: view } = await waitForStatus(stack, accepted.body.taskId, 'SUCCESS');

    // Assess
    expect(accepted.status).toBe(202);
    expect(view).toMatchObject({ attempts: 1, emails: { visitor: { status: 'PAUSED' } } });
    expect(view.error).toBeUndefined();
    await ownerNotificationFrom(visitor);
    expect((await readMailbox(stack)).filter((email) => email.destination.to.includes(visitor))).toEqual([]);
    await waitForVisitorEmail(accepted.body.taskId, 'PAUSED');
  });

  it('says so in `npm run autoresponses`, and `--resume` sends again', async () => {
    // Act
    const before = await autoresponsesCli();
    const resumed = await autoresponsesCli(['--resume']);
    const visitor = 'success+after-resume@simulator.amazonses.com';
    const accepted = await submitFeedback(stack, validFeedback({ email: visitor, message: 'Heard again' }));
    await waitForStatus(stack, accepted.body.taskId, 'SUCCESS');
    const view = await waitForVisitorEmail(accepted.body.taskId, 'DELIVERED');

    // Assess
    expect(before).toMatchObject({ status: 0 });
    expect(before.stdout).toContain('PAUSED by the breaker');
    expect(before.stdout).toMatch(/bounce rate\s+100 % .*over the breaker’s level/);
    expect(resumed).toMatchObject({ status: 0 });
    expect(resumed.stdout).toContain('Resumed');
    expect(resumed.stdout).toContain('(configuration set feedback-autoresponses): sent');
    expect(stack.autoresponsesPaused()).toBe(false);
    expect(view.emails?.visitor?.status).toBe('DELIVERED');
    await waitForEmails(stack, visitor);
  });
});
