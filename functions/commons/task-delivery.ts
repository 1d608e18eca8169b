/**
 * The work of one claimed task: the simulated slow work, then each of its emails not yet settled, each
 * under a renewed lease and within the send rate, SES's answer recorded at once; then the task's outcome.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { ownerEmail, visitorEmail } from './email';
import type { EmailSender } from './email-sender';
import { classifyError, describeError } from './errors';
import type { FeedbackMessage } from './feedback-message';
import type { SendRateLimiter } from './send-rate';
import type { ClaimedTask, TaskLifecycle } from './task-lifecycle';
import { EmailStatus, type Recipient } from './task-record';

/** What {@link TaskDelivery} works with. */
export interface TaskDeliveryOptions {
  lifecycle: TaskLifecycle;
  sender: EmailSender;
  limiter: SendRateLimiter;
  metrics: Metrics;
  senderEmail: string;
  /** The owner's address, when each task also notifies the owner. */
  notifyEmail: string | undefined;
  /** The emails of each task. */
  recipients: readonly Recipient[];
  workSeconds: number;
}

/** Delivers claimed tasks. */
export class TaskDelivery {
  readonly #options: TaskDeliveryOptions;

  constructor(options: TaskDeliveryOptions) {
    this.#options = options;
  }

  /**
   * The slow work, then each email not yet settled, then `SUCCESS` (or `FAILURE` when SES refused the
   * visitor's email for good). The emails' send slots are reserved before the work, so that a batch's
   * paced sends overlap its work instead of following it: a batch takes about the longer of the two.
   *
   * @throws the first error of a lifecycle write or of an email that may succeed when tried again
   */
  async deliver(claim: ClaimedTask, feedback: FeedbackMessage, log: Logger): Promise<void> {
    const { lifecycle, limiter, metrics, recipients, workSeconds } = this.#options;
    const pending = recipients.filter((recipient) => claim.emails[recipient] === undefined);
    const slots = pending.map(() => limiter.reserve());
    if (pending.length > 0 && workSeconds > 0) await sleep(workSeconds * 1000);
    for (const [index, recipient] of pending.entries()) {
      await slots[index];
      await this.#send(claim, recipient, feedback, log);
    }
    const visitor = claim.emails.visitor;
    if (visitor?.status === EmailStatus.REJECTED) {
      const error = visitor.error ?? { type: 'MessageRejected', message: 'Rejected by SES' };
      await lifecycle.fail({ taskId: claim.taskId, claim, error });
      metrics.addMetric('EmailFailed', MetricUnit.Count, 1);
      return log.error('Task failed', { error, deadLetter: false });
    }
    const { runtimeMs, recorded } = await lifecycle.succeed(claim);
    metrics.addMetric('TaskDuration', MetricUnit.Milliseconds, runtimeMs);
    if (recorded) log.info('Task succeeded', { runtimeMs, attempt: claim.attempts });
    else log.warn('Emails sent, but another worker claimed the task meanwhile; it records the outcome');
  }

  /** One email, under a freshly renewed lease; SES's answer is recorded at once, so no later attempt sends it again. */
  async #send(
    claim: ClaimedTask,
    recipient: Recipient,
    feedback: FeedbackMessage,
    log: Logger,
  ): Promise<void> {
    const { lifecycle, sender, metrics, senderEmail, notifyEmail } = this.#options;
    await lifecycle.renewLease(claim);
    let messageId: string;
    try {
      messageId = await sender.send(
        recipient === 'owner' && notifyEmail !== undefined
          ? ownerEmail(senderEmail, notifyEmail, feedback.email, feedback.message)
          : visitorEmail(senderEmail, feedback.email, feedback.message),
      );
    } catch (error) {
      if (classifyError(error) !== 'permanent') throw error;
      const reason = describeError(error);
      await lifecycle.recordEmail(claim, recipient, { status: EmailStatus.REJECTED, error: reason });
      metrics.addMetric('EmailFailed', MetricUnit.Count, 1);
      return log.error('Email rejected by SES; not tried again', { recipient, error: reason });
    }
    log.info('Email accepted by SES', { recipient, sesMessageId: messageId });
    metrics.addMetric('EmailSent', MetricUnit.Count, 1);
    await lifecycle.recordEmail(claim, recipient, { status: EmailStatus.SENT, messageId });
  }
}
