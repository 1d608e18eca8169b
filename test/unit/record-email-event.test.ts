/**
 * SES's events recorded on the task's email: the mapping of SES's event records, and the conditional
 * write (only the email SES sent, only forward) against dynalite, so that the conditions are DynamoDB's.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DailyCounterStore } from '../../functions/commons/daily-counters.ts';
import {
  emailEventOf,
  type SesEmailEvent,
  type SesEventRecord,
} from '../../functions/commons/email-events.ts';
import { type EmailState, utcDay } from '../../functions/commons/task-record.ts';
import type * as RecordEmailEvent from '../../functions/record-email-event.ts';
import { captureLogs, loadHandler } from '../helpers/handlers.ts';
import { startTaskTable, type TaskTable, taskTableEnv } from '../helpers/task-table.ts';

const MESSAGE_ID = '0100018f-aaaa-bbbb-cccc-000000000001';
const SENT: EmailState = { status: 'SENT', messageId: MESSAGE_ID, at: '2025-06-01T12:00:00.000Z' };
const DETAIL_TYPES: Record<string, string> = {
  Delivery: 'Email Delivered',
  Bounce: 'Email Bounced',
  Complaint: 'Email Complaint Received',
  Reject: 'Email Rejected',
};

/** SES's event record for an email of a task, as SES publishes it (tags are lists). */
function sesRecord(
  eventType: string,
  taskId: string,
  more: Partial<SesEventRecord> = {},
  tags: Record<string, string[]> = { taskId: [taskId], recipient: ['visitor'] },
): SesEventRecord {
  return {
    eventType,
    mail: {
      messageId: MESSAGE_ID,
      tags: { 'ses:configuration-set': ['FeedbackEmails'], ...tags },
    },
    ...more,
  };
}

/** The EventBridge event around an SES event record. */
function eventOf(detail: SesEventRecord): SesEmailEvent {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': DETAIL_TYPES[detail.eventType] ?? 'Email Sent',
    source: 'aws.ses',
    account: '123456789012',
    time: '2025-06-01T12:00:05Z',
    region: 'us-east-1',
    resources: [],
    detail,
  };
}

const hardBounce = { bounce: { bounceType: 'Permanent', bounceSubType: 'General' } };

describe('emailEventOf', () => {
  const taskId = '3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b';

  it.each([
    ['Delivery', {}, 'DELIVERED', undefined],
    ['Bounce', hardBounce, 'BOUNCED', 'Permanent/General'],
    [
      'Bounce',
      { bounce: { bounceType: 'Permanent', bounceSubType: 'Suppressed' } },
      'SUPPRESSED',
      'Permanent/Suppressed',
    ],
    [
      'Bounce',
      { bounce: { bounceType: 'Permanent', bounceSubType: 'OnAccountSuppressionList' } },
      'SUPPRESSED',
      'Permanent/OnAccountSuppressionList',
    ],
    ['Complaint', { complaint: { complaintFeedbackType: 'abuse' } }, 'COMPLAINED', 'abuse'],
    ['Reject', { reject: { reason: 'Bad content' } }, 'REJECTED', 'Bad content'],
  ] as const)('maps %s to %s', (eventType, more, status, detail) => {
    expect(emailEventOf(sesRecord(eventType, taskId, more))).toEqual({
      taskId,
      recipient: 'visitor',
      messageId: MESSAGE_ID,
      status,
      ...(detail === undefined ? {} : { detail }),
    });
  });

  it('ignores events without our tags, with a malformed task id or recipient, and other event types', () => {
    expect(emailEventOf(sesRecord('Delivery', taskId, {}, {}))).toBeUndefined();
    expect(emailEventOf(sesRecord('Delivery', 'not-a-task', {}))).toBeUndefined();
    expect(
      emailEventOf(sesRecord('Delivery', taskId, {}, { taskId: [taskId], recipient: ['someone'] })),
    ).toBeUndefined();
    expect(emailEventOf(sesRecord('Open', taskId))).toBeUndefined();
  });

  it('never carries an address into what it records', () => {
    const record = sesRecord('Bounce', taskId, {
      bounce: { bounceType: 'Permanent', bounceSubType: 'General' },
      ...({ bouncedRecipients: [{ emailAddress: 'visitor@example.com' }] } as object),
    });
    expect(JSON.stringify(emailEventOf(record))).not.toContain('@');
  });
});

describe('the record-email-event handler', () => {
  let table: TaskTable;
  let handler: typeof RecordEmailEvent.handler;
  const logs = { current: captureLogs };

  beforeAll(async () => {
    table = await startTaskTable();
    ({ handler } = await loadHandler<typeof RecordEmailEvent>('record-email-event', taskTableEnv(table)));
  });

  afterAll(async () => {
    await table.stop();
  });

  let captured: ReturnType<typeof captureLogs>;
  beforeEach(() => {
    captured = logs.current();
  });

  it('records a delivery on the email SES sent', async () => {
    // Prepare
    const taskId = await table.put({ status: 'SUCCESS', emails: { visitor: SENT } });

    // Act
    const outcome = await handler(eventOf(sesRecord('Delivery', taskId)));

    // Assess
    expect(outcome).toBe('recorded');
    expect((await table.get(taskId))?.emails).toEqual({
      visitor: { ...SENT, status: 'DELIVERED', eventAt: '2025-06-01T12:00:05Z' },
    });
    expect(captured.metrics().map((metric) => metric.name)).toContain('EmailDelivered');
  });

  it('records a bounce with its type and never the address', async () => {
    // Prepare
    const taskId = await table.put({ status: 'SUCCESS', emails: { visitor: SENT } });
    const record = {
      ...sesRecord('Bounce', taskId),
      bounce: {
        bounceType: 'Permanent',
        bounceSubType: 'General',
        bouncedRecipients: [{ emailAddress: 'bounce@simulator.amazonses.com' }],
      },
    };

    // Act
    await handler(eventOf(record));

    // Assess
    const item = await table.get(taskId);
    expect(item?.emails).toMatchObject({ visitor: { status: 'BOUNCED', detail: 'Permanent/General' } });
    expect(JSON.stringify(item)).not.toContain('simulator');
    expect(captured.text()).not.toContain('simulator.amazonses.com');
  });

  it("counts a bounce and a complaint once each in the day's counters, for the daily report", async () => {
    // Prepare: the counters of today (the day the events are recorded).
    const counters = new DailyCounterStore({ dynamodb: table.dynamodb, tableName: table.tableName });
    const today = utcDay(new Date());
    const before = await counters.read(today);
    const bounced = await table.put({ status: 'SUCCESS', emails: { visitor: SENT } });
    const complained = await table.put({ status: 'SUCCESS', emails: { visitor: SENT } });
    const bounce = eventOf(sesRecord('Bounce', bounced, hardBounce));
    const complaint = eventOf(
      sesRecord('Complaint', complained, { complaint: { complaintFeedbackType: 'abuse' } }),
    );

    // Act: each event twice, as EventBridge may deliver it; and a delivery, which is not counted.
    const outcomes = [
      await handler(bounce),
      await handler(bounce),
      await handler(complaint),
      await handler(complaint),
    ];
    await handler(
      eventOf(sesRecord('Delivery', await table.put({ status: 'SUCCESS', emails: { visitor: SENT } }))),
    );

    // Assess
    expect(outcomes).toEqual(['recorded', 'stale', 'recorded', 'stale']);
    const after = await counters.read(today);
    expect(after.bounced - before.bounced).toBe(1);
    expect(after.complained - before.complained).toBe(1);
    expect(after.sent - before.sent).toBe(0);
  });

  it('records the owner email apart from the visitor one', async () => {
    // Prepare
    const taskId = await table.put({ status: 'SUCCESS', emails: { visitor: SENT, owner: SENT } });

    // Act
    await handler(eventOf(sesRecord('Complaint', taskId, {}, { taskId: [taskId], recipient: ['owner'] })));

    // Assess
    expect((await table.get(taskId))?.emails).toMatchObject({
      visitor: { status: 'SENT' },
      owner: { status: 'COMPLAINED' },
    });
  });

  it('moves only forward: a late delivery after a complaint changes nothing', async () => {
    // Prepare
    const taskId = await table.put({ status: 'SUCCESS', emails: { visitor: SENT } });
    await handler(eventOf(sesRecord('Delivery', taskId)));
    await handler(eventOf(sesRecord('Complaint', taskId, { complaint: { complaintFeedbackType: 'abuse' } })));

    // Act
    const late = await handler(eventOf(sesRecord('Delivery', taskId)));
    const again = await handler(eventOf(sesRecord('Complaint', taskId)));

    // Assess
    expect([late, again]).toEqual(['stale', 'stale']);
    expect((await table.get(taskId))?.emails).toMatchObject({
      visitor: { status: 'COMPLAINED', detail: 'abuse' },
    });
  });

  it('ignores an event of another message for the same email', async () => {
    // Prepare
    const taskId = await table.put({
      status: 'SUCCESS',
      emails: { visitor: { ...SENT, messageId: 'another-message' } },
    });

    // Act
    const outcome = await handler(eventOf(sesRecord('Bounce', taskId, hardBounce)));

    // Assess
    expect(outcome).toBe('other-message');
    expect((await table.get(taskId))?.emails).toMatchObject({ visitor: { status: 'SENT' } });
  });

  it('throws for an email the worker has not recorded yet, so that EventBridge retries', async () => {
    // Prepare
    const taskId = await table.put({ status: 'STARTED' });

    // Act
    const recording = handler(eventOf(sesRecord('Delivery', taskId)));

    // Assess
    await expect(recording).rejects.toThrow(/not recorded yet/);
    expect(await table.get(taskId)).not.toHaveProperty('emails');
  });

  it('does nothing for a task that no longer exists, nor for an event without our tags', async () => {
    const gone = await handler(eventOf(sesRecord('Delivery', crypto.randomUUID())));
    const foreign = await handler(eventOf(sesRecord('Delivery', crypto.randomUUID(), {}, {})));
    expect([gone, foreign]).toEqual(['no-task', 'ignored']);
  });
});
