/**
 * The worker's log in the terminal, like the seed's Celery worker: the handlers' own structured log
 * lines (Powertools JSON on stdout and stderr), each shown as one short line — `[tasks] task <id>
 * received`, `… succeeded in 2.05s`, `… retry in 5s: <reason>`, `… failed: <reason>`. Never prints an
 * address or a message: only task ids, times and error reasons, with anything shaped like an address
 * masked. Other output passes through.
 */

import { maskAddresses } from '../../functions/commons/errors.ts';

/** A Powertools log line, as far as the terminal reads it. */
type LogLine = Record<string, unknown> & { level?: string; message?: string; service?: string };

const TAGS: Record<string, string> = {
  'send-feedback-email': 'tasks',
  'submit-feedback': 'web',
  'get-task': 'web',
  'daily-report': 'beat',
  'record-email-event': 'ses',
  'pause-autoresponses': 'breaker',
};

/** The terminal's line for a handler's log line. */
export function formatLogLine(line: LogLine): string {
  const task = `task ${line.taskId}`;
  const error = line.error as { message?: string } | string | undefined;
  const why = reason(typeof error === 'object' ? error.message : error);
  const texts: Record<string, () => string> = {
    'Task received': () =>
      `${task} received${Number(line.receiveCount) > 1 ? ` (delivery ${line.receiveCount})` : ''}`,
    'Task succeeded': () => `${task} succeeded in ${(Number(line.runtimeMs ?? 0) / 1000).toFixed(2)}s`,
    'Task will be retried': () => `${task} retry in ${line.retryInSeconds}s: ${why}`,
    'Task failed': () =>
      `${task} failed: ${why}${line.deadLetter ? ' (its message goes to the dead-letter queue)' : ''}`,
    'Task already finished; nothing sent': () =>
      `${task} was already ${line.status}: duplicate delivery, nothing sent`,
    'Feedback accepted': () => `${task} accepted`,
    'Email accepted by SES': () => `${task}: ${line.recipient} email sent`,
    'Email event': () =>
      `${task}: ${line.recipient} email ${String(line.status).toLowerCase()}${line.detail ? ` (${line.detail})` : ''}` +
      (line.outcome === 'recorded' ? '' : `, ${line.outcome}`),
    'Daily report': () => `daily report for ${line.date} made`,
    'Visitor email not sent: the autoresponses are paused by the breaker': () =>
      `${task}: visitor email not sent (autoresponses paused; npm run autoresponses -- --resume)`,
    'Autoresponses paused': () => `autoresponses paused (${line.alarm}); feedback still reaches the owner`,
  };
  const level = line.level && line.level !== 'INFO' ? `${line.level.toLowerCase()}: ` : '';
  const other = () =>
    `${level}${reason(line.message)}${line.taskId ? ` (${task})` : ''}${error === undefined ? '' : `: ${why}`}`;
  return `[${TAGS[line.service ?? ''] ?? line.service}] ${(texts[line.message ?? ''] ?? other)()}`;
}

/**
 * Shows the handlers' JSON log lines through `write` instead of as they are; returns the function
 * that puts the streams back. One local stack per process, so one capture.
 */
export function captureHandlerLogs(write: (line: string) => void): () => void {
  const restores = [process.stdout, process.stderr].map((stream) => {
    const original = stream.write;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const lines = typeof chunk === 'string' && chunk.startsWith('{') ? parseLines(chunk) : undefined;
      if (!lines) return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
      for (const line of lines) write(formatLogLine(line));
      const done = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      if (done) queueMicrotask(done);
      return true;
    }) as typeof stream.write;
    return () => {
      stream.write = original;
    };
  });
  return () => {
    for (const restore of restores) restore();
  };
}

/** The log lines in `text`, or undefined when one is not a handler's. */
function parseLines(text: string): LogLine[] | undefined {
  try {
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as LogLine);
    return lines.every((line) => typeof line.service === 'string') ? lines : undefined;
  } catch {
    return undefined;
  }
}

/** An error's reason for the terminal, with anything shaped like an email address masked. */
export function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : error === undefined ? 'unknown error' : String(error);
  return maskAddresses(text);
}
