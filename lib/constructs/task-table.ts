import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { DataRemovalMode } from '../config.ts';

export interface TaskTableProps {
  /**
   * `retain`: `cdk destroy` leaves the table (and its point-in-time backups) behind, and deletion
   * protection refuses any delete, the stack's or a console user's, until someone turns it off.
   * @default 'destroy' - the table goes with the stack, for a quick try
   */
  readonly dataRemoval?: DataRemovalMode;
}

/**
 * The one task table: a record per task (the status API's fields under the same names), the worker's
 * claim on a task, and the per-day counters (`taskId = "stats#YYYY-MM-DD"`) the daily report reads.
 * Records expire through DynamoDB's TTL on `expiresAt`.
 */
export class TaskTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: TaskTableProps = {}) {
    super(scope, id);
    const retain = props.dataRemoval === 'retain';
    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'taskId', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      // Task records are short-lived by design (TTL): by default `cdk destroy` leaves nothing behind.
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      deletionProtection: retain,
    });
  }
}
