import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { invokeWithTimeout } from './lambda-context';

/** An SQS-triggered Lambda handler with partial batch responses. */
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface PollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  functionName: string;
  /**
   * Loads the handler in a new execution environment (a cold start), numbered from 1; called when every
   * environment loaded so far is busy, as Lambda does. An environment is reused once it is idle.
   */
  coldStart(environment: number): SqsHandler | Promise<SqsHandler>;
  /** Messages per invocation (the event source's batch size). */
  batchSize: number;
  /** Invocations at most at once (the event source's maximum concurrency). */
  concurrency: number;
  /** Long poll wait, seconds (the event source polls with 20). */
  waitTimeSeconds: number;
  /** The function's timeout: a longer invocation counts as failed, its whole batch stays. */
  functionTimeoutMs: number;
  /** An SQS call of the poller or an invocation failed. */
  onError?(error: unknown): void;
}

export interface Poller {
  start(): void;
  /** Stops receiving; resolves when no receive and no invocation is in flight any more. */
  pause(): Promise<void>;
  resume(): void;
  /** Pauses, waiting at most `timeoutMs` for in-flight invocations; resolves with how many were still running. */
  stop(timeoutMs: number): Promise<number>;
}

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
export function createPoller(options: PollerOptions): Poller {
  let running = false;
  let abort = new AbortController();
  let slotsTaken = 0;
  const slotWaiters: (() => void)[] = [];
  const wakeReceivers = () => {
    for (const wake of slotWaiters.splice(0)) wake();
  };
  const invocations = new Set<Promise<void>>();
  let receivers: Promise<void>[] = [];
  const idle: SqsHandler[] = [];
  let environments = 0;

  const invoke = async (messages: Message[]) => {
    const records = messages.map((message) => toSqsRecord(message, options));
    let failed: Set<string>;
    try {
      environments += idle.length === 0 ? 1 : 0;
      const handler = idle.pop() ?? (await options.coldStart(environments));
      try {
        const response = await invokeWithTimeout(options.functionName, options.functionTimeoutMs, (context) =>
          handler({ Records: records }, context),
        );
        failed = failedIds(response, records);
      } finally {
        idle.push(handler);
      }
    } catch (error) {
      options.onError?.(error);
      failed = new Set(records.map((r) => r.messageId));
    }
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
        AttributeNames: ['All'],
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

  const pause = async () => {
    running = false;
    abort.abort();
    wakeReceivers();
    await Promise.all([...receivers, ...invocations]);
  };

  return {
    start() {
      if (running) return;
      running = true;
      abort = new AbortController();
      receivers = Array.from({ length: Math.min(RECEIVERS, options.concurrency) }, receiveLoop);
    },
    pause,
    resume() {
      this.start();
    },
    async stop(timeoutMs) {
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

/** The Lambda event record of a received message, with the attributes the event source passes. */
export function toSqsRecord(message: Message, source: { queueArn: string; region: string }): SQSRecord {
  const now = String(Date.now());
  const attributes = {
    ApproximateReceiveCount: '1',
    SentTimestamp: now,
    SenderId: 'AIDALOCALSTACKSENDER',
    ApproximateFirstReceiveTimestamp: now,
    ...message.Attributes,
  };
  const messageAttributes = Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
      name,
      {
        dataType: value.DataType ?? 'String',
        stringListValues: [],
        binaryListValues: [],
        ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
        ...(value.BinaryValue !== undefined
          ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
          : {}),
      },
    ]),
  );
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes,
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: source.queueArn,
    awsRegion: source.region,
  };
}
