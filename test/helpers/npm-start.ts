/**
 * `npm start` (bin/local.ts) in a child process, on free ports and a data folder of the test's: for the
 * tests of what survives the whole process ending (killed, stopped, crashed by `LOCAL_CRASH_ON`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { type LocalStackState, readStackState } from '../../lib/local/state.ts';
import { waitFor } from './local-stack.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** How the process ended: its exit code, or the signal that killed it. */
export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartedProcess {
  child: ChildProcess;
  /** The running stack's state file: its pid and ports. */
  state: LocalStackState;
  url: string;
  sesUrl: string;
  /** Everything the process printed so far. */
  output: () => string;
  exited: Promise<Ended>;
}

const children: ChildProcess[] = [];

/** Kills (SIGKILL) every process {@link startNpmStart} started and that is still running: for `afterEach`. */
export function killStarted(): void {
  for (const child of children.splice(0)) child.kill('SIGKILL');
}

/**
 * Starts `npm start` on free ports with its data in `dataDir` and the given settings (on top of the
 * test process's environment), and resolves once its state file names it with its ports.
 */
export async function startNpmStart(
  dataDir: string,
  variables: Record<string, string>,
  timeoutMs = 60_000,
): Promise<StartedProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'local.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      LOCAL_DATA_DIR: dataDir,
      PORT: '0',
      DYNAMODB_PORT: '0',
      SQS_PORT: '0',
      SES_PORT: '0',
      ...variables,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  for (const stream of [child.stdout, child.stderr])
    stream?.on('data', (chunk) => {
      output += chunk;
    });
  const exited = new Promise<Ended>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const state = await waitFor(
    () => {
      const running = readStackState(dataDir);
      return running && running.pid === child.pid && running.ports ? (running as LocalStackState) : undefined;
    },
    { timeoutMs, what: `the local stack to start (output: ${output})` },
  );
  return {
    child,
    state,
    url: `http://127.0.0.1:${state.ports.web}`,
    sesUrl: `http://127.0.0.1:${state.ports.ses}`,
    output: () => output,
    exited,
  };
}
