import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  type Alarm,
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, queue as queueSettings } from '../../functions/config/settings.ts';
import { ALARM_PERIOD, type AlarmSpec, addAlarm, messagesWaiting, notifyOf } from './alarms.ts';

export interface MonitoringProps {
  readonly httpApi: HttpApi;
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  /** The feedback queue's visibility timeout: with maxReceiveCount it bounds a message's normal age. */
  readonly visibilityTimeout: Duration;
  readonly worker: IFunction;
  readonly apiFunctions: IFunction[];
  /**
   * The daily report's on-failure queue, when there is a report: the events of reports that failed after
   * their retries.
   * @default - no report alarm
   */
  readonly failedReports?: IQueue;
  /**
   * Where alarm notifications go.
   * @default - no topic; alarms show in the CloudWatch console only
   */
  readonly alarmEmail?: string;
}

const PERIOD = ALARM_PERIOD;

/**
 * Tells the owner when something is wrong: alarms on the dead-letter queue, a backlog, the worker's errors
 * and throttles, the API's 5xx and a daily report that failed, optionally mailed through SNS, and a small
 * dashboard.
 */
export class Monitoring extends Construct {
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;
  readonly topic?: Topic;
  /** Alarm mails SNS could not deliver (with `alarmEmail`). */
  readonly undeliveredAlarms?: Queue;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);

    // A message can legitimately wait a visibility timeout per attempt (its retries) before the worker gives
    // it up; SQS's backstop count is higher only to leave room for deferrals and an interrupted give-up.
    const maxNormalAge = props.visibilityTimeout.toSeconds() * queueSettings.maxAttempts;
    this.alarm('DeadLetterQueueNotEmpty', {
      metric: messagesWaiting(props.deadLetterQueue),
      threshold: 1,
      description:
        'Feedback tasks gave up and their messages are in the dead-letter queue (see npm run redrive).',
    });
    this.alarm('OldestMessageTooOld', {
      metric: props.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: PERIOD }),
      threshold: maxNormalAge,
      description: `A feedback message waited over ${maxNormalAge} s: the worker is not keeping up or not running.`,
    });
    this.alarm('WorkerErrors', {
      metric: props.worker.metricErrors({ statistic: 'Sum', period: PERIOD }),
      threshold: 1,
      description: 'The email worker crashed or timed out (failed records alone do not count).',
    });
    this.alarm('WorkerThrottles', {
      metric: props.worker.metricThrottles({ statistic: 'Sum', period: PERIOD }),
      threshold: 1,
      description: "The email worker was throttled: the account's Lambda concurrency is exhausted.",
    });
    this.alarm('ApiServerErrors', {
      metric: props.httpApi.metricServerError({ statistic: 'Sum', period: PERIOD }),
      threshold: 1,
      description: 'The API answered 5xx (a 503 means the queue or the table could not be reached).',
    });
    // On the report's failed events, not its errors: an attempt that a retry made good is no news.
    if (props.failedReports !== undefined) {
      this.alarm('DailyReportFailed', {
        metric: messagesWaiting(props.failedReports),
        threshold: 1,
        description: `The daily report failed after its retries; its event (the day asked for, and the error) is in the SQS queue ${props.failedReports.queueName}.`,
      });
    }

    if (props.alarmEmail !== undefined) {
      // CloudWatch cannot publish to a topic under the AWS-managed aws/sns key (its policy cannot name
      // CloudWatch), so an encrypted alarm topic needs a key of its own.
      const key = new Key(this, 'AlarmTopicKey', {
        description: 'Encrypts the serverless feedback alarm topic',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.DESTROY,
        pendingWindow: Duration.days(7),
      });
      // Only for this account's alarms, as the topic's policy below: CloudWatch acting for another
      // account (the confused deputy) cannot use the key.
      const fromOurAlarms = alarmSourceConditions(Stack.of(this));
      key.addToResourcePolicy(
        new PolicyStatement({
          principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: fromOurAlarms,
        }),
      );
      this.topic = new Topic(this, 'AlarmTopic', {
        displayName: 'Serverless feedback alarms',
        masterKey: key,
        enforceSSL: true,
      });
      // The topic's policy replaces SNS's default one, so CloudWatch must be allowed to publish by name:
      // only for this account's alarms.
      this.topic.addToResourcePolicy(
        new PolicyStatement({
          sid: 'AllowCloudWatchAlarms',
          principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [this.topic.topicArn],
          conditions: fromOurAlarms,
        }),
      );
      // A mail SNS could not deliver (after its retries) waits here rather than being lost.
      this.undeliveredAlarms = new Queue(this, 'UndeliveredAlarms', {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        removalPolicy: RemovalPolicy.DESTROY,
      });
      Validations.of(this.undeliveredAlarms).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason:
          "This queue is the alarm mail subscription's dead-letter queue; nothing consumes it, so it needs none of its own.",
      });
      this.topic.addSubscription(
        new EmailSubscription(props.alarmEmail, { deadLetterQueue: this.undeliveredAlarms }),
      );
      const action = new SnsAction(this.topic);
      for (const alarm of this.alarms) notifyOf(alarm, [action]);
    }

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    this.dashboard.addWidgets(
      graph(
        'Feedback',
        [
          'FeedbackAccepted',
          'FeedbackRejected',
          'EmailSent',
          'EmailFailed',
          'TaskRetried',
          'AutoresponseSkipped',
        ].map((name) => emf(name)),
      ),
      graph('Task duration (ms, p50)', [emf('TaskDuration', 'p50')]),
      graph('API requests and errors', [
        props.httpApi.metricCount({ period: PERIOD, label: 'requests' }),
        props.httpApi.metricClientError({ period: PERIOD, label: '4xx' }),
        props.httpApi.metricServerError({ period: PERIOD, label: '5xx' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Queue', [
        props.queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, label: 'waiting' }),
        props.queue.metricApproximateNumberOfMessagesNotVisible({ period: PERIOD, label: 'in flight' }),
        props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: PERIOD,
          label: 'dead letters',
        }),
      ]),
      graph('Worker', [
        props.worker.metricInvocations({ period: PERIOD, label: 'invocations' }),
        props.worker.metricErrors({ period: PERIOD, label: 'errors' }),
        props.worker.metricThrottles({ period: PERIOD, label: 'throttles' }),
      ]),
      graph(
        'API functions duration (ms, p99)',
        props.apiFunctions.map((fn) => fn.metricDuration({ period: PERIOD, statistic: 'p99' })),
      ),
    );
  }

  /**
   * Adds the dashboard's alarm widget with every alarm given: the stack passes all it has, found in its
   * construct tree, so that an alarm added anywhere shows without being listed twice.
   */
  showAlarms(alarms: Alarm[]): void {
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms, width: 24 }));
  }

  private alarm(id: string, spec: AlarmSpec): void {
    this.alarms.push(addAlarm(this, id, spec));
  }
}

/** Only alarms of this account and Region: the conditions of CloudWatch's use of the topic and its key. */
function alarmSourceConditions(stack: Stack): Record<string, Record<string, string>> {
  return {
    StringEquals: { 'aws:SourceAccount': stack.account },
    ArnLike: {
      'aws:SourceArn': stack.formatArn({
        service: 'cloudwatch',
        resource: 'alarm',
        resourceName: '*',
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    },
  };
}

/** One of the handlers' EMF metrics, whatever dimensions (service, reason) it was emitted with. */
function emf(metricName: string, statistic = 'Sum'): IMetric {
  return new MathExpression({
    expression: `SEARCH('Namespace="${METRICS_NAMESPACE}" MetricName="${metricName}"', '${statistic}', ${PERIOD.toSeconds()})`,
    label: metricName,
    period: PERIOD,
  });
}

function graph(title: string, metrics: IMetric[]): GraphWidget {
  return new GraphWidget({ title, left: metrics, width: 8 });
}
