/**
 * A deploy keeps the queued messages deliverable. Here the form gains a required field (a `topic`, as
 * the next engineer might add one, without `alwaysQueued`), and the worker still sends the email of a
 * message the previous version queued without it: the queue and its dead-letter queue hold such
 * messages for days after the deploy.
 */
import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FieldDefinition } from '../../functions/form/fields.ts';
import { parseFeedbackMessage } from '../../functions/form/queue-message.ts';
import { captureLogs, loadHandler } from '../helpers/handlers.ts';
import { feedbackMessage, feedbackRecord, lambdaContext, sqsEvent } from '../helpers/sqs-event.ts';
import { startTaskTable, type TaskTable, taskTableEnv } from '../helpers/task-table.ts';

const TOPICS = ['bug', 'idea', 'praise'];

vi.mock(import('../../functions/form/fields.ts'), async (importOriginal) => {
  const fields = await importOriginal();
  const topic: FieldDefinition = {
    label: 'Topic',
    required: true,
    maxLength: 20,
    control: 'text',
    notText: fields.errorTexts.invalidValue,
    check: (_raw, cleaned) => (TOPICS.includes(cleaned) ? [] : [fields.errorTexts.invalidValue]),
  };
  const feedbackFields = { ...fields.feedbackFields, topic };
  return { ...fields, feedbackFields, FIELD_NAMES: Object.keys(feedbackFields) } as typeof fields;
});

/** A message as the previous version queued it: the fields it knew, not the new `topic`. */
const previousMessage = () => feedbackMessage({ topic: undefined } as Parameters<typeof feedbackMessage>[0]);

describe('the queue message after a required field is added', () => {
  it('accepts a message of the previous version, without the new field', () => {
    // Prepare
    const message = previousMessage();

    // Act
    const parsed = parseFeedbackMessage(JSON.stringify(message));

    // Assess
    expect(message).not.toHaveProperty('topic');
    expect(parsed).toEqual({ success: true, message });
  });

  it('checks the new field when a message carries it, and still requires the first fields', () => {
    // Act
    const withTopic = parseFeedbackMessage(JSON.stringify({ ...previousMessage(), topic: 'idea' }));
    const badTopic = parseFeedbackMessage(JSON.stringify({ ...previousMessage(), topic: 'spam' }));
    const { email: _dropped, ...withoutEmail } = previousMessage();
    const noEmail = parseFeedbackMessage(JSON.stringify(withoutEmail));

    // Assess
    expect(withTopic).toMatchObject({ success: true, message: { topic: 'idea' } });
    expect(badTopic).toMatchObject({ success: false });
    expect(noEmail).toMatchObject({ success: false, taskId: withoutEmail.taskId });
  });
});

describe('send-feedback-email after a required field is added', () => {
  const sesMock = mockClient(SESClient);
  const sqsMock = mockClient(SQSClient);
  let table: TaskTable;
  let handler: (event: SQSEvent) => Promise<SQSBatchResponse>;

  beforeAll(async () => {
    table = await startTaskTable();
    const worker = await loadHandler<typeof import('../../functions/send-feedback-email.ts')>(
      'send-feedback-email',
      taskTableEnv(table),
    );
    handler = (event) => worker.handler(event, lambdaContext());
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await table.stop();
  });

  beforeEach(() => {
    sesMock.reset();
    sqsMock.reset();
    sesMock.on(SendEmailCommand).resolves({ MessageId: 'ses-message-1' });
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
    captureLogs();
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('delivers a message queued by the previous version: the email sent, the task SUCCESS', async () => {
    // Prepare
    const message = previousMessage();
    await table.put({ taskId: message.taskId, createdAt: message.createdAt });

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sesMock).toHaveReceivedCommandTimes(SendEmailCommand, 1);
    expect(sesMock).toHaveReceivedCommandWith(SendEmailCommand, {
      Destination: { ToAddresses: [message.email] },
      Message: expect.objectContaining({
        Body: { Text: { Data: `\t${message.message}\n\nThank you!`, Charset: 'UTF-8' } },
      }),
    });
    expect(await table.get(message.taskId)).toMatchObject({ status: 'SUCCESS' });
  });
});
