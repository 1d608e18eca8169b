import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { Alarm, IAlarmAction } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, EventField, Match, Rule, RuleTargetInput } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFn } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import {
  ConfigurationSet,
  EmailSendingEvent,
  EventDestination,
  SuppressionReasons,
} from 'aws-cdk-lib/aws-ses';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { apiFunction, emailEventsQueue, sesReviewLevels } from '../../functions/config/settings.ts';
import * as setting from '../../functions/config/table.ts';
import {
  type EmailEventRoute,
  emailEventRoutes,
  emailEventRule,
  keptFields,
  objectAt,
} from '../../functions/email/events.ts';
import { addAlarm, messagesWaiting, sesRate } from './alarms.ts';
import { createFeedbackFunction } from './feedback-function.ts';

export interface EmailReputationProps {
  /** The task table: the event handler writes each email's outcome on its task's record. */
  readonly table: ITable;
  /**
   * Where the bounce and complaint rate alarms notify.
   * @default - no notification; the alarms show in the CloudWatch console only
   */
  readonly alarmTopic?: ITopic;
}

/**
 * AWS reviews an account at a 5 % bounce rate and a 0.1 % complaint rate (and may pause sending at 10 %
 * and 0.5 %): the alarms fire at the review levels, while there is time to act.
 */
export const REPUTATION_THRESHOLDS = sesReviewLevels;

/**
 * What keeps the sending account in good standing with SES, for a form that mails whatever address is
 * typed in:
 * - a configuration set that every send goes through, with the account's suppression list for bounces
 *   and complaints (SES does not mail such an address again) and reputation metrics;
 * - its Delivery, Bounce, Complaint and Reject events published to the default EventBridge bus, and a rule
 *   that puts those of our tasks (tagged `taskId`) on a queue, from which `record-email-event` writes the
 *   outcome on the task's email; an event it cannot record is delivered again for about an hour (see
 *   `emailEventsQueue` in functions/config/settings.ts), then lands in a dead-letter queue with an alarm;
 * - alarms on the account's bounce and complaint rates (`AWS/SES` `Reputation.*`);
 * - the key of the per-recipient autoresponse limit's hashed addresses.
 *
 * {@link useForSending} gives the worker all of it.
 */
export class EmailReputation extends Construct {
  readonly configurationSet: ConfigurationSet;
  /** The set's name, for `SES_CONFIGURATION_SET`. */
  readonly configurationSetName: string;
  /** The key of the autoresponse limit's HMAC (`AUTORESPONSE_HASH_KEY`). */
  readonly hashKey: Secret;
  readonly function: NodejsFunction;
  /** SES's events of our emails, waiting to be recorded on their tasks. */
  readonly eventQueue: Queue;
  /**
   * Events the handler could not record within the queue's receives, and those EventBridge could not put
   * on the queue: kept for a look and a redrive to {@link eventQueue}.
   */
  readonly deadLetterQueue: Queue;
  readonly alarms: Alarm[] = [];
  /** The rules that put SES's events of our emails on {@link eventQueue}, one per route. */
  readonly rules: Rule[] = [];

  constructor(scope: Construct, id: string, props: EmailReputationProps) {
    super(scope, id);

    this.configurationSet = new ConfigurationSet(this, 'ConfigurationSet', {
      suppressionReasons: SuppressionReasons.BOUNCES_AND_COMPLAINTS,
      reputationMetrics: true,
      sendingEnabled: true,
    });
    this.configurationSetName = this.configurationSet.configurationSetName;
    // SES publishes to the default bus only.
    this.configurationSet.addEventDestination('ToEventBridge', {
      destination: EventDestination.eventBus(EventBus.fromEventBusName(this, 'DefaultBus', 'default')),
      events: [
        EmailSendingEvent.DELIVERY,
        EmailSendingEvent.BOUNCE,
        EmailSendingEvent.COMPLAINT,
        EmailSendingEvent.REJECT,
      ],
    });

    this.function = createFeedbackFunction(this, 'RecordEmailEvent', {
      handlerName: 'record-email-event',
      description: "Records SES's delivery, bounce, complaint and reject events on the task's email",
      ...apiFunction,
      environment: setting.environmentFor('record-email-event', { tasksTableName: props.table.tableName }),
    });
    // A conditional update, and a read to tell a late worker from a stale event.
    props.table.grant(this.function, 'dynamodb:UpdateItem', 'dynamodb:GetItem');

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(emailEventsQueue.deadLetterRetentionSeconds),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is the dead-letter queue of the email-event queue and of the rule's target; nothing consumes it, so it needs none of its own.",
    });
    // A queue, not the function as the rule's target: EventBridge would retry only the hand-over to
    // Lambda, whose own retries of a failing handler (two, within minutes) end with the event dropped.
    // SQS keeps the event and delivers it again after each visibility timeout until the redrive policy
    // moves it to the dead-letter queue, which the EventsNotRecorded alarm watches.
    this.eventQueue = new Queue(this, 'EventQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(emailEventsQueue.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(emailEventsQueue.retentionSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: emailEventsQueue.maxReceiveCount },
    });
    this.function.addEventSource(
      new SqsEventSource(this.eventQueue, {
        batchSize: emailEventsQueue.batchSize,
        maxConcurrency: emailEventsQueue.maxConcurrency,
        // A record that could not be recorded comes back alone; the others of its batch are done.
        reportBatchItemFailures: true,
      }),
    );
    // One rule per route (functions/email/events.ts): each keeps, through an input transformer, only what
    // record-email-event reads, never SES's event whole with its addresses and subject.
    for (const route of emailEventRoutes) {
      const rule = new Rule(this, `EmailEvents${route.name === 'Delivery' ? '' : route.name}`, {
        description: `SES's ${route.eventType} events of the feedback emails (tagged with their task), trimmed and queued for record-email-event`,
        eventPattern: {
          source: [emailEventRule.source],
          detailType: [emailEventRule.detailTypes[route.eventType]],
          detail: routePattern(route, this.configurationSetName),
        },
        // EventBridge's own retry policy (its default: 24 hours) covers only putting the event on the
        // queue; what it cannot put there goes to the same dead-letter queue.
        targets: [
          new SqsQueue(this.eventQueue, {
            deadLetterQueue: this.deadLetterQueue,
            message: RuleTargetInput.fromObject(
              objectAt(keptFields(route), (path) => EventField.fromPath(`$.${path}`)),
            ),
          }),
        ],
      });
      this.rules.push(rule);
    }

    const actions: IAlarmAction[] = props.alarmTopic ? [new SnsAction(props.alarmTopic)] : [];
    this.alarm(
      'BounceRateHigh',
      'Reputation.BounceRate',
      REPUTATION_THRESHOLDS.bounceRate,
      'The SES bounce rate is over 5 %: AWS reviews the account there and may pause sending at 10 %.',
      actions,
    );
    this.alarm(
      'ComplaintRateHigh',
      'Reputation.ComplaintRate',
      REPUTATION_THRESHOLDS.complaintRate,
      'The SES complaint rate is over 0.1 %: AWS reviews the account there and may pause sending at 0.5 %.',
      actions,
    );
    const deadLetters = addAlarm(
      this,
      'EventsNotRecorded',
      {
        metric: messagesWaiting(this.deadLetterQueue),
        threshold: 1,
        description:
          'SES events could not be recorded on their tasks within an hour of retries: they are in the email-event dead-letter queue (redrive it from the SQS console once the cause is fixed).',
      },
      actions,
    );
    this.alarms.push(deadLetters);

    // A pepper against dictionary attacks on the hashed addresses in the table, not a credential: it is
    // generated at deploy, never leaves AWS, and reaches the worker as a CloudFormation dynamic reference
    // (resolved at deploy into the function's environment), so no SDK call at cold start and no Secrets
    // Manager permission on the worker.
    this.hashKey = new Secret(this, 'AutoresponseHashKey', {
      description: 'Key of the HMAC of addresses in the serverless feedback autoresponse limit',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.hashKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'A pepper for hashing addresses, not a credential: rotating it would only reset the per-address counters (at most one day of history), and the worker reads it at deploy, so a rotation would need a redeploy anyway.',
    });
  }

  /** Records the events of another configuration set's emails as well (the autoresponses' set). */
  recordEventsOf(configurationSetName: string): void {
    for (const rule of this.rules) {
      rule.addEventPattern({
        detail: { mail: { tags: { [emailEventRule.configurationSetTag]: [configurationSetName] } } },
      });
    }
  }

  /**
   * Gives the worker what it needs to send through the configuration set and apply the autoresponse
   * limit: {@link sendThrough} and `AUTORESPONSE_HASH_KEY` (the limit itself is a setting of the worker's).
   */
  useForSending(worker: LambdaFn): void {
    this.sendThrough(worker);
    worker.addEnvironment(setting.autoresponseHashKey.env, this.hashKey.secretValue.unsafeUnwrap());
  }

  /**
   * Lets a function send through the configuration set (the worker, and the daily report, whose
   * bounces and complaints count for the account's reputation as well): `SES_CONFIGURATION_SET`, and
   * `ses:SendEmail` on the set (SES authorizes a send against the set as well as the identities).
   */
  sendThrough(fn: LambdaFn): void {
    allowSendingThrough(fn, this.configurationSetName, setting.sesConfigurationSet.env);
  }

  private alarm(
    id: string,
    metricName: string,
    threshold: number,
    description: string,
    actions: IAlarmAction[],
  ): void {
    // The account's rates (no dimension): what SES's review and pause go by.
    this.alarms.push(
      addAlarm(this, id, { metric: sesRate(metricName, 15), threshold, description, over: true }, actions),
    );
  }
}

/**
 * The `detail` part of a route's event pattern: the worker's tags and the configuration set, each field the
 * route keeps (so that its input transformer never meets a missing one), and none it must not have.
 */
function routePattern(route: EmailEventRoute, configurationSetName: string): Record<string, unknown> {
  const pattern = objectAt(
    [...keptFields(route), ...(route.absent ?? [])].filter((path) => path.startsWith('detail.')),
    (path) => (route.absent?.includes(path) ? Match.doesNotExist() : Match.exists()),
  ).detail as Record<string, unknown>;
  const mail = pattern.mail as { tags: Record<string, unknown> };
  mail.tags[emailEventRule.configurationSetTag] = [configurationSetName];
  return pattern;
}

/**
 * Lets a function send through a configuration set: the set's name in `variable`, and `ses:SendEmail` on
 * the set (SES authorizes a send against the set as well as the identities).
 */
export function allowSendingThrough(fn: LambdaFn, configurationSetName: string, variable: string): void {
  fn.addEnvironment(variable, configurationSetName);
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ['ses:SendEmail'],
      resources: [
        Stack.of(fn).formatArn({
          service: 'ses',
          resource: 'configuration-set',
          resourceName: configurationSetName,
        }),
      ],
    }),
  );
}
