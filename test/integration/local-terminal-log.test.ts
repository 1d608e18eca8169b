/**
 * The local stack's terminal: the handlers' own Powertools lines in the Celery worker's short form,
 * never with an address.
 */
import { describe, expect, it } from 'vitest';
import { formatLogLine } from '../../lib/local/terminal-log.ts';

const taskId = '6f1d3c2a-1b2c-4d3e-8f4a-5b6c7d8e9f0a';
const worker = { service: 'send-feedback-email', taskId };

describe('formatLogLine', () => {
  it.each([
    [
      { ...worker, level: 'INFO', message: 'Task received', receiveCount: 1 },
      `[tasks] task ${taskId} received`,
    ],
    [
      { ...worker, level: 'INFO', message: 'Task received', receiveCount: 2 },
      `[tasks] task ${taskId} received (delivery 2)`,
    ],
    [
      { ...worker, level: 'INFO', message: 'Task succeeded', runtimeMs: 2051 },
      `[tasks] task ${taskId} succeeded in 2.05s`,
    ],
    [
      {
        ...worker,
        level: 'WARN',
        message: 'Task will be retried',
        retryInSeconds: 5,
        error: { type: 'X', message: 'connect ECONNREFUSED' },
      },
      `[tasks] task ${taskId} retry in 5s: connect ECONNREFUSED`,
    ],
    [
      { ...worker, level: 'ERROR', message: 'Task failed', deadLetter: true, error: { message: 'gone' } },
      `[tasks] task ${taskId} failed: gone (its message goes to the dead-letter queue)`,
    ],
    [
      { ...worker, level: 'INFO', message: 'Task already finished; nothing sent', status: 'SUCCESS' },
      `[tasks] task ${taskId} was already SUCCESS: duplicate delivery, nothing sent`,
    ],
    [
      { service: 'submit-feedback', level: 'INFO', message: 'Feedback accepted', taskId },
      `[web] task ${taskId} accepted`,
    ],
    [
      { ...worker, level: 'INFO', message: 'Email accepted by SES', recipient: 'visitor' },
      `[tasks] task ${taskId}: visitor email sent`,
    ],
    [
      {
        service: 'record-email-event',
        level: 'INFO',
        message: 'Email event',
        taskId,
        recipient: 'visitor',
        status: 'BOUNCED',
        detail: 'Permanent/General',
        outcome: 'recorded',
      },
      `[ses] task ${taskId}: visitor email bounced (Permanent/General)`,
    ],
    [
      { service: 'get-task', level: 'ERROR', message: 'Task record not read', error: { message: 'timeout' } },
      '[web] error: Task record not read: timeout',
    ],
  ])('shows %j as one short line', (line, expected) => {
    expect(formatLogLine(line)).toBe(expected);
  });

  it('masks anything shaped like an address in a reason', () => {
    const line = {
      ...worker,
      level: 'ERROR',
      message: 'Task failed',
      error: { message: 'Address blacklisted: a@b.example' },
    };
    expect(formatLogLine(line)).toBe(`[tasks] task ${taskId} failed: Address blacklisted: <address>`);
  });
});
