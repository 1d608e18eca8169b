/**
 * The whole system on the local stack: feedback submitted over HTTP ends `SUCCESS` with
 * the contract's email in the SES emulator's mailbox; invalid input is refused with the contract's
 * texts and queues nothing.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../lib/security-headers.ts';
import { validFeedback, validFeedbackForm } from '../helpers/feedback.ts';
import {
  type Accepted,
  getTask,
  type LocalStack,
  queueDepth,
  readMailbox,
  startTestStack,
  submitFeedback,
  uniqueAddress,
  waitForEmails,
  waitForStatus,
} from '../helpers/local-stack.ts';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

async function taskCount(): Promise<number> {
  const { Items = [] } = await stack.clients.dynamodb.send(new ScanCommand({ TableName: stack.tableName }));
  return Items.filter((item) => !item.taskId?.S?.startsWith('stats#')).length;
}

describe('the local stack', () => {
  it('serves the page', async () => {
    const response = await fetch(`${stack.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(await response.text()).toContain('<form');
  });

  it("sends CloudFront's security headers but HSTS (plain HTTP) on the page, its files and the API", async () => {
    // Act
    const answers = await Promise.all(
      ['/', '/app.js', '/api/tasks/not-a-task-id'].map((path) => fetch(`${stack.url}${path}`)),
    );
    await Promise.all(answers.map((answer) => answer.arrayBuffer()));

    // Assess
    for (const answer of answers) {
      expect(answer.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('x-frame-options')).toBe('DENY');
      expect(answer.headers.get('referrer-policy')).toBe('same-origin');
      expect(answer.headers.get('strict-transport-security')).toBeNull();
    }
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 400]);
  });

  it('accepts JSON feedback, runs the task to SUCCESS and sends exactly the contract email', async () => {
    // Prepare
    const email = uniqueAddress();
    const message = 'Grüße aus dem Test 👋\nZweite Zeile';

    // Act
    const accepted = await submitFeedback(stack, validFeedback({ email, message }));
    const { task } = await waitForStatus(stack, accepted.body.taskId, 'SUCCESS');
    const emails = await waitForEmails(stack, email);

    // Assess
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({
      taskId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: 'PENDING',
      statusUrl: `/api/tasks/${accepted.body.taskId}`,
    });
    expect(accepted.headers.get('location')).toBe(`/api/tasks/${accepted.body.taskId}`);
    expect(task).toMatchObject({ taskId: accepted.body.taskId, status: 'SUCCESS', attempts: 1 });
    expect(task.runtimeMs).toBeGreaterThanOrEqual(0);
    expect(Date.parse(task.finishedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(task.createdAt));
    expect(emails).toHaveLength(1);
    expect(emails[0]).toMatchObject({
      from: 'support@example.com',
      destination: { to: [email], cc: [], bcc: [] },
      subject: 'Your Feedback',
      body: { text: `\t${message}\n\nThank you!` },
    });
  });

  it('never shows the address or the message in the status answer', async () => {
    const email = uniqueAddress('private');
    const accepted = await submitFeedback(stack, validFeedback({ email, message: 'secret words' }));
    await waitForStatus(stack, accepted.body.taskId, 'SUCCESS');
    const { text, headers } = await getTask(stack, accepted.body.taskId);
    expect(text).not.toContain(email);
    expect(text).not.toContain('secret words');
    expect(headers.get('cache-control')).toBe('no-store');
  });

  it('answers a plain form post from a browser with 303 to the status page, which shows it as HTML', async () => {
    // Prepare
    const email = uniqueAddress('form');
    const form = validFeedbackForm({ email, message: 'Sent without JavaScript', website: '' });

    // Act
    const answer = await submitFeedback(stack, form, { accept: 'text/html,application/xhtml+xml' });
    const location = answer.headers.get('location') ?? '';
    const taskId = location.split('/').pop() ?? '';
    await waitForStatus(stack, taskId, 'SUCCESS');
    const page = await fetch(`${stack.url}${location}`, { headers: { accept: 'text/html' } });

    // Assess
    expect(answer.status).toBe(303);
    expect(location).toMatch(/^\/api\/tasks\/[0-9a-f-]{36}$/);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const emails = await waitForEmails(stack, email);
    expect(emails[0]?.body.text).toBe('\tSent without JavaScript\n\nThank you!');
  });

  it('accepts a form post from a script (no text/html) with the 202 JSON answer', async () => {
    const email = uniqueAddress('form-json');
    const answer = await submitFeedback<Accepted>(stack, validFeedbackForm({ email, message: 'hi' }));
    expect(answer.status).toBe(202);
    await waitForStatus(stack, answer.body.taskId, 'SUCCESS');
  });

  describe('invalid input', () => {
    beforeAll(async () => {
      // Nothing may reach the queue: with the worker paused, anything queued would stay there to be seen.
      await stack.pausePoller();
    });

    afterAll(() => {
      stack.resumePoller();
    });

    it.each([
      [
        { email: '', message: '' },
        { email: ['This field is required.'], message: ['This field is required.'] },
      ],
      [{ email: 'not-an-address', message: 'hi' }, { email: ['Enter a valid email address.'] }],
      [{ email: 'a@example.com', message: '   \n\t ' }, { message: ['This field is required.'] }],
      [
        { email: 'a@example.com', message: 'x'.repeat(5001) },
        { message: ['Ensure this value has at most 5000 characters (it has 5001).'] },
      ],
      [
        { email: `${'a'.repeat(243)}@example.com`, message: 'hi' },
        { email: expect.arrayContaining(['Ensure this value has at most 254 characters (it has 255).']) },
      ],
    ])('refuses %j with 400 and the contract texts, queueing and storing nothing', async (input, fields) => {
      // Prepare
      const tasksBefore = await taskCount();

      // Act
      const answer = await submitFeedback(stack, validFeedback(input));

      // Assess
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ error: 'invalid_feedback', fields });
      expect(await queueDepth(stack, stack.queueUrl)).toMatchObject({ total: 0 });
      expect(await taskCount()).toBe(tasksBefore);
    });

    it('refuses a body that is not JSON with 400 malformed_body', async () => {
      const answer = await submitFeedback(stack, '{"email": ', { contentType: 'application/json' });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ error: 'malformed_body', message: expect.any(String) });
      expect(await queueDepth(stack, stack.queueUrl)).toMatchObject({ total: 0 });
    });

    it('refuses another content type with 415 and a body over 64 KiB with 413', async () => {
      expect((await submitFeedback(stack, 'email=a', { contentType: 'text/plain' })).status).toBe(415);
      const big = await submitFeedback(
        stack,
        validFeedback({ email: 'a@example.com', message: 'x'.repeat(70 * 1024) }),
      );
      expect(big.status).toBe(413);
      expect(await queueDepth(stack, stack.queueUrl)).toMatchObject({ total: 0 });
    });
  });

  it('answers 404 for an unknown task and 400 for a malformed id', async () => {
    const unknown = await getTask(stack, '6f1d3c2a-1b2c-4d3e-8f4a-5b6c7d8e9f0a');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: 'not_found' });
    const malformed = await getTask(stack, 'not-a-task');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual({ error: 'invalid_task_id' });
  });

  it('answers 404 JSON for other API paths', async () => {
    const response = await fetch(`${stack.url}/api/nothing-here`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: 'Not Found' });
  });

  it('sends one email per accepted task, however many tasks there are', async () => {
    // Prepare (an address each: one address gets at most a few autoresponses a day)
    const addresses = Array.from({ length: 8 }, () => uniqueAddress('many'));
    const before = (await readMailbox(stack)).length;

    // Act
    const answers = await Promise.all(
      addresses.map((email, i) => submitFeedback(stack, validFeedback({ email, message: `message ${i}` }))),
    );
    await Promise.all(answers.map((answer) => waitForStatus(stack, answer.body.taskId, 'SUCCESS')));

    // Assess
    const emails = (await Promise.all(addresses.map((email) => waitForEmails(stack, email, 1)))).flat();
    expect(emails.map((e) => e.body.text).sort()).toEqual(
      Array.from({ length: 8 }, (_, i) => `\tmessage ${i}\n\nThank you!`).sort(),
    );
    expect((await readMailbox(stack)).length).toBe(before + 8);
  });
});
