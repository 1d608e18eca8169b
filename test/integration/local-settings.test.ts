/**
 * A test stack takes its settings from its options and the settings table's defaults, never from the
 * environment of the process that starts it: an owner's address, a sender or an autoresponse limit
 * exported in the shell does not reach the handlers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalStack,
  readMailbox,
  startTestStack,
  submitFeedback,
  uniqueAddress,
  waitForEmails,
  waitForStatus,
} from '../helpers/local-stack.ts';

const SHELL = {
  NOTIFY_EMAIL: 'shell-owner@example.com',
  SENDER_EMAIL: 'shell-sender@example.com',
  AUTORESPONSE_LIMIT: '1',
  ALLOWED_ORIGINS: 'https://shell.example',
};

let stack: LocalStack;

beforeAll(async () => {
  // Prepare: the settings a developer might have exported in the shell that runs the tests.
  Object.assign(process.env, SHELL);
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

describe('a test stack started with settings in the shell', () => {
  it('has no owner, the default sender and the default autoresponse limit', async () => {
    // Prepare
    const visitor = uniqueAddress('visitor');

    // Act: twice from one address, which a limit of 1 would cut to one autoresponse.
    for (const message of ['first', 'second']) {
      const accepted = await submitFeedback(stack, { email: visitor, message });
      expect(accepted.status).toBe(202);
      await waitForStatus(stack, accepted.body.taskId, 'SUCCESS');
    }

    // Assess
    expect(stack.settings).toMatchObject({ notifyEmail: undefined, senderEmail: 'support@example.com' });
    const toVisitor = await waitForEmails(stack, visitor, 2);
    expect(toVisitor.map((email) => email.from)).toEqual(['support@example.com', 'support@example.com']);
    const mailbox = await readMailbox(stack);
    expect(mailbox.filter((email) => email.destination.to.includes(SHELL.NOTIFY_EMAIL))).toEqual([]);
    // The handlers' environment (this process's) holds the stack's settings, not the shell's.
    for (const [name, value] of Object.entries(SHELL)) expect(process.env[name], name).not.toBe(value);
  });

  it("refuses another site's post: the shell's allowed origin is not the stack's", async () => {
    // Act
    const answer = await submitFeedback(
      stack,
      { email: uniqueAddress(), message: 'from the shell’s origin' },
      { headers: { origin: SHELL.ALLOWED_ORIGINS, 'sec-fetch-site': 'cross-site' } },
    );

    // Assess
    expect(answer.status).toBe(403);
  });
});
