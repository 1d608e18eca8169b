import { DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const TABLE = 'Tasks';
const DLQ_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/FeedbackDeadLetterQueue';
const SENDER = 'support@example.com';
const OWNER = 'owner@example.com';

const ddb = mockClient(DynamoDBClient);
const sesMock = mockClient(SESClient);
const sqsMock = mockClient(SQSClient);

type ReportModule = typeof import('../../functions/daily-report');

/** Imports a fresh report function: it reads its environment once, at load. */
async function loadReport(notifyEmail = OWNER): Promise<ReportModule> {
  vi.resetModules();
  vi.stubEnv('TASKS_TABLE_NAME', TABLE);
  vi.stubEnv('SENDER_EMAIL', SENDER);
  vi.stubEnv('DEAD_LETTER_QUEUE_URL', DLQ_URL);
  vi.stubEnv('NOTIFY_EMAIL', notifyEmail);
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  return import('../../functions/daily-report');
}

function counters(day: string, values: Record<string, number>): void {
  const item = Object.fromEntries(
    Object.entries(values).map(([name, value]) => [name, { N: String(value) }]),
  );
  ddb
    .on(GetItemCommand, { Key: { taskId: { S: `stats#${day}` } } })
    .resolves({ Item: { taskId: { S: `stats#${day}` }, expiresAt: { N: '1800000000' }, ...item } });
}

beforeEach(() => {
  ddb.reset();
  sesMock.reset();
  sqsMock.reset();
  ddb.on(GetItemCommand).resolves({});
  sesMock.on(SendEmailCommand).resolves({ MessageId: 'ses-report' });
  sqsMock.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '0' } });
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2025-06-02T06:00:00.000Z'));
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('daily-report handler', () => {
  it("mails the owner yesterday's figures from the counter item and the dead-letter queue's depth", async () => {
    // Prepare
    const { handler } = await loadReport();
    counters('2025-06-01', { accepted: 7, sent: 5, retried: 3, failed: 1 });
    sqsMock.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '2' } });

    // Act
    const result = await handler({});

    // Assess
    expect(result).toEqual({
      date: '2025-06-01',
      accepted: 7,
      sent: 5,
      retried: 3,
      failed: 1,
      deadLetterQueueDepth: 2,
      sesMessageId: 'ses-report',
    });
    expect(ddb).toHaveReceivedCommandWith(GetItemCommand, {
      TableName: TABLE,
      Key: { taskId: { S: 'stats#2025-06-01' } },
    });
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
    expect(sqsMock).toHaveReceivedCommandWith(GetQueueAttributesCommand, {
      QueueUrl: DLQ_URL,
      AttributeNames: ['ApproximateNumberOfMessages'],
    });
    expect(sesMock).toHaveReceivedCommandWith(SendEmailCommand, {
      Source: SENDER,
      Destination: { ToAddresses: [OWNER] },
      Message: {
        Subject: { Data: 'Feedback report for 2025-06-01', Charset: 'UTF-8' },
        Body: {
          Text: {
            Charset: 'UTF-8',
            Data: [
              'Feedback on 2025-06-01 (UTC)',
              '',
              'Accepted: 7',
              'Sent:     5',
              'Retried:  3',
              'Failed:   1',
              '',
              'Dead-letter queue: 2 message(s) waiting.',
              'They ran out of retries. Once the cause is fixed, move them back to the queue with',
              '`npm run redrive` (see the README); their tasks are then tried again.',
              '',
            ].join('\n'),
          },
        },
      },
    });
  });

  it('reports zeros and an empty dead-letter queue for a quiet day', async () => {
    // Prepare
    const { handler } = await loadReport();

    // Act
    const result = await handler({});

    // Assess
    expect(result).toMatchObject({ accepted: 0, sent: 0, retried: 0, failed: 0, deadLetterQueueDepth: 0 });
    const body = sesMock.commandCalls(SendEmailCommand)[0]?.args[0].input.Message?.Body?.Text?.Data;
    expect(body).toContain('Dead-letter queue: empty.');
    expect(body).not.toContain('redrive');
  });

  it('reports the day the event asks for', async () => {
    // Prepare
    const { handler } = await loadReport();
    counters('2025-05-20', { accepted: 1, sent: 1 });

    // Act
    const result = await handler({ date: '2025-05-20' });

    // Assess
    expect(result).toMatchObject({ date: '2025-05-20', accepted: 1, sent: 1, retried: 0, failed: 0 });
    expect(sesMock).toHaveReceivedCommandWith(SendEmailCommand, {
      Message: expect.objectContaining({
        Subject: { Data: 'Feedback report for 2025-05-20', Charset: 'UTF-8' },
      }),
    });
  });

  it.each(['2025-13-01', '2025-02-30', 'yesterday', '20250601', '2025-6-1', '+002025-06-01'])(
    'refuses the date %s',
    async (date) => {
      // Prepare
      const { handler } = await loadReport();

      // Act / Assess
      await expect(handler({ date })).rejects.toThrow('"date" must be a day as YYYY-MM-DD');
      expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
    },
  );

  it('only returns the figures when NOTIFY_EMAIL is not set', async () => {
    // Prepare
    const { sendDailyReport } = await loadReport('');
    counters('2025-06-01', { sent: 4 });

    // Act
    const result = await sendDailyReport();

    // Assess
    expect(result).toEqual({
      date: '2025-06-01',
      accepted: 0,
      sent: 4,
      retried: 0,
      failed: 0,
      deadLetterQueueDepth: 0,
    });
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
  });

  it('holds no visitor address or message: only the owner is addressed, the body is figures', async () => {
    // Prepare
    const { handler } = await loadReport();
    counters('2025-06-01', { accepted: 1 });

    // Act
    await handler({});

    // Assess
    const input = sesMock.commandCalls(SendEmailCommand)[0]?.args[0].input;
    expect(input?.Destination).toEqual({ ToAddresses: [OWNER] });
    expect(input).not.toHaveProperty('ReplyToAddresses');
    expect(JSON.stringify(input?.Message)).not.toMatch(/@/);
  });
});
