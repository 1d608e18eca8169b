/**
 * SES's email events and what they mean for a task's emails: the mapping of SES's event record (pure, so
 * that the local stack's events go through it as AWS's do) and the conditional write of the outcome on the
 * task record (functions/record-email-event.ts is the Lambda handler around both).
 */
import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { EventBridgeEvent } from 'aws-lambda';
import { isConditionFailure } from '../commons/errors.ts';
import { type EmailStatus, type Recipient, TASK_ID_PATTERN } from '../task/record.ts';
import { readTask } from '../task/store.ts';

/** The part of SES's event record (EventBridge's `detail`) this handler reads. */
export interface SesEventRecord {
  eventType: string;
  mail: {
    messageId: string;
    /** The message tags, each a list of values (SES adds its own `ses:*` tags). */
    tags?: Record<string, string[] | undefined>;
  };
  bounce?: { bounceType?: string; bounceSubType?: string };
  complaint?: { complaintFeedbackType?: string; complaintSubType?: string | null };
  reject?: { reason?: string };
}

/** The EventBridge event a rule hands over: SES's event record in `detail`. */
export type SesEmailEvent = EventBridgeEvent<string, SesEventRecord>;

/**
 * What the EventBridge rule takes from SES's events (lib/constructs/email-reputation.ts), and the local
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
  /** SES's own tag of the configuration set the email went through. */
  configurationSetTag: 'ses:configuration-set',
} as const;

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
 * A send SES's Auto Validation suppressed: SES accepts the call (a message id, no error) and publishes a
 * permanent bounce instead of attempting delivery, as for its suppression lists; its subtype names the
 * validation. The local stack publishes {@link VALIDATION_BOUNCE_SUBTYPE}.
 */
const VALIDATION_SUBTYPE = /validation/i;

/** The bounce subtype the local stack gives a send that failed address validation. */
export const VALIDATION_BOUNCE_SUBTYPE = 'AutoValidationSuppressed';

/** What a bounce means: not attempted (a suppression list, the address validation), or refused. */
function bounceStatus(bounceSubType: string): EventStatus {
  if (VALIDATION_SUBTYPE.test(bounceSubType)) return 'INVALID';
  return SUPPRESSED_SUBTYPES.has(bounceSubType) ? 'SUPPRESSED' : 'BOUNCED';
}

const RECIPIENTS: readonly string[] = ['visitor', 'owner'] satisfies Recipient[];

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
  if (recipient === undefined || !RECIPIENTS.includes(recipient) || !messageId) return undefined;
  const email = { taskId, recipient: recipient as Recipient, messageId };
  switch (record.eventType) {
    case 'Delivery':
      return { ...email, status: 'DELIVERED' };
    case 'Bounce': {
      const { bounceType = 'Undetermined', bounceSubType = 'Undetermined' } = record.bounce ?? {};
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
