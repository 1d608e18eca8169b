import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/**
 * The one task table: a record per task (the status API's fields under the same names), the worker's
 * claim on a task, and the per-day counters (`taskId = "stats#YYYY-MM-DD"`) the daily report reads.
 * Records expire through DynamoDB's TTL on `expiresAt`.
 */
export class TaskTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'taskId', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      // Task records are short-lived by design (TTL); `cdk destroy` should leave nothing behind.
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}
