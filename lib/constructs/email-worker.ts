import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { consumer, queue } from '../../functions/config/settings.ts';
import {
  derivedWorkerValues,
  environmentFor,
  type SomeValues,
  type WorkerSizing,
} from '../../functions/config/table.ts';
import { createFeedbackFunction } from './feedback-function.ts';
import type { SenderIdentity } from './sender-identity.ts';

export interface EmailWorkerProps {
  readonly table: ITable;
  readonly sender: SenderIdentity;
  /** The deployment's settings: the function gets those the settings table gives it. */
  readonly settings: SomeValues;
  /** The worker's concurrency, batch size, timeout and lease, from `workerSizing` (so they agree). */
  readonly sizing: WorkerSizing;
}

/**
 * The background half (Celery's worker and broker): the feedback queue, its dead-letter queue, and the
 * function that does the slow work and sends the email, fed by an SQS event source with partial batch
 * responses.
 */
export class EmailWorker extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: EmailWorkerProps) {
    super(scope, id);
    const { sizing } = props;

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.seconds(queue.deadLetterRetentionSeconds),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.queue = new Queue(this, 'Queue', {
      visibilityTimeout: Duration.seconds(sizing.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(queue.retentionSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: queue.maxReceiveCount },
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.function = createFeedbackFunction(this, 'SendFeedbackEmail', {
      handlerName: 'send-feedback-email',
      description: 'Does the slow work and sends the feedback email for each queued task',
      memoryMb: consumer.memoryMb,
      timeoutSeconds: sizing.timeoutSeconds,
      environment: environmentFor('send-feedback-email', {
        ...props.settings,
        // The worker derives its pace from these, as the stack did: together the containers keep to the rate.
        ...derivedWorkerValues(sizing),
        tasksTableName: props.table.tableName,
        feedbackQueueUrl: this.queue.queueUrl,
        senderEmail: props.sender.senderEmail,
        maxReceiveCount: queue.maxReceiveCount,
        // The worker gives a task up itself at its attempt limit: FAILURE, then the message to the DLQ.
        maxAttempts: queue.maxAttempts,
        deadLetterQueueUrl: this.deadLetterQueue.queueUrl,
      }),
    });
    // Claim and state changes are conditional updates; the per-day counters are ADD updates.
    props.table.grant(this.function, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    props.sender.grantSendEmail(this.function);
    // Moving a given-up task's message to the dead-letter queue (SQS's own move is the backstop).
    this.deadLetterQueue.grant(this.function, 'sqs:SendMessage');
    // Grants receive, delete and ChangeMessageVisibility (the retry backoff) on the feedback queue.
    this.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: sizing.batchSize,
        maxBatchingWindow: Duration.seconds(consumer.maxBatchingWindowSeconds),
        maxConcurrency: sizing.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
  }
}
