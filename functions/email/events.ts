/**
 * SES's email events and what they mean for a task's emails: the mapping of SES's event record (pure, so
 * that the local stack's events go through it as AWS's do) and the conditional write of the outcome on the
 * task record (functions/record-email-event.ts is the Lambda handler around both).
 */
import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { EventBridgeEvent } from 'aws-lambda';
import { isConditionFailure } from '../commons/errors.ts';
import { type EmailStatus, isRecipient, type Recipient, TASK_ID_PATTERN } from '../task/record.ts';
import { readTask } from '../task/store.ts';

/**
 * The part of SES's event record (EventBridge's `detail`) this handler reads: all that reaches it, since
 * the rule keeps only these fields (see {@link emailEventRoutes}). Each may be null or absent.
 */
export interface SesEventRecord {
  eventType: string;
  mail: {
    messageId: string;
    /** The message tags, each a list of values (SES adds its own `ses:*` tags). */
    tags?: Record<string, string[] | null | undefined> | null;
  };
  bounce?: { bounceType?: string | null; bounceSubType?: string | null } | null;
  complaint?: { complaintFeedbackType?: string | null; complaintSubType?: string | null } | null;
  reject?: { reason?: string | null } | null;
}

/** The EventBridge event a rule matches: SES's event record in `detail`. */
export type SesEmailEvent = EventBridgeEvent<string, SesEventRecord>;

/** What the rule puts on the email-event queue of an SES event: its time, and the kept part of its record. */
export interface QueuedEmailEvent {
  time: string;
  detail: SesEventRecord;
}

/**
 * What the EventBridge rules take from SES's events (lib/constructs/email-reputation.ts), and the local
 * stack as well: the events recorded on a task's email, of emails tagged with their task and sent through
 * the stack's configuration set (SES tags each email with its set's name).
 */
export const emailEventRule = {
  source: 'aws.ses',
  /** EventBridge's detail type of each SES event type recorded. */
  detailTypes: {
    Delivery: 'Email Delivered',
    Bounce: 'Email Bounced',
    Complaint: 'Email Complaint Received',
    Reject: 'Email Rejected',
  },
  /** The worker's tag of each email with its task: an event without it is not one of ours. */
  taskTag: 'taskId',
  /** The worker's tag of which of the task's emails it is (`visitor`, `owner`): never the address. */
  recipientTag: 'recipient',
  /** SES's own tag of the configuration set the email went through. */
  configurationSetTag: 'ses:configuration-set',
} as const;

/** A field of SES's EventBridge event, as a dotted path from the event's root (`detail.mail.messageId`). */
export type EventFieldPath = string;

/**
 * One of the rules that queue SES's events: the events it takes (an event type, and the fields it must
 * have, or must not) and the fields it keeps of them.
 */
export interface EmailEventRoute {
  /** Names the rule. */
  readonly name: string;
  readonly eventType: keyof typeof emailEventRule.detailTypes;
  /** Kept besides {@link KEPT_OF_EVERY_EVENT}; the rule takes only events that have them all. */
  readonly fields: readonly EventFieldPath[];
  /** Fields the events this rule takes must not have (another route keeps them). */
  readonly absent?: readonly EventFieldPath[];
}

/** Kept of every event: when, which event, of which email (SES's message id, and the worker's tags). */
export const KEPT_OF_EVERY_EVENT: readonly EventFieldPath[] = [
  'time',
  'detail.eventType',
  'detail.mail.messageId',
  `detail.mail.tags.${emailEventRule.taskTag}`,
  `detail.mail.tags.${emailEventRule.recipientTag}`,
];

/**
 * What reaches the email-event queue of SES's events: never an event whole, whose `mail` holds the
 * addresses (`source`, `destination`, the headers with To, and the subject, which names the visitor in
 * the owner's notification) and whose delivery, bounce and complaint list the recipients. Each route keeps
 * only what {@link emailEventOf} reads, and takes only events that have every field it keeps: an input
 * transformer then never meets a missing field. The one declaration both the stack's rules (an input
 * transformer each) and the local stack ({@link keptEmailEvent}) are built from.
 */
export const emailEventRoutes: readonly EmailEventRoute[] = [
  { name: 'Delivery', eventType: 'Delivery', fields: [] },
  {
    name: 'Bounce',
    eventType: 'Bounce',
    fields: ['detail.bounce.bounceType', 'detail.bounce.bounceSubType'],
  },
  // A complaint's feedback type is there only when the receiver's report had one.
  { name: 'Complaint', eventType: 'Complaint', fields: ['detail.complaint.complaintFeedbackType'] },
  {
    name: 'ComplaintWithoutType',
    eventType: 'Complaint',
    fields: [],
    absent: ['detail.complaint.complaintFeedbackType'],
  },
  { name: 'Reject', eventType: 'Reject', fields: ['detail.reject.reason'] },
];

/** Every field a route keeps of the events it takes. */
export function keptFields(route: EmailEventRoute): EventFieldPath[] {
  return [...KEPT_OF_EVERY_EVENT, ...route.fields];
}

/** The value at a dotted path of an event, or undefined. */
export function valueAt(event: unknown, path: EventFieldPath): unknown {
  let value: unknown = event;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/**
 * The route of an SES event (as the stack's rules match it), or undefined when no rule takes it: another
 * source or event type, an email not tagged with its task and recipient, or not sent through one of
 * `configurationSets` (the owner's and the autoresponses').
 */
export function routeOf(
  event: SesEmailEvent,
  configurationSets: readonly string[],
): EmailEventRoute | undefined {
  const tags = event.detail?.mail?.tags ?? {};
  if (
    event.source !== emailEventRule.source ||
    !tags[emailEventRule.configurationSetTag]?.some((set) => configurationSets.includes(set))
  ) {
    return undefined;
  }
  return emailEventRoutes.find(
    (route) =>
      event['detail-type'] === emailEventRule.detailTypes[route.eventType] &&
      keptFields(route).every((path) => valueAt(event, path) !== undefined) &&
      (route.absent ?? []).every((path) => valueAt(event, path) === undefined),
  );
}

/**
 * What a route's input transformer makes of an event: the kept fields at their places, nothing else. The
 * local stack queues this, as the stack's rules do.
 */
export function keptEmailEvent(event: SesEmailEvent, route: EmailEventRoute): QueuedEmailEvent {
  return objectAt(keptFields(route), (path) => valueAt(event, path)) as unknown as QueuedEmailEvent;
}

/**
 * An object with `leaf(path)` at each dotted path: the shape of a kept event, filled with its values (the
 * local stack), with EventBridge's placeholders (the rules' input templates) or with a pattern's matchers.
 */
export function objectAt(
  paths: readonly EventFieldPath[],
  leaf: (path: EventFieldPath) => unknown,
): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const path of paths) {
    const keys = path.split('.');
    let node = root;
    for (const key of keys.slice(0, -1)) {
      node[key] ??= {};
      node = node[key] as Record<string, unknown>;
    }
    node[keys.at(-1) as string] = leaf(path);
  }
  return root;
}

/** The statuses SES's events lead to. */
export type EventStatus = 'DELIVERED' | 'BOUNCED' | 'SUPPRESSED' | 'INVALID' | 'COMPLAINED' | 'REJECTED';

/** What an event means for one of a task's emails. */
export interface EmailEvent {
  taskId: string;
  recipient: Recipient;
  messageId: string;
  status: EventStatus;
  /** The bounce type (`Permanent/General`), the complaint's feedback type or the reject's reason. */
  detail?: string;
}

/**
 * How far along an email is: an event only moves it forward. A bounce or a suppression ends delivery; a
 * complaint comes after a delivery and outranks everything (the owner must see it).
 */
export const STATUS_RANK: Record<EmailStatus, number> = {
  SKIPPED: 0,
  PAUSED: 0,
  REJECTED: 0,
  SENT: 0,
  DELIVERED: 1,
  BOUNCED: 2,
  SUPPRESSED: 2,
  INVALID: 2,
  COMPLAINED: 3,
};
// SES's Reject (a virus found after accepting the email) ends it like a bounce.
const EVENT_RANK: Record<EventStatus, number> = { ...STATUS_RANK, REJECTED: 2 };

/** Bounce subtypes of an address SES did not even try, because it is on a suppression list. */
const SUPPRESSED_SUBTYPES = new Set(['OnAccountSuppressionList', 'Suppressed']);

/**
 * A send SES's Auto Validation suppressed. SES's guide says only that such sends are suppressed and can be
 * tracked through the set's event destinations; a suppressed send is accepted (a message id, no error)
 * and reported as a permanent bounce, as for its suppression lists. That the bounce's subtype names the
 * validation is our reading, not AWS's words: a bounce with another subtype still ends `BOUNCED` or
 * `SUPPRESSED`, never retried, with the task unchanged. The local stack publishes
 * {@link VALIDATION_BOUNCE_SUBTYPE}.
 */
const VALIDATION_SUBTYPE = /validation/i;

/** The bounce subtype the local stack gives a send that failed address validation. */
export const VALIDATION_BOUNCE_SUBTYPE = 'AutoValidationSuppressed';

/** What a bounce means: not attempted (a suppression list, the address validation), or refused. */
function bounceStatus(bounceSubType: string): EventStatus {
  if (VALIDATION_SUBTYPE.test(bounceSubType)) return 'INVALID';
  return SUPPRESSED_SUBTYPES.has(bounceSubType) ? 'SUPPRESSED' : 'BOUNCED';
}

/**
 * What an SES event record means for a task's email, or undefined when it is not one of ours (no valid
 * `taskId` or `recipient` tag) or not an event this project records. Pure: the local stack's events go
 * through it as AWS's do.
 */
export function emailEventOf(record: SesEventRecord): EmailEvent | undefined {
  const taskId = record.mail?.tags?.taskId?.[0];
  const recipient = record.mail?.tags?.recipient?.[0];
  const messageId = record.mail?.messageId;
  if (taskId === undefined || !TASK_ID_PATTERN.test(taskId)) return undefined;
  if (!isRecipient(recipient) || !messageId) return undefined;
  const email = { taskId, recipient, messageId };
  switch (record.eventType) {
    case 'Delivery':
      return { ...email, status: 'DELIVERED' };
    case 'Bounce': {
      const bounceType = record.bounce?.bounceType ?? 'Undetermined';
      const bounceSubType = record.bounce?.bounceSubType ?? 'Undetermined';
      return { ...email, status: bounceStatus(bounceSubType), detail: `${bounceType}/${bounceSubType}` };
    }
    case 'Complaint': {
      const type = record.complaint?.complaintFeedbackType;
      return { ...email, status: 'COMPLAINED', ...(type ? { detail: type } : {}) };
    }
    case 'Reject': {
      const reason = record.reject?.reason;
      return { ...email, status: 'REJECTED', ...(reason ? { detail: reason } : {}) };
    }
    default:
      return undefined;
  }
}

/**
 * An event for an email the worker has not recorded yet: thrown so that the event comes back (its SQS
 * message, after the queue's visibility timeout).
 */
export class EmailNotRecordedError extends Error {
  override name = 'EmailNotRecordedError';
}

/** What {@link recordEmailEvent} did. */
export type RecordOutcome = 'recorded' | 'stale' | 'other-message' | 'no-task';

/**
 * Writes an event's status on the task's email, only forward and only for the email SES sent.
 *
 * @throws {EmailNotRecordedError} when the task has no record of that email yet
 */
export async function recordEmailEvent(
  event: EmailEvent,
  { dynamodb, tableName, at }: { dynamodb: DynamoDBClient; tableName: string; at: string },
): Promise<RecordOutcome> {
  const rank = EVENT_RANK[event.status];
  const earlier = Object.entries(STATUS_RANK)
    .filter(([, value]) => value < rank)
    .map(([status]) => status);
  const values: Record<string, { S: string }> = {
    ':messageId': { S: event.messageId },
    ':status': { S: event.status },
    ':at': { S: at },
  };
  earlier.forEach((status, i) => {
    values[`:earlier${i}`] = { S: status };
  });
  const names: Record<string, string> = { '#recipient': event.recipient, '#status': 'status' };
  let update = 'SET emails.#recipient.#status = :status, emails.#recipient.eventAt = :at';
  if (event.detail !== undefined) {
    update += ', emails.#recipient.detail = :detail';
    values[':detail'] = { S: event.detail };
  }
  try {
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { taskId: { S: event.taskId } },
        UpdateExpression: update,
        ConditionExpression: `emails.#recipient.messageId = :messageId AND emails.#recipient.#status IN (${earlier
          .map((_, i) => `:earlier${i}`)
          .join(', ')})`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
    return 'recorded';
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
  // Why not: read the record to tell a late worker (retry) from a stale or foreign event (done).
  const task = await readTask(dynamodb, tableName, event.taskId);
  if (task === undefined) return 'no-task';
  const email = task.emails?.[event.recipient];
  if (email?.messageId === undefined) {
    throw new EmailNotRecordedError(
      `The ${event.recipient} email of task ${event.taskId} is not recorded yet; retry later`,
    );
  }
  return email.messageId === event.messageId ? 'stale' : 'other-message';
}
