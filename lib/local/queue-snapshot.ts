import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { LocalQueues } from './resources';

/**
 * local-aws-sqs keeps its queues in memory. So that a second `npm start` loses no accepted feedback
 * (a task `PENDING` at Ctrl-C still gets its email), the stack writes the messages still on the queues
 * to `<dataDir>/sqs/` when it stops, and sends them again when it starts. What SQS would keep and this
 * does not: message ids and receive counts (a restored message starts again at its first receive).
 */
interface SavedMessage {
  body: string;
  sentTimestamp?: string;
}

const FILES = { queue: 'feedback-queue.json', deadLetterQueue: 'dead-letter-queue.json' } as const;

/**
 * Drains both queues into files. `hidden` are receipt handles of messages waiting for a retry
 * (invisible); they are made visible first, so they are kept too.
 */
export async function saveQueues(
  sqs: SQSClient,
  dir: string,
  queues: LocalQueues,
  hidden: string[],
): Promise<number> {
  for (const receiptHandle of hidden) {
    await sqs
      .send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queues.queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: 0,
        }),
      )
      .catch(() => undefined);
  }
  // The emulator applies a visibility change (or its redrive) on its next tick.
  if (hidden.length > 0) await sleep(50);
  mkdirSync(dir, { recursive: true });
  let saved = 0;
  for (const [queueUrl, file] of [
    [queues.queueUrl, FILES.queue],
    [queues.deadLetterQueueUrl, FILES.deadLetterQueue],
  ] as const) {
    const messages = await drain(sqs, queueUrl);
    if (messages.length > 0)
      writeFileSync(join(dir, file), `${JSON.stringify(messages, null, 2)}\n`, { mode: 0o600 });
    saved += messages.length;
  }
  return saved;
}

/** Sends the saved messages again and removes the files; resolves with how many. */
export async function restoreQueues(sqs: SQSClient, dir: string, queues: LocalQueues): Promise<number> {
  let restored = 0;
  for (const [queueUrl, file] of [
    [queues.queueUrl, FILES.queue],
    [queues.deadLetterQueueUrl, FILES.deadLetterQueue],
  ] as const) {
    const path = join(dir, file);
    if (!existsSync(path)) continue;
    const messages = JSON.parse(readFileSync(path, 'utf8')) as SavedMessage[];
    for (const message of messages) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message.body }));
      restored += 1;
    }
    rmSync(path);
  }
  return restored;
}

async function drain(sqs: SQSClient, queueUrl: string): Promise<SavedMessage[]> {
  const saved: SavedMessage[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 60,
        AttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return saved;
    for (const message of Messages) {
      saved.push({
        body: message.Body ?? '',
        ...(message.Attributes?.SentTimestamp ? { sentTimestamp: message.Attributes.SentTimestamp } : {}),
      });
    }
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle ?? '',
        })),
      }),
    );
  }
}
