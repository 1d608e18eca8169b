import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import * as sesLocal from 'aws-ses-v2-local';
import { type SentEmail, sentEmailOf } from './ses-events.ts';
import type { LocalSesSending } from './ses-sending.ts';

/** A port the local stack wanted is taken; names the environment variable that changes it. */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
  constructor(service: string, port: number, variable: string | undefined) {
    super(
      `Port ${port} (${service}) is already in use.` +
        (variable ? ` Stop what uses it, or choose another port: ${variable}=<port> npm start` : ''),
    );
  }
}

/** Where a part of the local stack listens; `variable` sets the port, for the port-in-use message. */
export interface Listen {
  host: string;
  port: number;
  variable?: string;
}

/** An emulator listening on a port; `endpoint` is what the SDK's `AWS_ENDPOINT_URL_<SERVICE>` gets. */
export interface RunningEmulator {
  port: number;
  endpoint: string;
  close(): Promise<void>;
}

/** Listens, turning EADDRINUSE into a {@link PortInUseError}; resolves with the bound port. */
export async function listen(server: Server, service: string, at: Listen): Promise<number> {
  await once(server.listen(at.port, at.host), 'listening').catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'EADDRINUSE' ? new PortInUseError(service, at.port, at.variable) : error;
  });
  return (server.address() as AddressInfo).port;
}

/** Closes a server, dropping idle keep-alive connections and, after `graceMs`, the busy ones. */
export async function closeServer(server: Server, graceMs = 2000): Promise<void> {
  if (!server.listening) return;
  const timer = setTimeout(() => server.closeAllConnections(), graceMs).unref();
  const closed = new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
  server.closeIdleConnections();
  await closed.finally(() => clearTimeout(timer));
}

/**
 * dynalite in a worker thread: DynamoDB answers from the second core while the handlers run on the
 * first, as on AWS, where it is another service. Plain CommonJS, so the thread loads no TypeScript.
 */
const DYNALITE_THREAD = `
const { parentPort, workerData: { dynalite, host, port, options } } = require('node:worker_threads');
const server = require(dynalite)(options);
server.once('error', (error) => parentPort.postMessage({ error: error.code ?? String(error) }));
server.listen(port, host, () => parentPort.postMessage({ port: server.address().port }));
parentPort.once('message', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
`;

/** DynamoDB: dynalite, kept on disk under `path` (LevelDB) or in memory when `path` is undefined. */
export async function startDynamoDb(at: Listen, path: string | undefined): Promise<RunningEmulator> {
  if (path) mkdirSync(path, { recursive: true });
  // Tables are ACTIVE at once: the local stack creates its table at every start when it is missing.
  const options = { ...(path ? { path } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
  const dynalite = createRequire(import.meta.url).resolve('dynalite');
  const thread = new Worker(DYNALITE_THREAD, { eval: true, workerData: { dynalite, ...at, options } });
  thread.unref();
  const [started] = (await once(thread, 'message')) as [{ port?: number; error?: string }];
  if (started.port === undefined) {
    await thread.terminate();
    throw started.error === 'EADDRINUSE'
      ? new PortInUseError('DynamoDB', at.port, at.variable)
      : new Error(`dynalite: ${started.error}`);
  }
  const exited = once(thread, 'exit');
  return {
    port: started.port,
    endpoint: `http://${at.host}:${started.port}`,
    close: async () => {
      // Held until the thread has closed its LevelDB, or the process could end first.
      thread.ref();
      thread.postMessage('close');
      await exited;
    },
  };
}

/** Where the local SES front shows the autoresponses' rates, as the local breaker counts them (JSON). */
export const REPUTATION_PATH = '/reputation';

type SesServerFactory = (config?: { host?: string; port?: number }) => Promise<Server>;

/**
 * SES: aws-ses-v2-local (its mailbox at `/`, the emails as JSON at `/store`) behind a thin front that
 * tells `onSent` of each email sent through a configuration set, for which the emulator publishes no
 * events, lets `sending` answer what the emulator does not do (configuration sets paused, addresses that
 * fail validation), and tells `onCall` of each call (its action and values) before either acts on it.
 * Stopping the front is an SES outage (connections refused); the mailbox is kept behind it.
 */
export async function startSes(
  at: Listen,
  onSent: (email: SentEmail) => void,
  {
    sending,
    reputation,
    onCall = () => undefined,
  }: {
    sending?: LocalSesSending;
    reputation?: () => unknown;
    onCall?: (action: string, text: string) => void;
  } = {},
) {
  // The package's default export, whether the loader hands it as `default` or as the CommonJS module.
  const imported = sesLocal.default as unknown as SesServerFactory & { default?: SesServerFactory };
  const upstream = await (imported.default ?? imported)({ host: at.host, port: 0 });
  const upstreamPort = (upstream.address() as AddressInfo).port;
  const server = createServer(async (req, res) => {
    const body = Buffer.concat(await req.toArray());
    if (req.method === 'GET' && req.url === REPUTATION_PATH && reputation) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reputation()));
      return;
    }
    const form = new URLSearchParams(body.toString());
    onCall(form.get('Action') ?? '', [...form.values()].join('\n'));
    const own = req.method === 'POST' ? sending?.answer(form) : undefined;
    if (own) {
      res.writeHead(own.status, { 'content-type': 'text/xml' }).end(own.body);
      if (own.accepted) onSent(own.accepted);
      return;
    }
    const { method, url: path, headers } = req;
    const forward = request({ host: at.host, port: upstreamPort, method, path, headers }, async (answer) => {
      const text = Buffer.concat(await answer.toArray());
      res.writeHead(answer.statusCode ?? 502, answer.headers).end(text);
      const sent = answer.statusCode === 200 ? sentEmailOf(body.toString(), text.toString()) : undefined;
      if (sent) onSent(sent);
    });
    forward.on('error', () => res.writeHead(502).end());
    forward.end(body);
  });
  const port = await listen(server, 'SES', at);
  return {
    port,
    endpoint: `http://${at.host}:${port}`,
    stop: () => closeServer(server, 0),
    start: async () => {
      if (!server.listening) await listen(server, 'SES', { ...at, port });
    },
    close: async () => {
      await closeServer(server, 0);
      await closeServer(upstream, 0);
    },
  };
}
