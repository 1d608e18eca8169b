import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import type { Handler, LambdaFunction } from './lambda.ts';

/** An SQS-triggered Lambda handler with partial batch responses. */
export type SqsHandler = Handler<SQSEvent, SQSBatchResponse | undefined>;

export interface PollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  /** The function the event source invokes (its timeout counts as a failure: the whole batch stays). */
  target: LambdaFunction<SQSEvent, SQSBatchResponse | undefined>;
  /** The event source's batch size and maximum concurrency. */
  batchSize: number;
  concurrency: number;
  /** Long poll wait, seconds (the event source polls with 20). */
  waitTimeSeconds: number;
  /** An SQS call of the poller or an invocation failed. */
  onError?(error: unknown): void;
}

export type Poller = ReturnType<typeof createPoller>;

/** Receives at once, however high the concurrency: each fills free invocation slots as Lambda's pollers do. */
const RECEIVERS = 2;

/**
 * The SQS → Lambda event source mapping, in process: a few receivers long-poll up to `batchSize`
 * messages with all their attributes whenever one of the `concurrency` invocation slots is free, and
 * invoke the handler with an `SQSEvent`. Like the event source with `ReportBatchItemFailures`, it
 * deletes the messages not listed in `batchItemFailures`, and none when the handler throws, times out
 * or lists an id that is not in the batch. Messages left on the queue reappear after their visibility
 * timeout (or the one the handler set); the queue's redrive policy moves them to the dead-letter queue.
 */
export function createPoller(options: PollerOptions) {
  let running = false;
  let abort = new AbortController();
  let slotsTaken = 0;
  const slotWaiters: (() => void)[] = [];
  const wakeReceivers = () => {
    for (const wake of slotWaiters.splice(0)) wake();
  };
  const invocations = new Set<Promise<void>>();
  let receivers: Promise<void>[] = [];

  const invoke = async (messages: Message[]) => {
    const records = messages.map((message) => toSqsRecord(message, options));
    const failed = await options.target.invoke({ Records: records }).then(
      (response) => failedIds(response, records),
      (error: unknown) => {
        options.onError?.(error);
        return new Set(records.map((r) => r.messageId));
      },
    );
    const entries = records
      .filter((record) => !failed.has(record.messageId))
      .map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle }));
    if (entries.length === 0) return;
    await options.sqs
      .send(new DeleteMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: entries }))
      .catch((error: unknown) => options.onError?.(error));
  };

  const receiveLoop = async () => {
    while (running) {
      if (slotsTaken >= options.concurrency) {
        await new Promise<void>((wake) => slotWaiters.push(wake));
        continue;
      }
      slotsTaken += 1;
      const release = () => {
        slotsTaken -= 1;
        wakeReceivers();
      };
      const receive = new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: options.batchSize,
        WaitTimeSeconds: options.waitTimeSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      });
      const messages = await options.sqs.send(receive, { abortSignal: abort.signal }).then(
        (answer) => answer.Messages ?? [],
        async (error: unknown) => {
          if (running) options.onError?.(error);
          if (running) await sleep(1000);
          return [];
        },
      );
      if (messages.length === 0) {
        release();
        continue;
      }
      const invocation = invoke(messages).finally(() => {
        invocations.delete(invocation);
        release();
      });
      invocations.add(invocation);
    }
  };

  /** Stops receiving; resolves when no receive and no invocation is in flight any more. */
  const pause = async () => {
    running = false;
    abort.abort();
    wakeReceivers();
    await Promise.all([...receivers, ...invocations]);
  };
  const start = () => {
    if (running) return;
    running = true;
    abort = new AbortController();
    receivers = Array.from({ length: Math.min(RECEIVERS, options.concurrency) }, receiveLoop);
  };
  return {
    start,
    pause,
    resume: start,
    /** Pauses, waiting at most `timeoutMs` for the invocations in flight; resolves with how many still run. */
    async stop(timeoutMs: number): Promise<number> {
      await Promise.race([pause(), sleep(timeoutMs, undefined, { ref: false })]);
      return invocations.size;
    },
  };
}

/** The ids to leave on the queue. As with Lambda, an identifier that is not in the batch fails the whole batch. */
function failedIds(response: SQSBatchResponse | undefined, records: SQSRecord[]): Set<string> {
  const batchIds = new Set(records.map((r) => r.messageId));
  const failed = new Set<string>();
  for (const failure of response?.batchItemFailures ?? []) {
    const id = failure?.itemIdentifier;
    if (typeof id !== 'string' || !batchIds.has(id)) return batchIds;
    failed.add(id);
  }
  return failed;
}

/** The Lambda event record of a message received with all its attributes, as the event source passes it. */
function toSqsRecord(message: Message, source: { queueArn: string; region: string }): SQSRecord {
  const messageAttributes = Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
    name,
    {
      dataType: value.DataType ?? 'String',
      stringListValues: [],
      binaryListValues: [],
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') } : {}),
    },
  ]);
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: message.Attributes as unknown as SQSRecordAttributes,
    messageAttributes: Object.fromEntries(messageAttributes),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: source.queueArn,
    awsRegion: source.region,
  };
}
