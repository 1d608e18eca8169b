import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The folder `npm start` keeps its data in, and where the command-line tools look for its state:
 * `.local/` in the repository, or `LOCAL_DATA_DIR` (tests point the tools at their own stack with it).
 */
export const LOCAL_DATA_DIR = process.env.LOCAL_DATA_DIR?.trim()
  ? resolve(process.env.LOCAL_DATA_DIR.trim())
  : join(import.meta.dirname, '..', '..', '.local');

/** The running stack's state under its data folder, for the command-line tools. */
export const LOCAL_STACK_STATE_FILE = 'local-stack.json';

/**
 * What `npm start` tells the command-line tools (`npm run task`, `report`, …) about itself: the ports it
 * listens on and the addresses it mails, so that they need no environment of their own.
 */
export interface LocalStackState {
  pid: number;
  ports: { web: number; dynamodb: number; sqs: number; ses: number };
  senderEmail: string;
  notifyEmail?: string;
}

/**
 * The state file in `dataDir` of a local stack whose process is alive, or undefined. While that stack
 * starts, the file holds its pid only (its claim on the folder); the rest follows once it listens.
 */
export function readStackState(dataDir: string): (Partial<LocalStackState> & { pid: number }) | undefined {
  let state: Partial<LocalStackState>;
  try {
    state = JSON.parse(
      readFileSync(join(dataDir, LOCAL_STACK_STATE_FILE), 'utf8'),
    ) as Partial<LocalStackState>;
  } catch {
    return undefined;
  }
  const { pid } = state;
  return typeof pid === 'number' && Number.isInteger(pid) && isAlive(pid) ? { ...state, pid } : undefined;
}

/** A claim on a data folder: {@link claimDataDir}. */
export interface DataDirClaim {
  /** Completes the state file once the stack listens. */
  publish(state: Omit<LocalStackState, 'pid'>): void;
  /** Removes the state file. */
  release(): void;
}

/**
 * Claims `dataDir` for this process (its LevelDB can have one user) by writing the state file with this
 * pid: a second stack on the same data gets a clear error instead of dynalite's. The file of a stack that
 * was killed (its process is gone) is taken over.
 */
export function claimDataDir(dataDir: string): DataDirClaim {
  mkdirSync(dataDir, { recursive: true });
  // Kept out of git, and so out of Biome's reach, wherever LOCAL_DATA_DIR puts it.
  writeFileSync(join(dataDir, '.gitignore'), '*\n');
  const other = readStackState(dataDir);
  if (other && other.pid !== process.pid) {
    throw new DataDirInUseError(
      `Another local stack (process ${other.pid}) is running on the data in ${dataDir}: stop it first (Ctrl-C in its terminal).`,
    );
  }
  const file = join(dataDir, LOCAL_STACK_STATE_FILE);
  const write = (state: Partial<LocalStackState>) =>
    writeFileSync(file, `${JSON.stringify({ pid: process.pid, ...state }, null, 2)}\n`);
  write({});
  return { publish: write, release: () => rmSync(file, { force: true }) };
}

/** The data folder is in use by another local stack. */
export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
