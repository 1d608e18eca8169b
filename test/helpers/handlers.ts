/**
 * Loading a handler with its environment, and capturing what it writes: the two things every handler
 * test needs. A handler reads its environment once, at import, so each load is a fresh module.
 */
import { vi } from 'vitest';

/** The variables every handler reads, with test values; a test overrides or adds to them. */
export const TEST_ENV = {
  AWS_REGION: 'us-east-1',
  TASKS_TABLE_NAME: 'Tasks',
  FEEDBACK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/FeedbackQueue',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/FeedbackDeadLetterQueue',
  SENDER_EMAIL: 'support@example.com',
  FEEDBACK_WORK_SECONDS: '0',
  TASK_TTL_DAYS: '30',
  MAX_ATTEMPTS: '5',
  MAX_RECEIVE_COUNT: '10',
  SES_MAX_SEND_RATE: '100000',
  TASK_LEASE_SECONDS: '60',
  NOTIFY_EMAIL: '',
  POWERTOOLS_LOG_LEVEL: 'INFO',
} as const;

/**
 * Imports a fresh copy of a handler module (`functions/<name>.ts`) with `TEST_ENV` plus `env` set.
 * Variables set to `undefined` are removed.
 */
export async function loadHandler<M>(
  name:
    | 'submit-feedback'
    | 'get-task'
    | 'send-feedback-email'
    | 'daily-report'
    | 'record-email-event'
    | 'pause-autoresponses',
  env: Record<string, string | undefined> = {},
): Promise<M> {
  vi.resetModules();
  for (const [variable, value] of Object.entries({ ...TEST_ENV, ...env })) vi.stubEnv(variable, value);
  return (await import(`../../functions/${name}.ts`)) as M;
}

/** What a handler wrote to stdout and stderr (Powertools logs, EMF metrics), from {@link captureLogs}. */
export interface CapturedLogs {
  /** Everything written, as one string (to look for text that must or must not appear). */
  text(): string;
  /** Each JSON line written, parsed. */
  lines(): Record<string, unknown>[];
  /** The EMF metrics emitted, by name, with the dimensions and properties of their line. */
  metrics(): { name: string; line: Record<string, unknown> }[];
  /** Forgets what was captured so far. */
  clear(): void;
}

/** Captures stdout and stderr until `vi.restoreAllMocks()`. Call in `beforeEach`. */
export function captureLogs(): CapturedLogs {
  let output: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk) => {
      output.push(String(chunk));
      return true;
    });
  }
  const lines = () =>
    output
      .join('')
      .split('\n')
      .filter((line) => line.trim().startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    text: () => output.join(''),
    lines,
    metrics: () =>
      lines()
        .filter((line) => '_aws' in line)
        .flatMap((line) => {
          const aws = line._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] };
          return aws.CloudWatchMetrics.flatMap((group) =>
            group.Metrics.map((metric) => ({ name: metric.Name, line })),
          );
        }),
    clear: () => {
      output = [];
    },
  };
}
