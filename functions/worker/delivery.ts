/**
 * The work of one claimed task: the simulated slow work, then each of its emails not yet settled, each
 * under a renewed lease and within the send rate, SES's answer recorded at once; then the task's outcome.
 * The visitor's email is counted against its address's autoresponse limit first, once per task: over
 * the limit it is skipped (the owner's notification still goes). The visitor's email goes through the
 * autoresponses' configuration set (SES validates the address; the circuit breaker may have paused it,
 * and then the email is recorded `PAUSED`, not retried), the owner's through the owner's set; each is
 * tagged with its task and recipient (never the address), so that SES's events find their way back.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SendEmailCommandInput } from '@aws-sdk/client-ses';
import { describeError } from '../commons/errors.ts';
import type { AutoresponseLimit } from '../email/autoresponse-limit.ts';
import { ownerEmail, visitorEmail } from '../email/messages.ts';
import { isSendingPaused } from '../email/pause.ts';
import type { SendRateLimiter } from '../email/send-rate.ts';
import type { EmailSender } from '../email/sender.ts';
import type { FeedbackMessage } from '../form/queue-message.ts';
import type { ClaimedTask, TaskClaims } from '../task/claim.ts';
import type { TaskLifecycle } from '../task/lifecycle.ts';
import { EmailStatus, type Recipient } from '../task/record.ts';
import { classifyError } from './retry-policy.ts';

/** What {@link TaskDelivery} works with. */
export interface TaskDeliveryOptions {
  /** Renews the claim before each send. */
  claims: TaskClaims;
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
  /** SES's configuration set of the owner's notification, when there is one (it publishes SES's delivery events). */
  configurationSet?: string | undefined;
  /** The configuration set of the visitor's autoresponse (validated, and paused by the breaker); the owner's when absent. */
  autoresponseConfigurationSet?: string | undefined;
  /** The per-recipient limit on the visitor's email; no limit when absent. */
  autoresponseLimit?: AutoresponseLimit | undefined;
}

/** Why a visitor's email is `SKIPPED`, as its record says. */
export const AUTORESPONSE_LIMIT_REASON = 'autoresponse limit';

/** Why a visitor's email is `PAUSED`, as its record says. */
export const AUTORESPONSES_PAUSED = 'autoresponse configuration set paused';

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
   * The autoresponse limit is asked first, so that a skipped email takes no slot from the others.
   *
   * @throws the first error of a lifecycle write or of an email that may succeed when tried again
   */
  async deliver(claim: ClaimedTask, feedback: FeedbackMessage, log: Logger): Promise<void> {
    const { lifecycle, limiter, metrics, recipients, workSeconds } = this.#options;
    const pending: Recipient[] = [];
    for (const recipient of recipients.filter((unsettled) => claim.emails[unsettled] === undefined))
      if (recipient !== 'visitor' || (await this.#mayAutorespond(claim, feedback, log)))
        pending.push(recipient);
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
    const { claims, lifecycle, sender, metrics } = this.#options;
    await claims.renewLease(claim);
    let messageId: string;
    try {
      messageId = await sender.send(this.#email(claim.taskId, recipient, feedback));
    } catch (error) {
      if (recipient === 'visitor' && isSendingPaused(error)) {
        await lifecycle.recordEmail(claim, recipient, {
          status: EmailStatus.PAUSED,
          detail: AUTORESPONSES_PAUSED,
        });
        metrics.addMetric('AutoresponsePaused', MetricUnit.Count, 1);
        return log.warn('Visitor email not sent: the autoresponses are paused by the breaker', { recipient });
      }
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

  /**
   * Counts the visitor's email against its address's limit, once per task: a retry after a count finds
   * it recorded and sends without counting again. Over the limit, the email is recorded `SKIPPED`.
   *
   * @returns whether the visitor's email may be sent
   */
  async #mayAutorespond(claim: ClaimedTask, feedback: FeedbackMessage, log: Logger): Promise<boolean> {
    const { lifecycle, metrics, autoresponseLimit } = this.#options;
    if (autoresponseLimit === undefined || claim.autoresponseCounted) return true;
    if (await autoresponseLimit.take(feedback.email)) {
      await lifecycle.recordAutoresponseCounted(claim);
      return true;
    }
    await lifecycle.recordEmail(claim, 'visitor', {
      status: EmailStatus.SKIPPED,
      detail: AUTORESPONSE_LIMIT_REASON,
    });
    metrics.addMetric('AutoresponseSkipped', MetricUnit.Count, 1);
    log.info('Visitor email skipped: its address had its autoresponses for the day', {
      recipient: 'visitor',
    });
    return false;
  }

  /** The SendEmail input of one of a task's emails, through the configuration set and tagged with the task. */
  #email(taskId: string, recipient: Recipient, feedback: FeedbackMessage): SendEmailCommandInput {
    const { senderEmail, notifyEmail, configurationSet, autoresponseConfigurationSet } = this.#options;
    const toOwner = recipient === 'owner' && notifyEmail !== undefined;
    const email = toOwner
      ? ownerEmail(senderEmail, notifyEmail, feedback)
      : visitorEmail(senderEmail, feedback);
    // The owner's notification never goes through the autoresponses' set: pausing that set must not stop it.
    const set = toOwner ? configurationSet : (autoresponseConfigurationSet ?? configurationSet);
    return {
      ...email,
      ...(set === undefined ? {} : { ConfigurationSetName: set }),
      Tags: [
        { Name: 'taskId', Value: taskId },
        { Name: 'recipient', Value: recipient },
      ],
    };
  }
}
