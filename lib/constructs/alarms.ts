import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IAlarmAction,
  type IMetric,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** The period of the stack's alarms on queues, errors and throttles. */
export const ALARM_PERIOD = Duration.minutes(5);

export interface AlarmSpec {
  metric: IMetric;
  threshold: number;
  description: string;
  /** Strictly over the threshold (a rate), rather than at it or over (a count). */
  over?: true;
}

/**
 * The stack's one kind of alarm: a single period at (or `over`) the threshold raises it, missing data is
 * no breach, and each action hears both of the alarm and of its end.
 */
export function addAlarm(
  scope: Construct,
  id: string,
  spec: AlarmSpec,
  actions: readonly IAlarmAction[] = [],
): Alarm {
  const alarm = new Alarm(scope, id, {
    metric: spec.metric,
    threshold: spec.threshold,
    evaluationPeriods: 1,
    comparisonOperator: spec.over
      ? ComparisonOperator.GREATER_THAN_THRESHOLD
      : ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
    alarmDescription: spec.description,
  });
  notifyOf(alarm, actions);
  return alarm;
}

/** Tells each action of the alarm going off and of its end. */
export function notifyOf(alarm: Alarm, actions: readonly IAlarmAction[]): void {
  for (const action of actions) {
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }
}

/** Messages waiting in a queue nothing consumes (a dead-letter or failed-events queue): alarm at 1. */
export function messagesWaiting(queue: IQueue): IMetric {
  return queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: ALARM_PERIOD });
}

/**
 * An SES reputation rate (`Reputation.BounceRate`, `Reputation.ComplaintRate`): the account's, what SES's
 * review and pause go by, or one configuration set's (SES publishes it for a set with reputation metrics on).
 */
export function sesRate(metricName: string, periodMinutes: number, configurationSetName?: string): Metric {
  return new Metric({
    namespace: 'AWS/SES',
    metricName,
    ...(configurationSetName === undefined
      ? {}
      : { dimensionsMap: { 'ses:configuration-set': configurationSetName } }),
    statistic: 'Maximum',
    period: Duration.minutes(periodMinutes),
  });
}
