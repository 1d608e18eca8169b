import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The folder `npm start` keeps its data in: `.local/` in the repository, or `LOCAL_DATA_DIR`. */
export const LOCAL_DATA_DIR = resolve(
  process.env.LOCAL_DATA_DIR?.trim() || join(import.meta.dirname, '..', '..', '.local'),
);

/** The running stack's state, in its data folder, for the command-line tools. */
export const LOCAL_STACK_STATE_FILE = 'local-stack.json';

/** What `npm start` tells the command-line tools (`npm run task`, `report`, …): its ports and addresses. */
export interface LocalStackState {
  pid: number;
  ports: { web: number; dynamodb: number; sqs: number; ses: number };
  senderEmail: string;
  notifyEmail?: string;
}

/** The state in `dataDir` of a stack whose process is alive (only its pid while it starts), or undefined. */
export function readStackState(dataDir: string): (Partial<LocalStackState> & { pid: number }) | undefined {
  try {
    const state = JSON.parse(
      readFileSync(join(dataDir, LOCAL_STACK_STATE_FILE), 'utf8'),
    ) as Partial<LocalStackState>;
    return Number.isInteger(state.pid) && isAlive(state.pid as number)
      ? { ...state, pid: state.pid as number }
      : undefined;
  } catch {
    return undefined;
  }
}

/** The data folder is in use by another local stack. */
export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

/**
 * Claims `dataDir` for this process (its LevelDB can have one user) by writing the state file with this
 * pid, so that a second stack on the same data gets a clear error instead of dynalite's; the file of a
 * stack that was killed is taken over. `publish` completes the file once the stack listens.
 */
export function claimDataDir(dataDir: string) {
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
  const write = (state: Omit<LocalStackState, 'pid'> | object) =>
    writeFileSync(file, `${JSON.stringify({ pid: process.pid, ...state }, null, 2)}\n`);
  write({});
  return { publish: write, release: () => rmSync(file, { force: true }) };
}

function isAlive(pid: number): boolean {
  try {
    return process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
