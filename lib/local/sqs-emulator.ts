import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequestHandler } from 'local-aws-sqs';
import { closeServer, type Listen, listen, type RunningEmulator } from './emulators';

/**
 * local-aws-sqs behind a thin front that fixes what the local stack relies on and the emulator does
 * differently from SQS (for the SDK's JSON protocol, which every client here speaks):
 *
 * - Long polling. The emulator answers a long poll only when the batch is full or the wait is over
 *   (and may hand the same message twice in one answer). SQS answers as soon as there is a message:
 *   the front repeats short polls until there is one or the wait is over.
 * - Receive counts. The emulator counts a `ChangeMessageVisibility` as a receive, so a worker that sets
 *   its retry backoff burns two of the message's receives per attempt. The front counts the changes
 *   per message and takes them off `ApproximateReceiveCount`.
 * - Redrive. The emulator's own redrive reads the inflated count; so the front keeps each queue's
 *   redrive policy itself (the emulator gets a maxReceiveCount it never reaches) and moves a message
 *   as SQS does: when a receive would exceed maxReceiveCount, the message goes to the dead-letter
 *   queue instead of to the caller. `GetQueueAttributes` shows the policy as it was set.
 */
export async function startSqs(at: Listen, region: string, accountId: string): Promise<RunningEmulator> {
  const { service, requestHandler } = createRequestHandler({
    port: at.port,
    hostname: at.host,
    region,
    accountId,
    emulateQueueCreationLifecycle: false,
  });
  const redrivePolicies = new Map<string, RedrivePolicy>();
  const visibilityChanges = new Map<string, number>();
  let closing = false;

  const call = async (action: string, input: Record<string, unknown>): Promise<CapturedResponse> => {
    const answer = new CapturedResponse();
    const headers = { 'content-type': JSON_CONTENT_TYPE, 'x-amz-target': `AmazonSQS.${action}` };
    await requestHandler(
      replayRequest(headers, Buffer.from(JSON.stringify(input))),
      answer.asServerResponse(),
    );
    return answer;
  };

  /** Takes the front's own policy out of a CreateQueue / SetQueueAttributes input; the emulator gets a harmless one. */
  const keepRedrivePolicy = (queueName: string, input: Record<string, unknown>) => {
    const attributes = input.Attributes as Record<string, string> | undefined;
    if (!attributes?.RedrivePolicy) return input;
    const policy = JSON.parse(attributes.RedrivePolicy) as RedrivePolicy;
    redrivePolicies.set(queueName, {
      deadLetterTargetArn: policy.deadLetterTargetArn,
      maxReceiveCount: Number(policy.maxReceiveCount),
    });
    const unreachable = JSON.stringify({ ...policy, maxReceiveCount: EMULATOR_MAX_RECEIVE_COUNT });
    return { ...input, Attributes: { ...attributes, RedrivePolicy: unreachable } };
  };

  const receive = async (
    input: Record<string, unknown>,
    clientGone: () => boolean,
  ): Promise<CapturedResponse> => {
    const queueName = queueNameOf(input.QueueUrl);
    const policy = redrivePolicies.get(queueName);
    const requested = (input.AttributeNames as string[] | undefined) ?? [];
    const system = (input.MessageSystemAttributeNames as string[] | undefined) ?? [];
    const wantsCount = [...requested, ...system].some(
      (name) => name === 'All' || name === 'ApproximateReceiveCount',
    );
    // The count is needed for the redrive even when the caller did not ask for it.
    const shortPoll = { ...input, WaitTimeSeconds: 0, AttributeNames: [...new Set([...requested, 'All'])] };
    const deadline = Date.now() + Number(input.WaitTimeSeconds ?? 0) * 1000;
    for (;;) {
      const answer = await call('ReceiveMessage', shortPoll);
      const messages = answer.messages();
      const delivered: ReceivedMessage[] = [];
      for (const message of messages) {
        const count =
          Number(message.Attributes?.ApproximateReceiveCount ?? 1) -
          (visibilityChanges.get(message.MessageId) ?? 0);
        if (policy && count > policy.maxReceiveCount) {
          await call('SendMessage', {
            QueueUrl: policy.deadLetterTargetArn.split(':').pop(),
            MessageBody: message.Body,
            ...(message.MessageAttributes ? { MessageAttributes: message.MessageAttributes } : {}),
          });
          await call('DeleteMessage', { QueueUrl: queueName, ReceiptHandle: message.ReceiptHandle });
          visibilityChanges.delete(message.MessageId);
          continue;
        }
        if (message.Attributes) {
          message.Attributes.ApproximateReceiveCount = String(count);
          if (!requested.includes('All')) {
            for (const name of Object.keys(message.Attributes)) {
              if (
                !requested.includes(name) &&
                !system.includes(name) &&
                !(wantsCount && name === 'ApproximateReceiveCount')
              ) {
                delete message.Attributes[name];
              }
            }
            if (Object.keys(message.Attributes).length === 0) delete message.Attributes;
          }
        }
        delivered.push(message);
      }
      if (clientGone()) {
        // The caller hung up (an aborted poll): what it did not get must not stay hidden.
        for (const message of delivered) {
          await call('ChangeMessageVisibility', {
            QueueUrl: queueName,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          });
          visibilityChanges.set(message.MessageId, (visibilityChanges.get(message.MessageId) ?? 0) + 1);
        }
        return answer;
      }
      answer.setMessages(delivered);
      if (delivered.length > 0 || answer.statusCode !== 200 || closing || Date.now() >= deadline)
        return answer;
      await sleep(50);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const action = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '');
    if (!FRONTED.has(action)) return requestHandler(req, res);
    const raw = await readAll(req);
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
    let answer: CapturedResponse;
    switch (action) {
      case 'ReceiveMessage':
        answer = await receive(input, () => gone);
        break;
      case 'CreateQueue':
        answer = await call(action, keepRedrivePolicy(String(input.QueueName), input));
        break;
      case 'SetQueueAttributes':
        answer = await call(action, keepRedrivePolicy(queueNameOf(input.QueueUrl), input));
        break;
      case 'GetQueueAttributes': {
        answer = await call(action, input);
        const policy = redrivePolicies.get(queueNameOf(input.QueueUrl));
        if (policy)
          answer.editJson<{ Attributes?: Record<string, string> }>((body) => {
            if (body.Attributes?.RedrivePolicy) body.Attributes.RedrivePolicy = JSON.stringify(policy);
          });
        break;
      }
      case 'ChangeMessageVisibility':
        answer = await call(action, input);
        if (answer.statusCode === 200) countVisibilityChange(visibilityChanges, input.ReceiptHandle);
        break;
      default: {
        // ChangeMessageVisibilityBatch
        answer = await call(action, input);
        const succeeded = new Set(
          answer.json<{ Successful?: { Id: string }[] }>()?.Successful?.map((s) => s.Id),
        );
        for (const entry of (input.Entries as { Id: string; ReceiptHandle: string }[] | undefined) ?? []) {
          if (succeeded.has(entry.Id)) countVisibilityChange(visibilityChanges, entry.ReceiptHandle);
        }
      }
    }
    if (!gone) answer.replayTo(res);
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
const FRONTED = new Set([
  'ReceiveMessage',
  'CreateQueue',
  'SetQueueAttributes',
  'GetQueueAttributes',
  'ChangeMessageVisibility',
  'ChangeMessageVisibilityBatch',
]);
/** What the emulator gets as maxReceiveCount: SQS's highest, never reached here. */
const EMULATOR_MAX_RECEIVE_COUNT = 1000;

interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

interface ReceivedMessage {
  MessageId: string;
  ReceiptHandle: string;
  Body: string;
  Attributes?: Record<string, string>;
  MessageAttributes?: Record<string, unknown>;
}

function queueNameOf(queueUrl: unknown): string {
  return String(queueUrl ?? '')
    .split('/')
    .pop() as string;
}

/** The emulator's receipt handles are base64 of a UUID followed by JSON holding the message id. */
function countVisibilityChange(changes: Map<string, number>, receiptHandle: unknown): void {
  try {
    const decoded = Buffer.from(String(receiptHandle), 'base64').toString('utf8');
    const { MessageId } = JSON.parse(decoded.slice(decoded.indexOf('{'))) as { MessageId?: string };
    if (MessageId) changes.set(MessageId, (changes.get(MessageId) ?? 0) + 1);
  } catch {
    // Not one of the emulator's handles: the emulator refused it too.
  }
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A request whose body was already read, handed to the emulator as if it came off the wire. */
function replayRequest(headers: IncomingHttpHeaders, body: Buffer): IncomingMessage {
  const replay = Readable.from([body]) as unknown as IncomingMessage;
  Object.assign(replay, { headers, method: 'POST', url: '/' });
  return replay;
}

/** The emulator's answer, kept to be inspected and corrected, then sent or dropped. */
class CapturedResponse {
  statusCode = 200;
  private readonly headers = new Map<string, number | string | readonly string[]>();
  private body = '';

  asServerResponse(): ServerResponse {
    const target = this;
    return {
      setHeader: (name: string, value: number | string | readonly string[]) => {
        target.headers.set(name, value);
      },
      end: (chunk?: string | Buffer) => {
        target.body = chunk === undefined ? '' : chunk.toString();
      },
      get statusCode() {
        return target.statusCode;
      },
      set statusCode(code: number) {
        target.statusCode = code;
      },
      headersSent: false,
    } as unknown as ServerResponse;
  }

  json<T>(): T | undefined {
    if (this.statusCode !== 200 || this.body === '') return undefined;
    try {
      return JSON.parse(this.body) as T;
    } catch {
      return undefined;
    }
  }

  editJson<T>(edit: (body: T) => void): void {
    const body = this.json<T>();
    if (body === undefined) return;
    edit(body);
    this.body = JSON.stringify(body);
  }

  messages(): ReceivedMessage[] {
    return this.json<{ Messages?: ReceivedMessage[] }>()?.Messages ?? [];
  }

  /** An empty receive is answered with an empty body, as the emulator (and SQS) do. */
  setMessages(messages: ReceivedMessage[]): void {
    if (this.statusCode !== 200) return;
    this.body = messages.length === 0 ? '' : JSON.stringify({ Messages: messages });
  }

  replayTo(res: ServerResponse): void {
    res.statusCode = this.statusCode;
    for (const [name, value] of this.headers) res.setHeader(name, value);
    res.end(this.body);
  }
}
