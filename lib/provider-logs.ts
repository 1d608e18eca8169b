import { CfnResource, Fn, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { LOG_RETENTION_DAYS } from '../functions/config/settings.ts';

/**
 * Log groups, with the project's retention, for the functions aws-cdk-lib's custom resource providers add
 * to a stack (the one that empties the buckets on `cdk destroy`): such a function is a bare
 * `AWS::Lambda::Function` with no log group of its own, so Lambda would create `/aws/lambda/<name>` on its
 * first run, kept forever and left behind by `cdk destroy`. Each custom resource of the stack depends on
 * these groups, so that on delete the group outlives the last run of the function (which would otherwise
 * create it again). Call once the stack's constructs exist.
 */
export function expireProviderLogs(stack: Stack): LogGroup[] {
  const handlers = stack.node
    .findAll()
    .filter(
      (node): node is CfnResource =>
        CfnResource.isCfnResource(node) &&
        node.cfnResourceType === 'AWS::Lambda::Function' &&
        !(node instanceof CfnFunction),
    );
  const groups = handlers.map(
    (handler) =>
      new LogGroup(handler.node.scope ?? stack, `${handler.node.id}Logs`, {
        logGroupName: Fn.join('', ['/aws/lambda/', handler.ref]),
        retention: LOG_RETENTION_DAYS,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
  );
  for (const node of stack.node.findAll()) {
    if (CfnResource.isCfnResource(node) && node.cfnResourceType.startsWith('Custom::')) {
      for (const group of groups) node.node.addDependency(group);
    }
  }
  return groups;
}
