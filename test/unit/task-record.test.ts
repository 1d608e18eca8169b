import { describe, expect, it } from 'vitest';
import { isUnqueued, type TaskRecord, toTaskView } from '../../functions/task/record.ts';

const TASK_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

function record(overrides: Partial<TaskRecord> = {}): TaskRecord {
  return {
    taskId: TASK_ID,
    status: 'SUCCESS',
    createdAt: '2025-06-01T12:00:00.000Z',
    startedAt: '2025-06-01T12:00:01.000Z',
    finishedAt: '2025-06-01T12:00:21.000Z',
    attempts: 1,
    runtimeMs: 20_000,
    expiresAt: 1_800_000_000,
    leaseExpiresAt: 1_800_000_000_000,
    sesMessageId: 'ses-message-1',
    autoresponseCounted: true,
    updatedAt: '2025-06-01T12:00:21.000Z',
    ...overrides,
  };
}

describe('toTaskView', () => {
  it("shows each email's status only: never its message id, SES's detail or the bookkeeping", () => {
    // Prepare
    const stored = record({
      emails: {
        visitor: {
          status: 'BOUNCED',
          messageId: 'ses-message-1',
          at: '2025-06-01T12:00:21.000Z',
          eventAt: '2025-06-01T12:00:23.000Z',
          detail: 'Permanent/General',
        },
        owner: { status: 'SENT', messageId: 'ses-message-2', at: '2025-06-01T12:00:21.000Z' },
      },
    });

    // Act
    const view = toTaskView(stored);

    // Assess
    expect(view).toEqual({
      taskId: TASK_ID,
      status: 'SUCCESS',
      createdAt: '2025-06-01T12:00:00.000Z',
      startedAt: '2025-06-01T12:00:01.000Z',
      finishedAt: '2025-06-01T12:00:21.000Z',
      attempts: 1,
      runtimeMs: 20_000,
      emails: { visitor: { status: 'BOUNCED' }, owner: { status: 'SENT' } },
    });
  });

  it.each(['SENT', 'DELIVERED', 'BOUNCED', 'COMPLAINED', 'SUPPRESSED', 'SKIPPED', 'REJECTED'] as const)(
    'shows a visitor email %s',
    (status) => {
      // Act
      const view = toTaskView(
        record({
          emails: { visitor: { status, at: '2025-06-01T12:00:21.000Z', detail: 'autoresponse limit' } },
        }),
      );

      // Assess
      expect(view.emails).toEqual({ visitor: { status } });
    },
  );

  it('shows a rejected email without its error, which the task error already tells', () => {
    // Act
    const view = toTaskView(
      record({
        status: 'FAILURE',
        error: { type: 'MessageRejected', message: 'Email address is not verified.' },
        emails: {
          visitor: {
            status: 'REJECTED',
            at: '2025-06-01T12:00:21.000Z',
            error: { type: 'MessageRejected', message: 'Email address is not verified.' },
          },
        },
      }),
    );

    // Assess
    expect(view.emails).toEqual({ visitor: { status: 'REJECTED' } });
    expect(view.error).toEqual({ type: 'MessageRejected', message: 'Email address is not verified.' });
  });

  it('has no emails before any was sent', () => {
    // Act / Assess
    expect(toTaskView(record({ status: 'PENDING', emails: {} }))).not.toHaveProperty('emails');
    expect(toTaskView(record({ status: 'PENDING' }))).not.toHaveProperty('emails');
  });
});

describe('isUnqueued', () => {
  it('tells a PENDING record whose message was never queued from a queued one and from any later state', () => {
    // Prepare
    const queuedAt = '2025-06-01T12:00:00.050Z';

    // Act / Assess
    expect(isUnqueued(record({ status: 'PENDING' }))).toBe(true);
    expect(isUnqueued(record({ status: 'PENDING', queuedAt }))).toBe(false);
    for (const status of ['STARTED', 'RETRY', 'SUCCESS', 'FAILURE'] as const)
      expect(isUnqueued(record({ status }))).toBe(false);
  });

  it('never shows the mark in the status API', () => {
    expect(
      toTaskView(record({ status: 'PENDING', queuedAt: '2025-06-01T12:00:00.050Z' })),
    ).not.toHaveProperty('queuedAt');
  });
});
