import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { env, reportFunction } from '../../functions/commons/settings.ts';
import { createFeedbackFunction } from './feedback-function.ts';
import type { SenderIdentity } from './sender-identity.ts';

export interface DailyReportProps {
  readonly table: ITable;
  readonly deadLetterQueue: IQueue;
  readonly sender: SenderIdentity;
  /** The site owner's address, the report's recipient. */
  readonly notifyEmail: string;
  /** EventBridge Scheduler expression, e.g. `cron(0 8 * * ? *)` (UTC). */
  readonly schedule: string;
}

/**
 * This stack's Celery beat: an EventBridge Scheduler schedule that invokes the function mailing the owner
 * the last day's figures, read from the per-day counter items (GetItem, never a Scan) and the DLQ's depth.
 */
export class DailyReport extends Construct {
  readonly function: NodejsFunction;
  readonly schedule: Schedule;

  constructor(scope: Construct, id: string, props: DailyReportProps) {
    super(scope, id);
    this.function = createFeedbackFunction(this, 'DailyReport', {
      handlerName: 'daily-report',
      description: "Mails the site owner the last day's feedback figures",
      ...reportFunction,
      environment: {
        [env.tasksTableName]: props.table.tableName,
        [env.senderEmail]: props.sender.senderEmail,
        [env.notifyEmail]: props.notifyEmail,
        [env.deadLetterQueueUrl]: props.deadLetterQueue.queueUrl,
      },
    });
    props.table.grant(this.function, 'dynamodb:BatchGetItem');
    props.deadLetterQueue.grant(this.function, 'sqs:GetQueueAttributes');
    props.sender.grantSendEmail(this.function);

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
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      }),
    });
  }
}
