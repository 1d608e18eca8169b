import {
  type AttributeValue,
  BatchGetItemCommand,
  DynamoDBClient,
  GetItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadHandler } from '../helpers/handlers.ts';

const TABLE = 'Tasks';
const DLQ_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/FeedbackDeadLetterQueue';
const SENDER = 'support@example.com';
const OWNER = 'owner@example.com';

const ddb = mockClient(DynamoDBClient);
const sesMock = mockClient(SESClient);
const sqsMock = mockClient(SQSClient);

type ReportModule = typeof import('../../functions/daily-report.ts');

async function loadReport(notifyEmail = OWNER): Promise<ReportModule> {
  return loadHandler<ReportModule>('daily-report', {
    NOTIFY_EMAIL: notifyEmail,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
}

/** The counter items in the table, by key. */
let items: Map<string, Record<string, AttributeValue>>;

/** A day's counts, spread over two of its shards as the worker's random ADDs leave them. */
function counters(day: string, values: Record<string, number>): void {
  for (const [shard, share] of [
    [3, (value: number) => Math.floor(value / 2)],
    [7, (value: number) => value - Math.floor(value / 2)],
  ] as const) {
    const item: Record<string, AttributeValue> = {
      taskId: { S: `stats#${day}#${shard}` },
      expiresAt: { N: '1800000000' },
    };
    for (const [name, value] of Object.entries(values)) item[name] = { N: String(share(value)) };
    items.set(`stats#${day}#${shard}`, item);
  }
}

/** The counter items asked for that exist. */
function found(keys: Record<string, AttributeValue>[] | undefined): Record<string, AttributeValue>[] {
  return (keys ?? []).flatMap((key) => {
    const item = key.taskId?.S === undefined ? undefined : items.get(key.taskId.S);
    return item === undefined ? [] : [item];
  });
}

beforeEach(() => {
  ddb.reset();
  sesMock.reset();
  sqsMock.reset();
  items = new Map();
  ddb.on(BatchGetItemCommand).callsFake(({ RequestItems }) => {
    return { Responses: { [TABLE]: found(RequestItems?.[TABLE]?.Keys) }, UnprocessedKeys: {} };
  });
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
    const figures = {
      accepted: 7,
      sent: 5,
      retried: 3,
      failed: 1,
      skipped: 4,
      bounced: 2,
      complained: 1,
      invalid: 3,
      paused: 6,
    };
    counters('2025-06-01', figures);
    sqsMock.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '2' } });

    // Act
    const result = await handler({});

    // Assess
    expect(result).toEqual({
      date: '2025-06-01',
      ...figures,
      deadLetterQueueDepth: 2,
      sesMessageId: 'ses-report',
    });
    expect(ddb).toHaveReceivedCommandTimes(BatchGetItemCommand, 1);
    const keys = ddb.commandCalls(BatchGetItemCommand)[0]?.args[0].input.RequestItems?.[TABLE]?.Keys;
    expect(keys?.map((key) => key.taskId?.S)).toEqual(
      expect.arrayContaining(Array.from({ length: 10 }, (_, shard) => `stats#2025-06-01#${shard}`)),
    );
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
    expect(ddb).not.toHaveReceivedCommand(GetItemCommand);
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
              'Autoresponses skipped: 4 (addresses over their daily limit)',
              'Addresses invalid:     3 (judged unable to receive mail by SES; not sent)',
              'Autoresponses paused:  6 (not sent while the breaker held them back)',
              'Bounced:               2',
              'Complaints:            1',
              '',
              "The autoresponses were paused: their bounce or complaint rate passed the breaker's level.",
              'Feedback still reaches you. `npm run autoresponses -- --aws` shows the rates, and',
              '`npm run autoresponses -- --resume --aws` sends again (see docs/operating.md).',
              '',
              'Bounces and complaints count against your SES reputation: AWS reviews an account',
              'over 5 % bounces or 0.1 % complaints. `npm run tasks` lists what became of each email.',
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

  it('sends through the configuration set when SES_CONFIGURATION_SET is set, so its bounces count', async () => {
    // Prepare
    const { handler } = await loadHandler<ReportModule>('daily-report', {
      NOTIFY_EMAIL: OWNER,
      SES_CONFIGURATION_SET: 'feedback-emails',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });

    // Act
    await handler({ date: '2025-05-20' });

    // Assess
    expect(sesMock).toHaveReceivedCommandWith(SendEmailCommand, { ConfigurationSetName: 'feedback-emails' });
  });

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
      skipped: 0,
      bounced: 0,
      complained: 0,
      invalid: 0,
      paused: 0,
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

  it('asks again for the keys DynamoDB left unprocessed', async () => {
    // Prepare
    const { buildDailyReport } = await loadReport();
    counters('2025-06-01', { sent: 3 });
    const unprocessed = [{ taskId: { S: 'stats#2025-06-01#3' } }, { taskId: { S: 'stats#2025-06-01#7' } }];
    let calls = 0;
    ddb.on(BatchGetItemCommand).callsFake(({ RequestItems }) => {
      calls++;
      if (calls === 1)
        return { Responses: { [TABLE]: [] }, UnprocessedKeys: { [TABLE]: { Keys: unprocessed } } };
      return { Responses: { [TABLE]: found(RequestItems?.[TABLE]?.Keys) } };
    });
    vi.useRealTimers();

    // Act
    const report = await buildDailyReport('2025-06-01');

    // Assess
    expect(report.sent).toBe(3);
    expect(calls).toBe(2);
  });
});
