import { mkdirSync } from 'node:fs';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import * as sesLocal from 'aws-ses-v2-local';
import dynalite from 'dynalite';
import { createRequestHandler } from 'local-aws-sqs';

/** A port the local stack wanted is taken; names the environment variable that changes it. */
export class PortInUseError extends Error {
  constructor(
    readonly service: string,
    readonly port: number,
    readonly variable: string | undefined,
  ) {
    super(
      `Port ${port} (${service}) is already in use.` +
        (variable ? ` Stop what uses it, or choose another port: ${variable}=<port> npm start` : ''),
    );
    this.name = 'PortInUseError';
  }
}

/** Where a part of the local stack listens. */
export interface Listen {
  host: string;
  port: number;
  /** The environment variable that sets this port, for the port-in-use message. */
  variable?: string;
}

/** An emulator listening on a port. */
export interface RunningEmulator {
  port: number;
  /** `http://<host>:<port>`, what the SDK's `AWS_ENDPOINT_URL_<SERVICE>` gets. */
  endpoint: string;
  close(): Promise<void>;
}

/** Listens, turning EADDRINUSE into a {@link PortInUseError}; resolves with the bound port. */
export function listen(server: Server, service: string, at: Listen): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(service, at.port, at.variable) : error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(at.port, at.host);
  });
}

/** Closes a server, dropping idle keep-alive connections and, after `graceMs`, the busy ones. */
export function closeServer(server: Server, graceMs = 2000): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close((error) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    });
    server.closeIdleConnections();
  });
}

function endpointOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** DynamoDB: dynalite, kept on disk under `path` (LevelDB) or in memory when `path` is undefined. */
export async function startDynamoDb(at: Listen, path: string | undefined): Promise<RunningEmulator> {
  if (path) mkdirSync(path, { recursive: true });
  // Tables are ACTIVE at once: the local stack creates its table at every start when it is missing.
  const server = dynalite({
    ...(path ? { path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const port = await listen(server, 'DynamoDB', at);
  return {
    port,
    endpoint: endpointOf(at.host, port),
    close: () => closeServer(server),
  };
}

/**
 * SQS: local-aws-sqs, in memory, behind a thin front that fixes its long polling.
 *
 * local-aws-sqs answers a long poll (`WaitTimeSeconds` > 0) only when the batch is full or the wait is
 * over, and may hand the same message twice in one answer if its visibility runs out meanwhile. SQS
 * answers as soon as there is at least one message. So the front turns a long poll into short polls
 * (`WaitTimeSeconds` 0) repeated until a message is there or the wait is over; everything else, and
 * the emulator's redrive to the dead-letter queue, is local-aws-sqs's own.
 */
export async function startSqs(at: Listen, region: string, accountId: string): Promise<RunningEmulator> {
  const { service, requestHandler } = createRequestHandler({
    port: at.port,
    hostname: at.host,
    region,
    accountId,
    emulateQueueCreationLifecycle: false,
  });
  let closing = false;

  const longPoll = async (req: IncomingMessage, res: ServerResponse) => {
    const raw = await readAll(req);
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(raw.toString('utf8'));
    } catch {
      await requestHandler(replayRequest(req.headers, raw), res);
      return;
    }
    const waitSeconds = Number(input.WaitTimeSeconds ?? 0);
    if (!(waitSeconds > 0)) {
      await requestHandler(replayRequest(req.headers, raw), res);
      return;
    }
    let clientGone = false;
    res.once('close', () => {
      clientGone = true;
    });
    const shortPoll = Buffer.from(JSON.stringify({ ...input, WaitTimeSeconds: 0 }));
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      const answer = new CapturedResponse();
      await requestHandler(replayRequest(req.headers, shortPoll), answer.asServerResponse());
      const received = answer.receivedMessages();
      if (clientGone) {
        // The caller hung up (an aborted poll): what it did not get must not stay hidden.
        const queueName = String(input.QueueUrl ?? '')
          .split('/')
          .pop();
        const queue = service.Queues.find((q) => q.QueueName === queueName);
        for (const handle of received) queue?.changeVisibility(handle, '0');
        return;
      }
      if (received.length > 0 || answer.statusCode !== 200 || closing || Date.now() >= deadline) {
        answer.replayTo(res);
        return;
      }
      await sleep(50);
    }
  };

  const server = createServer((req, res) => {
    const handle =
      req.headers['x-amz-target'] === 'AmazonSQS.ReceiveMessage'
        ? longPoll(req, res)
        : requestHandler(req, res);
    handle.catch((error: unknown) => {
      if (!res.headersSent) res.statusCode = 500;
      res.end(String(error));
    });
  });
  const port = await listen(server, 'SQS', at);
  // Queue URLs carry the port; with port 0 it is known only now (as createSqsServer does it).
  service.PORT = port;
  return {
    port,
    endpoint: endpointOf(at.host, port),
    close: () => {
      closing = true;
      return closeServer(server);
    },
  };
}

/** SES: aws-ses-v2-local, its mailbox at `/` and the emails as JSON at `/store`; can be stopped and restarted. */
export interface SesEmulator extends RunningEmulator {
  /** Stops answering (connections refused), as an SES outage; the mailbox is kept. */
  stop(): Promise<void>;
  /** Answers again on the same port. */
  start(): Promise<void>;
  readonly running: boolean;
}

type SesServerFactory = (config?: { host?: string; port?: number }) => Promise<Server>;

/** The package's default export, whether the loader hands it as `default` or as the CommonJS module. */
function sesServerFactory(): SesServerFactory {
  const imported = sesLocal.default as unknown;
  if (typeof imported === 'function') return imported as SesServerFactory;
  return (imported as { default: SesServerFactory }).default;
}

export async function startSes(at: Listen): Promise<SesEmulator> {
  const create = sesServerFactory();
  let server = await create({ host: at.host, port: at.port });
  if (!server.listening) throw new PortInUseError('SES', at.port, at.variable);
  const port = (server.address() as AddressInfo).port;
  let running = true;
  return {
    port,
    endpoint: endpointOf(at.host, port),
    get running() {
      return running;
    },
    async stop() {
      if (!running) return;
      running = false;
      await closeServer(server, 0);
    },
    async start() {
      if (running) return;
      server = await create({ host: at.host, port });
      if (!server.listening) throw new PortInUseError('SES', port, at.variable);
      running = true;
    },
    async close() {
      running = false;
      await closeServer(server, 0);
    },
  };
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

/** The emulator's answer to one short poll, kept to be inspected, then sent or dropped. */
class CapturedResponse {
  statusCode = 200;
  private readonly headers = new Map<string, number | string | readonly string[]>();
  private body = '';

  asServerResponse(): ServerResponse {
    const setHeader = (name: string, value: number | string | readonly string[]) => {
      this.headers.set(name, value);
    };
    const end = (chunk?: string | Buffer) => {
      this.body = chunk === undefined ? '' : chunk.toString();
    };
    const target = this;
    return {
      setHeader,
      end,
      get statusCode() {
        return target.statusCode;
      },
      set statusCode(code: number) {
        target.statusCode = code;
      },
      headersSent: false,
    } as unknown as ServerResponse;
  }

  /** Receipt handles of the messages in the answer. */
  receivedMessages(): string[] {
    if (this.statusCode !== 200 || this.body === '') return [];
    try {
      const parsed = JSON.parse(this.body) as { Messages?: { ReceiptHandle?: string }[] };
      return (parsed.Messages ?? []).map((m) => m.ReceiptHandle ?? '');
    } catch {
      return [];
    }
  }

  replayTo(res: ServerResponse): void {
    res.statusCode = this.statusCode;
    for (const [name, value] of this.headers) res.setHeader(name, value);
    res.end(this.body);
  }
}
