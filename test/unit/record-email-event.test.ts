/**
 * SES's events recorded on the task's email: the mapping of SES's event records, and the handler, fed
 * SQS batches of EventBridge events as the queue's event source hands them, with the conditional write
 * (only the email SES sent, only forward) against dynalite, so that the conditions are DynamoDB's.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  emailEventOf,
  keptEmailEvent,
  type QueuedEmailEvent,
  routeOf,
  type SesEmailEvent,
  type SesEventRecord,
} from '../../functions/email/events.ts';
import type * as RecordEmailEvent from '../../functions/record-email-event.ts';
import { DailyCounterStore } from '../../functions/task/daily-counters.ts';
import { type EmailState, utcDay } from '../../functions/task/record.ts';
import { captureLogs, loadHandler } from '../helpers/handlers.ts';
import { lambdaContext, sqsEvent, sqsRecord } from '../helpers/sqs-event.ts';
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

/**
 * An SES event record as the rules put it on the queue: the kept fields of the EventBridge event around it
 * (see emailEventRoutes), or, for an event no rule takes, the whole event (the handler must ignore it).
 */
function eventOf(detail: SesEventRecord): QueuedEmailEvent {
  const event = wholeEventOf(detail);
  const route = routeOf(event, ['FeedbackEmails']);
  return route === undefined ? event : keptEmailEvent(event, route);
}

/** The EventBridge event around an SES event record, as SES publishes it. */
function wholeEventOf(detail: SesEventRecord): SesEmailEvent {
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
    [
      'Bounce',
      { bounce: { bounceType: 'Permanent', bounceSubType: 'AutoValidationSuppressed' } },
      'INVALID',
      'Permanent/AutoValidationSuppressed',
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

  it('maps the kept fields the rules queue, null where SES left a detail out', () => {
    expect(
      emailEventOf({
        eventType: 'Bounce',
        mail: { messageId: MESSAGE_ID, tags: { taskId: [taskId], recipient: ['visitor'] } },
        bounce: { bounceType: null, bounceSubType: null },
      }),
    ).toMatchObject({ status: 'BOUNCED', detail: 'Undetermined/Undetermined' });
    expect(
      emailEventOf({
        eventType: 'Complaint',
        mail: { messageId: MESSAGE_ID, tags: { taskId: [taskId], recipient: ['visitor'] } },
        complaint: null,
      }),
    ).toEqual({ taskId, recipient: 'visitor', messageId: MESSAGE_ID, status: 'COMPLAINED' });
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

  /** One SQS record per body: an event is put on the queue as JSON, a string as it is. */
  const recordsOf = (...bodies: (QueuedEmailEvent | string)[]) =>
    bodies.map((body) => sqsRecord(typeof body === 'string' ? body : JSON.stringify(body)));

  /** Hands the events to the handler as one batch; resolves with the ids it reported failed. */
  async function deliver(...bodies: (QueuedEmailEvent | string)[]): Promise<string[]> {
    const response = await handler(sqsEvent(...recordsOf(...bodies)), lambdaContext('RecordEmailEvent'));
    return response.batchItemFailures.map((failure) => failure.itemIdentifier);
  }

  /** What the handler did with each event it recorded or found done, in the order logged. */
  const outcomes = () =>
    captured
      .lines()
      .filter((line) => line.message === 'Email event')
      .map((line) => line.outcome);

  it('records a delivery on the email SES sent', async () => {
    // Prepare
    const taskId = await table.put({ status: 'SUCCESS', emails: { visitor: SENT } });

    // Act
    const failed = await deliver(eventOf(sesRecord('Delivery', taskId)));

    // Assess
    expect(failed).toEqual([]);
    expect(outcomes()).toEqual(['recorded']);
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
    await deliver(eventOf(record));

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

    // Act: each event twice, in batches of their own, as SQS may deliver it; and a delivery, which is
    // not counted.
    for (const event of [bounce, bounce, complaint, complaint]) await deliver(event);
    await deliver(
      eventOf(sesRecord('Delivery', await table.put({ status: 'SUCCESS', emails: { visitor: SENT } }))),
    );

    // Assess
    expect(outcomes()).toEqual(['recorded', 'stale', 'recorded', 'stale', 'recorded']);
    const after = await counters.read(today);
    expect(after.bounced - before.bounced).toBe(1);
    expect(after.complained - before.complained).toBe(1);
    expect(after.sent - before.sent).toBe(0);
  });

  it("records an address SES's validation suppressed INVALID, counted as invalid (not as a bounce) once", async () => {
    // Prepare
    const counters = new DailyCounterStore({ dynamodb: table.dynamodb, tableName: table.tableName });
    const today = utcDay(new Date());
    const before = await counters.read(today);
    const taskId = await table.put({ status: 'SUCCESS', emails: { visitor: SENT } });
    const invalid = eventOf(
      sesRecord('Bounce', taskId, {
        bounce: { bounceType: 'Permanent', bounceSubType: 'AutoValidationSuppressed' },
      }),
    );

    // Act
    for (const event of [invalid, invalid]) await deliver(event);

    // Assess
    expect((await table.get(taskId))?.emails).toMatchObject({
      visitor: { status: 'INVALID', detail: 'Permanent/AutoValidationSuppressed' },
    });
    const after = await counters.read(today);
    expect(after.invalid - before.invalid).toBe(1);
    expect(after.bounced - before.bounced).toBe(0);
    expect(captured.metrics().map((metric) => metric.name)).toContain('EmailInvalid');
  });

  it('records the owner email apart from the visitor one', async () => {
    // Prepare
    const taskId = await table.put({ status: 'SUCCESS', emails: { visitor: SENT, owner: SENT } });

    // Act
    await deliver(eventOf(sesRecord('Complaint', taskId, {}, { taskId: [taskId], recipient: ['owner'] })));

    // Assess
    expect((await table.get(taskId))?.emails).toMatchObject({
      visitor: { status: 'SENT' },
      owner: { status: 'COMPLAINED' },
    });
  });

  it('moves only forward: a late delivery after a complaint changes nothing', async () => {
    // Prepare
    const taskId = await table.put({ status: 'SUCCESS', emails: { visitor: SENT } });
    await deliver(eventOf(sesRecord('Delivery', taskId)));
    await deliver(eventOf(sesRecord('Complaint', taskId, { complaint: { complaintFeedbackType: 'abuse' } })));
    captured.clear();

    // Act
    await deliver(eventOf(sesRecord('Delivery', taskId)));
    await deliver(eventOf(sesRecord('Complaint', taskId)));

    // Assess
    expect(outcomes()).toEqual(['stale', 'stale']);
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
    const failed = await deliver(eventOf(sesRecord('Bounce', taskId, hardBounce)));

    // Assess
    expect(failed).toEqual([]);
    expect(outcomes()).toEqual(['other-message']);
    expect((await table.get(taskId))?.emails).toMatchObject({ visitor: { status: 'SENT' } });
  });

  it('reports failed only the event of an email the worker has not recorded yet, so that SQS delivers it again', async () => {
    // Prepare: a batch of a new event, a duplicate of an event already recorded, an event that comes
    // before the worker's write of its message id, and a body that is no event at all.
    const delivered = await table.put({ status: 'SUCCESS', emails: { visitor: SENT } });
    const recorded = await table.put({
      status: 'SUCCESS',
      emails: { visitor: { ...SENT, status: 'DELIVERED' } },
    });
    const early = await table.put({ status: 'STARTED' });
    const records = recordsOf(
      eventOf(sesRecord('Delivery', delivered)),
      eventOf(sesRecord('Delivery', recorded)),
      eventOf(sesRecord('Delivery', early)),
      'not json {',
    );

    // Act
    const response = await handler(sqsEvent(...records), lambdaContext('RecordEmailEvent'));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: records[2]?.messageId }]);
    expect((await table.get(delivered))?.emails).toMatchObject({ visitor: { status: 'DELIVERED' } });
    expect(await table.get(early)).not.toHaveProperty('emails');
    expect([...outcomes()].sort()).toEqual(['recorded', 'stale']);
    expect(captured.lines()).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: 'Email event before its email; retried',
        taskId: early,
      }),
    );
    expect(captured.metrics().map((metric) => metric.name)).toContain('PoisonMessage');
  });

  it('drops, without a retry, bodies that are not an SES event of ours', async () => {
    // Prepare
    const bodies = ['', 'null', '{"detail":"a string"}', JSON.stringify({ source: 'aws.ses' })];

    // Act
    const failed = await deliver(...bodies, eventOf(sesRecord('Delivery', crypto.randomUUID(), {}, {})));

    // Assess
    expect(failed).toEqual([]);
    expect(outcomes()).toEqual([]);
  });

  it('does nothing for a task that no longer exists', async () => {
    // Act
    const failed = await deliver(eventOf(sesRecord('Delivery', crypto.randomUUID())));

    // Assess
    expect(failed).toEqual([]);
    expect(outcomes()).toEqual(['no-task']);
  });
});
