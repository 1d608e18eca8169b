import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequestHandler } from 'local-aws-sqs';
import { closeServer, type Listen, listen, type RunningEmulator } from './emulators.ts';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './resources.ts';

/** A message as the front keeps it, in `<dataDir>/<queue>/<id>.json`: what SQS keeps of it. */
interface KeptMessage {
  /** The id callers see; the same across restarts, though the emulator's own id changes. */
  id: string;
  queue: string;
  body: string;
  messageAttributes?: Record<string, unknown>;
  sentAt: number;
  receives: number;
  firstReceivedAt?: number;
  /** Epoch ms until which the message is in flight (or delayed); 0 when visible. */
  invisibleUntil: number;
}

/**
 * local-aws-sqs behind a front that makes it durable and mends where it differs from SQS (for the SDK's
 * JSON protocol, which every client here speaks).
 *
 * - Durability: local-aws-sqs keeps its queues in memory (fauxqs, which persists, loses a message
 *   released with a visibility timeout of 0: see docs/local-stack.md). So the front writes each message
 *   through to `dataDir` before it answers (when sent, at each receive, at a visibility change) and
 *   removes it at delete, purge or the move to the dead-letter queue. When a
 *   queue is created at the next start, its kept messages are sent again with their id, receive count
 *   and sent time, delayed by what is left of their invisibility (at most SQS's 900 s): whatever ends
 *   the process, no accepted message is lost, and one in flight comes back after its visibility timeout.
 * - Receive counts: the emulator counts a visibility change as a receive; the front counts receives.
 * - Redrive: the emulator gets a maxReceiveCount it never reaches; the front moves a message to the
 *   dead-letter queue, as SQS does, when a receive would exceed the queue's own.
 * - Long polling: the emulator answers only when the batch is full or the wait is over, SQS as soon as
 *   there is a message; the front repeats short polls until then.
 */
export async function startSqs(
  at: Listen,
  dataDir?: string,
  onCall: (action: string, text: string) => void = () => undefined,
): Promise<RunningEmulator> {
  const { service, requestHandler } = createRequestHandler({
    port: at.port,
    hostname: at.host,
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    emulateQueueCreationLifecycle: false,
  });
  const queues = new Map<string, { visibilityTimeout: number; redrive?: RedrivePolicy }>();
  const byEmulatorId = new Map<string, KeptMessage>();
  const byReceipt = new Map<string, KeptMessage>();
  let closing = false;

  /** Calls the emulator in process; its answer is kept, to be corrected, then sent or dropped. */
  const call = (action: string, input: Record<string, unknown>) =>
    new Promise<Answer>((done) => {
      const answer: Answer = { statusCode: 200, headers: {}, body: '' };
      const res = {
        setHeader: (name: string, value: string) => {
          answer.headers[name] = value;
        },
        end: (chunk?: string | Buffer) => done({ ...answer, body: chunk?.toString() ?? '' }),
        set statusCode(code: number) {
          answer.statusCode = code;
        },
      } as unknown as ServerResponse;
      const headers = { 'content-type': JSON_CONTENT_TYPE, 'x-amz-target': `AmazonSQS.${action}` };
      requestHandler(replayRequest(headers, Buffer.from(JSON.stringify(input))), res);
    });

  const fileOf = (message: KeptMessage) => join(dataDir ?? '', message.queue, `${message.id}.json`);
  /** Written atomically (the whole file or the old one), before the caller hears of the change. */
  const save = (message: KeptMessage) => {
    if (!dataDir) return;
    mkdirSync(join(dataDir, message.queue), { recursive: true });
    writeFileSync(`${fileOf(message)}.tmp`, JSON.stringify(message), { mode: 0o600 });
    renameSync(`${fileOf(message)}.tmp`, fileOf(message));
  };
  const forget = (message: KeptMessage | undefined) => {
    for (const map of [byEmulatorId, byReceipt])
      for (const [key, kept] of map) if (kept === message) map.delete(key);
    if (dataDir && message) rmSync(fileOf(message), { force: true });
  };

  /** Puts a kept message into the emulator (again); resolves false when the emulator refused it. */
  const enqueue = async (message: KeptMessage): Promise<boolean> => {
    const delay = Math.min(Math.ceil((message.invisibleUntil - Date.now()) / 1000), MAX_DELAY_SECONDS);
    const sent = json<{ MessageId: string }>(
      await call('SendMessage', {
        QueueUrl: message.queue,
        MessageBody: message.body,
        MessageAttributes: message.messageAttributes,
        DelaySeconds: Math.max(delay, 0),
      }),
    );
    if (sent) byEmulatorId.set(sent.MessageId, message);
    return sent !== undefined;
  };

  const restore = async (queueName: string) => {
    const folder = join(dataDir ?? '', queueName);
    if (!dataDir || !existsSync(folder)) return;
    for (const name of readdirSync(folder).filter((file) => file.endsWith('.json'))) {
      const message = JSON.parse(readFileSync(join(folder, name), 'utf8')) as KeptMessage;
      if (![...byEmulatorId.values()].some((kept) => kept.id === message.id)) await enqueue(message);
    }
  };

  /** Notes a queue's settings; the emulator gets a redrive policy it never applies. */
  const configure = (queueName: string, input: Record<string, unknown>) => {
    const attributes = input.Attributes as Record<string, string> | undefined;
    const settings = queues.get(queueName) ?? { visibilityTimeout: DEFAULT_VISIBILITY_TIMEOUT };
    queues.set(queueName, settings);
    if (attributes?.VisibilityTimeout) settings.visibilityTimeout = Number(attributes.VisibilityTimeout);
    if (!attributes?.RedrivePolicy) return input;
    const policy = JSON.parse(attributes.RedrivePolicy) as RedrivePolicy;
    settings.redrive = { ...policy, maxReceiveCount: Number(policy.maxReceiveCount) };
    const unreachable = JSON.stringify({ ...policy, maxReceiveCount: EMULATOR_MAX_RECEIVE_COUNT });
    return { ...input, Attributes: { ...attributes, RedrivePolicy: unreachable } };
  };

  /** A message the emulator accepted, kept from now on. */
  const keep = (queue: string, entry: Record<string, unknown>, emulatorId: string) => {
    const message: KeptMessage = {
      id: emulatorId,
      queue,
      body: String(entry.MessageBody),
      messageAttributes: entry.MessageAttributes as Record<string, unknown> | undefined,
      sentAt: Date.now(),
      receives: 0,
      invisibleUntil: Date.now() + Number(entry.DelaySeconds ?? 0) * 1000,
    };
    save(message);
    byEmulatorId.set(emulatorId, message);
    return message;
  };

  const moveToDeadLetterQueue = async (
    message: KeptMessage,
    receiptHandle: string,
    policy: RedrivePolicy,
  ) => {
    const deadLetterQueue = queueNameOf(policy.deadLetterTargetArn.split(':').pop());
    const { firstReceivedAt: _, ...rest } = message;
    const moved = { ...rest, queue: deadLetterQueue, receives: 0, invisibleUntil: 0 };
    save(moved);
    if (!(await enqueue(moved))) return;
    await call('DeleteMessage', { QueueUrl: message.queue, ReceiptHandle: receiptHandle });
    forget(message);
  };

  const receive = async (input: Record<string, unknown>, clientGone: () => boolean): Promise<Answer> => {
    const queueName = queueNameOf(input.QueueUrl);
    const settings = queues.get(queueName);
    // The emulator reads the attributes to return from AttributeNames only.
    const {
      MessageSystemAttributeNames: system = [],
      AttributeNames: names = [],
      ...rest
    } = input as {
      [name: string]: string[] | undefined;
    };
    const shortPoll = { ...rest, WaitTimeSeconds: 0, AttributeNames: [...names, ...system] };
    const visibilityTimeout = Number(input.VisibilityTimeout ?? settings?.visibilityTimeout ?? 30);
    const deadline = Date.now() + Number(input.WaitTimeSeconds ?? 0) * 1000;
    for (;;) {
      const answer = await call('ReceiveMessage', shortPoll);
      const messages = json<{ Messages?: ReceivedMessage[] }>(answer)?.Messages ?? [];
      if (clientGone()) {
        // The caller hung up (an aborted poll): what it did not get must not stay hidden, nor count.
        for (const { ReceiptHandle } of messages)
          await call('ChangeMessageVisibility', { QueueUrl: queueName, ReceiptHandle, VisibilityTimeout: 0 });
        return answer;
      }
      const delivered: ReceivedMessage[] = [];
      const now = Date.now();
      for (const message of messages) {
        if (delivered.some((other) => other.MessageId === message.MessageId)) continue;
        const kept =
          byEmulatorId.get(message.MessageId) ??
          keep(queueName, { MessageBody: message.Body }, message.MessageId);
        kept.receives += 1;
        if (settings?.redrive && kept.receives > settings.redrive.maxReceiveCount) {
          await moveToDeadLetterQueue(kept, message.ReceiptHandle, settings.redrive);
          continue;
        }
        kept.firstReceivedAt ??= now;
        kept.invisibleUntil = now + visibilityTimeout * 1000;
        save(kept);
        byReceipt.set(message.ReceiptHandle, kept);
        message.MessageId = kept.id;
        const ours = {
          ApproximateReceiveCount: kept.receives,
          SentTimestamp: kept.sentAt,
          ApproximateFirstReceiveTimestamp: kept.firstReceivedAt,
        };
        for (const [name, value] of Object.entries(ours))
          if (message.Attributes && name in message.Attributes) message.Attributes[name] = String(value);
        delivered.push(message);
      }
      // An empty receive is answered with an empty body, as the emulator (and SQS) do.
      if (answer.statusCode === 200)
        answer.body = delivered.length ? JSON.stringify({ Messages: delivered }) : '';
      if (delivered.length > 0 || answer.statusCode !== 200 || closing || Date.now() >= deadline)
        return answer;
      await sleep(50);
    }
  };

  /** The entries of a batch call that succeeded (all of a single call that did). */
  const succeeded = (answer: Answer, input: Record<string, unknown>) => {
    if (answer.statusCode !== 200) return [];
    if (!input.Entries) return [{ entry: input, result: json<Record<string, unknown>>(answer) ?? {} }];
    const results = json<{ Successful?: Record<string, unknown>[] }>(answer)?.Successful ?? [];
    return (input.Entries as Record<string, unknown>[]).flatMap((entry) => {
      const result = results.find((r) => r.Id === entry.Id);
      return result ? [{ entry, result }] : [];
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const action = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '');
    if (!FRONTED.test(action)) return requestHandler(req, res);
    const raw = Buffer.concat(await req.toArray());
    onCall(action, raw.toString('utf8'));
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(raw.toString('utf8'));
    } catch {
      return requestHandler(replayRequest(req.headers, raw), res);
    }
    let gone = false;
    res.once('close', () => {
      gone = true;
    });
    const queueName = queueNameOf(input.QueueUrl ?? input.QueueName);
    const configured = /^(CreateQueue|SetQueueAttributes)$/.test(action)
      ? configure(queueName, input)
      : input;
    const answer =
      action === 'ReceiveMessage' ? await receive(input, () => gone) : await call(action, configured);
    const done = action === 'ReceiveMessage' ? [] : succeeded(answer, input);
    if (action === 'CreateQueue' && done.length) await restore(queueName);
    if (/^SendMessage/.test(action))
      for (const { entry, result } of done) keep(queueName, entry, String(result.MessageId));
    if (/^DeleteMessage/.test(action))
      for (const { entry } of done) forget(byReceipt.get(String(entry.ReceiptHandle)));
    if (action === 'PurgeQueue' && done.length)
      for (const kept of new Set(byEmulatorId.values())) if (kept.queue === queueName) forget(kept);
    if (/^ChangeMessageVisibility/.test(action)) {
      for (const { entry } of done) {
        const kept = byReceipt.get(String(entry.ReceiptHandle));
        if (kept)
          save(Object.assign(kept, { invisibleUntil: Date.now() + Number(entry.VisibilityTimeout) * 1000 }));
      }
    }
    const attributes = action === 'GetQueueAttributes' ? json<QueueAttributes>(answer) : undefined;
    const policy = queues.get(queueName)?.redrive;
    if (policy && attributes?.Attributes?.RedrivePolicy) {
      attributes.Attributes.RedrivePolicy = JSON.stringify(policy);
      answer.body = JSON.stringify(attributes);
    }
    if (gone) return;
    res.writeHead(answer.statusCode, answer.headers).end(answer.body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.statusCode = 500;
      res.end(String(error));
    });
  });
  const port = await listen(server, 'SQS', at);
  // Queue URLs carry the port; with port 0 it is known only now (as createSqsServer does it).
  service.PORT = port;
  return {
    port,
    endpoint: `http://${at.host}:${port}`,
    close: () => {
      closing = true;
      return closeServer(server);
    },
  };
}

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';
const FRONTED =
  /^(ReceiveMessage|CreateQueue|(Set|Get)QueueAttributes|PurgeQueue|(SendMessage|ChangeMessageVisibility|DeleteMessage)(Batch)?)$/;
/** What the emulator gets as maxReceiveCount: SQS's highest, never reached here. */
const EMULATOR_MAX_RECEIVE_COUNT = 1000;
/** SQS's longest delay: a kept message invisible for longer comes back earlier after a restart. */
const MAX_DELAY_SECONDS = 900;
const DEFAULT_VISIBILITY_TIMEOUT = 30;

interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

interface ReceivedMessage {
  MessageId: string;
  ReceiptHandle: string;
  Body: string;
  Attributes?: Record<string, string>;
}

type QueueAttributes = { Attributes?: Record<string, string> };

interface Answer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const queueNameOf = (queueUrl: unknown): string => String(queueUrl ?? '').replace(/.*\//, '');

/** A request whose body was already read, handed to the emulator as if it came off the wire. */
function replayRequest(headers: IncomingHttpHeaders, body: Buffer): IncomingMessage {
  return Object.assign(Readable.from([body]), {
    headers,
    method: 'POST',
    url: '/',
  }) as unknown as IncomingMessage;
}

function json<T>(answer: Answer): T | undefined {
  if (answer.statusCode !== 200 || answer.body === '') return undefined;
  try {
    return JSON.parse(answer.body) as T;
  } catch {
    return undefined;
  }
}
