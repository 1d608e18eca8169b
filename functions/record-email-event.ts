/**
 * Records what became of a task's email after SES accepted it. SES publishes the events of every email
 * sent through the stack's configuration set to EventBridge (Delivery, Bounce, Complaint, Reject); a rule
 * hands those that carry our `taskId` tag to this handler, which writes the outcome on the task's record:
 * `emails.<recipient>.status` becomes DELIVERED, BOUNCED, SUPPRESSED, COMPLAINED or REJECTED.
 *
 * The email is found by the tags the worker sends with it (`taskId`, `recipient`: never the address),
 * and the write holds only if the record's SES message id is the event's and the new status ranks above
 * the stored one, so duplicates and late, out-of-order events change nothing. An event for an email the
 * worker has not recorded yet (SES can be faster than the worker's write) throws: EventBridge's retry
 * policy delivers it again.
 */

import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { dynamodb } from './commons/clients/dynamodb';
import { requireEnv } from './commons/config';
import {
  emailEventOf,
  type RecordOutcome,
  recordEmailEvent,
  type SesEmailEvent,
} from './commons/email-events';
import { createObservability, observed } from './commons/observability';
import { env } from './commons/settings';

const tableName = requireEnv(env.tasksTableName);
const observability = createObservability('record-email-event');
const { logger, metrics } = observability;

/** The EventBridge target: one SES event per invocation. */
export const handler = observed(
  observability,
  async (event: SesEmailEvent): Promise<RecordOutcome | 'ignored'> => {
    const email = emailEventOf(event.detail);
    if (email === undefined) {
      logger.info('Not one of our email events', { eventType: event.detail?.eventType });
      return 'ignored';
    }
    logger.appendKeys({ taskId: email.taskId });
    const outcome = await recordEmailEvent(email, {
      dynamodb,
      tableName,
      at: event.time || new Date().toISOString(),
    });
    logger.info('Email event', {
      recipient: email.recipient,
      status: email.status,
      detail: email.detail,
      messageId: email.messageId,
      outcome,
    });
    // EmailDelivered, EmailBounced, EmailSuppressed, EmailComplained, EmailRejected.
    if (outcome === 'recorded') metrics.addMetric(`Email${capitalized(email.status)}`, MetricUnit.Count, 1);
    return outcome;
  },
);

function capitalized(status: string): string {
  return status.charAt(0) + status.slice(1).toLowerCase();
}
