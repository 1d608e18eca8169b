import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { LambdaAction, SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFn } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import {
  AutoValidationThreshold,
  ConfigurationSet,
  type EmailSendingEvent,
  EventDestination,
  SuppressionReasons,
} from 'aws-cdk-lib/aws-ses';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { apiFunction, autoresponseBreaker } from '../../functions/config/settings.ts';
import * as setting from '../../functions/config/table.ts';
import { emailEventRule } from '../../functions/email/events.ts';
import { addAlarm, messagesWaiting, notifyOf, sesRate } from './alarms.ts';
import { allowSendingThrough, type EmailReputation } from './email-reputation.ts';
import { createFeedbackFunction } from './feedback-function.ts';
import type { SenderIdentity } from './sender-identity.ts';

export interface AutoresponseBreakerProps {
  /** SES's Auto Validation threshold of the autoresponses' set, or `off` (none set). */
  readonly addressValidation: setting.AddressValidation;
  /** The owner's configuration set and the rule that records SES's events: the set's events join it. */
  readonly reputation: EmailReputation;
  /** The identities the pause function may send the owner's notice from. */
  readonly sender: SenderIdentity;
  /**
   * The owner's address: the pause function mails it a notice.
   * @default - no notice; the alarm topic (when there is one) tells
   */
  readonly notifyEmail?: string;
  /**
   * Where the breaker's alarms notify (going off and clearing).
   * @default - no notification
   */
  readonly alarmTopic?: ITopic;
}

/**
 * The set's Auto Validation threshold of each `addressValidation` level. `off` writes no `ValidationOptions`
 * at all, so the template deploys where SES has no Auto Validation, and the set follows the account's
 * setting (off unless turned on in the SES console).
 */
const THRESHOLDS: Record<setting.AddressValidation, AutoValidationThreshold | undefined> = {
  managed: AutoValidationThreshold.MANAGED,
  high: AutoValidationThreshold.HIGH,
  medium: AutoValidationThreshold.MEDIUM,
  off: undefined,
};

/**
 * The visitor's autoresponse ("Your Feedback"), kept from costing the owner their SES account:
 * - its own configuration set, apart from the owner's (notifications, daily report), with SES's Auto
 *   Validation of each address at the `addressValidation` threshold, the suppression list, reputation
 *   metrics, and its events on the default bus, recorded on the tasks by the owner's rule;
 * - a circuit breaker: alarms on that set's own bounce and complaint rates at levels below AWS's review
 *   levels (`autoresponseBreaker` in functions/config/settings.ts), whose action invokes a function that
 *   disables sending through that set alone and mails the owner through the owner's set; the alarms also
 *   notify the alarm topic. The owner's notifications keep going; `npm run autoresponses -- --resume`
 *   enables the set again.
 *
 * {@link useForAutoresponses} gives the worker the set.
 */
export class AutoresponseBreaker extends Construct {
  readonly configurationSet: ConfigurationSet;
  /** The set's name, for `SES_AUTORESPONSE_CONFIGURATION_SET`. */
  readonly configurationSetName: string;
  /** Disables sending through the set when an alarm goes off (`pause-autoresponses`). */
  readonly pauseFunction: NodejsFunction;
  /** Alarm events the pause function still failed on after Lambda's retries (its on-failure destination). */
  readonly failedPauses: Queue;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: AutoresponseBreakerProps) {
    super(scope, id);
    const stack = Stack.of(this);

    // No `sendingEnabled`: the template holds no opinion on whether the set is paused, the breaker does.
    this.configurationSet = new ConfigurationSet(this, 'ConfigurationSet', {
      suppressionReasons: SuppressionReasons.BOUNCES_AND_COMPLAINTS,
      reputationMetrics: true,
      autoValidationThreshold: THRESHOLDS[props.addressValidation],
    });
    this.configurationSetName = this.configurationSet.configurationSetName;
    this.configurationSet.addEventDestination('ToEventBridge', {
      destination: EventDestination.eventBus(EventBus.fromEventBusName(this, 'DefaultBus', 'default')),
      // The event types the rule records (SES's `eventType` is the lower-case `EmailSendingEvent`).
      events: Object.keys(emailEventRule.detailTypes).map((type) => type.toLowerCase() as EmailSendingEvent),
    });
    props.reputation.recordEventsOf(this.configurationSetName);
    const configurationSetArn = stack.formatArn({
      service: 'ses',
      resource: 'configuration-set',
      resourceName: this.configurationSetName,
    });

    this.pauseFunction = createFeedbackFunction(this, 'PauseAutoresponses', {
      handlerName: 'pause-autoresponses',
      description:
        "Pauses the autoresponses' configuration set when its bounce or complaint rate is too high",
      ...apiFunction,
      environment: setting.environmentFor('pause-autoresponses', {
        sesAutoresponseConfigurationSet: this.configurationSetName,
        senderEmail: props.sender.senderEmail,
        notifyEmail: props.notifyEmail,
      }),
    });
    // This one set, nothing else: the owner's set and the account's sending stay as they are.
    this.pauseFunction.addToRolePolicy(
      new PolicyStatement({
        actions: ['ses:UpdateConfigurationSetSendingEnabled'],
        resources: [configurationSetArn],
      }),
    );
    if (props.notifyEmail !== undefined) {
      props.sender.grantSendEmail(this.pauseFunction);
      props.reputation.sendThrough(this.pauseFunction);
    }

    // CloudWatch invokes the alarm's function asynchronously: Lambda retries a failed pause itself, and
    // an event it still fails on is kept here, with an alarm, instead of being dropped.
    this.failedPauses = new Queue(this, 'FailedPauses', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.failedPauses).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is the pause function's on-failure destination, itself a dead-letter queue; nothing consumes it, so it needs none of its own.",
    });
    this.pauseFunction.configureAsyncInvoke({
      // A retry is safe: pausing a paused set changes nothing.
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
      onFailure: new SqsDestination(this.failedPauses),
    });

    const notify = props.alarmTopic === undefined ? [] : [new SnsAction(props.alarmTopic)];
    // One permission per alarm (both alarms invoke it), whatever the app's feature flags.
    const pause = new LambdaAction(this.pauseFunction, { useUniquePermissionId: true });
    for (const [alarmId, metricName, threshold, what] of [
      ['BounceRateBreaker', 'Reputation.BounceRate', autoresponseBreaker.bounceRate, 'bounce'],
      ['ComplaintRateBreaker', 'Reputation.ComplaintRate', autoresponseBreaker.complaintRate, 'complaint'],
    ] as const) {
      const alarm = addAlarm(this, alarmId, {
        // The set's own rate.
        metric: sesRate(metricName, autoresponseBreaker.periodMinutes, this.configurationSetName),
        threshold,
        over: true,
        description: `The autoresponses' ${what} rate is over ${threshold * 100} %: their configuration set is paused (feedback still reaches the owner). Resume with npm run autoresponses -- --resume --aws.`,
      });
      // The pause first, then the people.
      alarm.addAlarmAction(pause);
      notifyOf(alarm, notify);
      this.alarms.push(alarm);
    }
    this.alarms.push(
      addAlarm(
        this,
        'PauseFailed',
        {
          metric: messagesWaiting(this.failedPauses),
          threshold: 1,
          description: `The breaker could not pause the autoresponses after Lambda's retries; the alarm event is in the SQS queue ${this.failedPauses.queueName}. Pause them by hand: aws ses update-configuration-set-sending-enabled --no-enabled.`,
        },
        notify,
      ),
    );
  }

  /**
   * Lets the worker send the visitor's autoresponse through the set: `SES_AUTORESPONSE_CONFIGURATION_SET`
   * and `ses:SendEmail` on the set (SES authorizes a send against the set as well as the identities).
   */
  useForAutoresponses(worker: LambdaFn): void {
    allowSendingThrough(worker, this.configurationSetName, setting.sesAutoresponseConfigurationSet.env);
  }
}
