import { setTimeout as sleep } from 'node:timers/promises';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { Consumer } from 'sqs-consumer';
import { invokeWithTimeout } from './lambda-context';

/** An SQS-triggered Lambda handler with partial batch responses. */
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

/** What became of one invocation's batch. */
export interface BatchOutcome {
  records: SQSRecord[];
  /** Message ids left on the queue (reported in `batchItemFailures`, or the whole batch on an error). */
  failedMessageIds: Set<string>;
  /** Set when the invocation threw or timed out: no message of the batch was deleted. */
  error?: unknown;
}

export interface PollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  functionName: string;
  handler: SqsHandler;
  /** Messages per invocation (the event source's batch size). */
  batchSize: number;
  /** Invocations at most at once (the event source's maximum concurrency). */
  concurrency: number;
  /** Long poll wait, seconds (the event source polls with 20). */
  waitTimeSeconds: number;
  /** The function's timeout: a longer invocation counts as failed, its whole batch stays. */
  functionTimeoutMs: number;
  /**
   * Called before each invocation (awaited); the function it returns is called with the outcome,
   * before the poller deletes the succeeded messages.
   */
  observeBatch?(records: SQSRecord[]): Promise<(outcome: BatchOutcome) => Promise<void> | void>;
  /** An SQS call of the poller failed (receive, delete). */
  onError?(error: unknown): void;
}

export interface Poller {
  start(): void;
  /** Stops receiving; resolves when no receive and no invocation is in flight any more. */
  pause(): Promise<void>;
  resume(): void;
  /** Pauses, waiting at most `timeoutMs` for in-flight invocations; resolves with how many were still running. */
  stop(timeoutMs: number): Promise<number>;
  /** Invocations running now. */
  readonly inFlight: number;
  /** Receipt handles of the messages this poller left on the queue (hidden until their retry) and has not seen again. */
  leftOnQueue(): string[];
}

/**
 * The SQS → Lambda event source mapping, in process, on sqs-consumer: `concurrency` consumers, each
 * long-polling up to `batchSize` messages with all their attributes and invoking the handler with
 * an `SQSEvent`. Like the event source with `ReportBatchItemFailures`, it deletes the messages not
 * listed in `batchItemFailures`, and none when the handler throws, times out or lists an id that is
 * not in the batch. Messages left on the queue reappear after their visibility timeout (or the one
 * the handler set); the queue's redrive policy moves them to the dead-letter queue.
 */
export function createPoller(options: PollerOptions): Poller {
  let inFlight = 0;
  let idleWaiters: (() => void)[] = [];
  const settle = () => {
    if (inFlight > 0) return;
    for (const wake of idleWaiters) wake();
    idleWaiters = [];
  };
  const whenIdle = () =>
    inFlight === 0 ? Promise.resolve() : new Promise<void>((wake) => idleWaiters.push(wake));

  const left = new Map<string, string>();
  const invoke = async (messages: Message[]): Promise<Message[]> => {
    const records = messages.map((message) => toSqsRecord(message, options));
    for (const record of records) left.delete(record.messageId);
    inFlight += 1;
    let observeEnd: ((outcome: BatchOutcome) => Promise<void> | void) | undefined;
    try {
      observeEnd = await options.observeBatch?.(records);
    } catch (error) {
      options.onError?.(error);
    }
    let outcome: BatchOutcome;
    try {
      const response = await invokeWithTimeout(options.functionName, options.functionTimeoutMs, (context) =>
        options.handler({ Records: records }, context),
      );
      outcome = { records, failedMessageIds: failedIds(response, records) };
    } catch (error) {
      outcome = { records, failedMessageIds: new Set(records.map((r) => r.messageId)), error };
    }
    try {
      await observeEnd?.(outcome);
    } catch (error) {
      options.onError?.(error);
    } finally {
      inFlight -= 1;
      settle();
    }
    for (const record of records) {
      if (outcome.failedMessageIds.has(record.messageId)) left.set(record.messageId, record.receiptHandle);
    }
    return messages.filter((message) => !outcome.failedMessageIds.has(message.MessageId ?? ''));
  };

  const consumers = Array.from({ length: options.concurrency }, () => {
    const busy = { invoking: false };
    const consumer = Consumer.create({
      queueUrl: options.queueUrl,
      sqs: options.sqs,
      batchSize: options.batchSize,
      waitTimeSeconds: options.waitTimeSeconds,
      // local-aws-sqs reads the attributes to return from AttributeNames only.
      attributeNames: ['All'],
      messageSystemAttributeNames: ['All'],
      messageAttributeNames: ['All'],
      handleMessageBatch: async (messages) => {
        busy.invoking = true;
        try {
          return await invoke(messages);
        } finally {
          busy.invoking = false;
        }
      },
    });
    // A paused poller cancels its idle long polls: those aborts are no error.
    consumer.on('error', (error) => {
      if (running || !isAbort(error)) options.onError?.(error);
    });
    consumer.on('processing_error', (error) => options.onError?.(error));
    return { consumer, busy };
  });

  let running = false;
  const pause = async (): Promise<void> => {
    running = false;
    for (const { consumer, busy } of consumers) {
      // An idle long poll is cancelled; an invocation in flight finishes and deletes what it may.
      consumer.stop({ abort: !busy.invoking });
    }
    await whenIdle();
    while (consumers.some(({ consumer }) => consumer.status.isPolling)) await sleep(20);
  };

  return {
    start() {
      if (running) return;
      running = true;
      for (const { consumer } of consumers) consumer.start();
    },
    pause,
    resume() {
      this.start();
    },
    async stop(timeoutMs: number): Promise<number> {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((done) => {
        timer = setTimeout(done, timeoutMs);
      });
      await Promise.race([pause(), timedOut]);
      clearTimeout(timer);
      return inFlight;
    },
    get inFlight() {
      return inFlight;
    },
    leftOnQueue: () => [...left.values()],
  };
}

function isAbort(error: unknown): boolean {
  const text = error instanceof Error ? `${error.name} ${error.message}` : String(error);
  return /abort/i.test(text);
}

/**
 * The ids to leave on the queue. As with Lambda, an item identifier that is empty or not in the
 * batch fails the whole batch.
 */
function failedIds(response: SQSBatchResponse | undefined, records: SQSRecord[]): Set<string> {
  const failures = response?.batchItemFailures ?? [];
  const batchIds = new Set(records.map((r) => r.messageId));
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = failure?.itemIdentifier;
    if (typeof id !== 'string' || !batchIds.has(id)) return batchIds;
    failed.add(id);
  }
  return failed;
}

/** The Lambda event record of a received message, with the attributes the event source passes. */
export function toSqsRecord(message: Message, source: { queueArn: string; region: string }): SQSRecord {
  const attributes = message.Attributes ?? {};
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      stringListValues: [],
      binaryListValues: [],
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined
        ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
        : {}),
    };
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ...attributes,
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'AIDALOCALSTACKSENDER',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: source.queueArn,
    awsRegion: source.region,
  };
}
