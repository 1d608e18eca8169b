import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { reportFunction } from '../../functions/config/settings.ts';
import { environmentFor, type SomeValues } from '../../functions/config/table.ts';
import { createFeedbackFunction } from './feedback-function.ts';
import type { SenderIdentity } from './sender-identity.ts';

export interface DailyReportProps {
  readonly table: ITable;
  readonly deadLetterQueue: IQueue;
  readonly sender: SenderIdentity;
  /** The deployment's settings: the function gets those the settings table gives it (the owner's address among them). */
  readonly settings: SomeValues;
  /** EventBridge Scheduler expression, e.g. `cron(0 8 * * ? *)` (UTC). */
  readonly schedule: string;
}

/**
 * This stack's Celery beat: an EventBridge Scheduler schedule that invokes the function mailing the owner
 * the last day's figures, read from the per-day counter items (GetItem, never a Scan) and the DLQ's depth.
 * A report that still fails after Lambda's retries, or that Scheduler could not hand to Lambda, leaves its
 * event in {@link failedReports}.
 */
export class DailyReport extends Construct {
  readonly function: NodejsFunction;
  readonly schedule: Schedule;
  /**
   * The events of reports that failed after their retries (Lambda's on-failure destination) and of those
   * Scheduler could not invoke (the schedule target's dead-letter queue).
   */
  readonly failedReports: Queue;

  constructor(scope: Construct, id: string, props: DailyReportProps) {
    super(scope, id);
    this.function = createFeedbackFunction(this, 'DailyReport', {
      handlerName: 'daily-report',
      description: "Mails the site owner the last day's feedback figures",
      ...reportFunction,
      environment: environmentFor('daily-report', {
        ...props.settings,
        tasksTableName: props.table.tableName,
        senderEmail: props.sender.senderEmail,
        deadLetterQueueUrl: props.deadLetterQueue.queueUrl,
      }),
    });
    props.table.grant(this.function, 'dynamodb:BatchGetItem');
    props.deadLetterQueue.grant(this.function, 'sqs:GetQueueAttributes');
    props.sender.grantSendEmail(this.function);

    // Scheduler invokes asynchronously: Lambda accepts at once, then retries a report that throws
    // itself, and without a destination drops its event after the last retry.
    this.failedReports = new Queue(this, 'FailedReports', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // SQS's longest: a failed report is looked at days later, by an owner back from a weekend away.
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.failedReports).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is the report function's on-failure destination and the schedule's dead-letter queue, itself a dead-letter queue; nothing consumes it, so it needs none of its own.",
    });
    this.function.configureAsyncInvoke({
      // Lambda's most, about 1 and 2 minutes apart. A retry is safe: the report fails before or at its
      // one send, so a retry mails the report that did not go out (twice only if a timeout came right
      // after SES accepted it: a duplicate, harmless).
      retryAttempts: 2,
      // Both retries fit in it many times over; an event Lambda could not even run within the hour
      // (throttled, an outage) goes to the queue and its alarm, rather than mailing at an odd hour.
      maxEventAge: Duration.hours(1),
      onFailure: new SqsDestination(this.failedReports),
    });

    const scheduleRole = new Role(this, 'ScheduleRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'Lets EventBridge Scheduler invoke the daily report',
    });
    const functionId = Stack.of(this).getLogicalId(this.function.node.defaultChild as CfnFunction);
    Validations.of(scheduleRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
      reason:
        "lambda:InvokeFunction on the report function and its versions, as aws-cdk-lib's grantInvoke writes it; the role can be assumed only by EventBridge Scheduler for this account.",
    });
    this.schedule = new Schedule(this, 'Schedule', {
      description: 'Daily feedback report to the site owner',
      schedule: ScheduleExpression.expression(props.schedule),
      target: new LambdaInvoke(this.function, {
        role: scheduleRole,
        // For the hand-over to Lambda only (an invoke refused or throttled); a report that throws is
        // retried by Lambda's asynchronous invoke configuration above.
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
        // A report Scheduler could not hand to Lambda within those goes to the same queue, and its
        // alarm, as one that failed in Lambda: without it Scheduler drops the invocation silently.
        deadLetterQueue: this.failedReports,
      }),
    });
  }
}
