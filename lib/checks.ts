import { CfnResource, type PolicyValidationPluginReport, Stack } from 'aws-cdk-lib';
import { NagMessageLevel, NagPack, type NagPackProps, NagRuleCompliance, type NagRuleResult } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/** SQS's default retention, for a queue that sets none. */
const SQS_DEFAULT_RETENTION_SECONDS = 345_600;

/**
 * The fields of SES's events (in EventBridge's event) that hold an address or a subject: the sender, the
 * recipients, the headers (To, Subject), and the identity's ARN (an address identity's ARN names it).
 */
export const SES_ADDRESS_FIELDS = [
  'detail.mail.source',
  'detail.mail.sourceArn',
  'detail.mail.destination',
  'detail.mail.commonHeaders',
  'detail.mail.headers',
  'detail.delivery.recipients',
  'detail.bounce.bouncedRecipients',
  'detail.complaint.complainedRecipients',
] as const;

type Rendered = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };

/**
 * The project's own invariants, run like cdk-nag's AwsSolutions pack on every synthesized stack (lib/app.ts
 * registers both; the stack tests run both on every context mode). Each holds a promise of the docs that
 * a future construct could break without anyone noticing:
 * - `Feedback-DeadLetterOutlivesQueue`: SQS counts a dead letter's age from its first enqueue, so a
 *   dead-letter queue that keeps messages no longer than its source leaves a redrive no time.
 * - `Feedback-AsyncTargetCanFail`: every asynchronous hand-over (an EventBridge rule's target, a Scheduler
 *   schedule, an SNS subscription, a function invoked asynchronously by either) has a dead-letter queue or
 *   an on-failure destination, so nothing is dropped silently.
 * - `Feedback-LogsExpire`: every log group has a retention, and every function writes to one (Lambda's
 *   own `/aws/lambda/<name>` would never expire, and outlive the stack).
 * - `Feedback-SesEventsTrimmed`: no rule on SES's events forwards them whole, or any of their address
 *   fields: docs/security.md says the visitor's address exists only in the queue message and the emails.
 * - `Feedback-AlarmOnDashboard`: every alarm shows on a dashboard of its stack.
 *
 * A finding fails the synth unless acknowledged on its construct (`Validations.of(x).acknowledge`), with
 * its reason.
 */
export class FeedbackChecks extends NagPack {
  readonly name = 'Feedback';
  private rendered = new WeakMap<Stack, Map<string, Rendered>>();

  constructor(scope?: IConstruct, props?: NagPackProps) {
    super(scope, props);
    this.packName = 'Feedback';
  }

  override validateScope(scope: IConstruct): PolicyValidationPluginReport {
    this.rendered = new WeakMap();
    return super.validateScope(scope);
  }

  protected checkResource(node: CfnResource): void {
    const rule = (
      suffix: string,
      info: string,
      explanation: string,
      check: (n: CfnResource) => NagRuleResult,
    ) =>
      this.applyRule({
        ruleSuffixOverride: suffix,
        info,
        explanation,
        level: NagMessageLevel.ERROR,
        node,
        rule: check,
      });
    rule(
      'DeadLetterOutlivesQueue',
      "The queue's dead-letter queue does not keep messages longer than the queue.",
      'SQS counts a message’s retention from its first enqueue: a message that failed late reaches a dead-letter queue of the same retention with little or no time left for a redrive.',
      (n) => this.deadLetterOutlivesQueue(n),
    );
    rule(
      'AsyncTargetCanFail',
      'An asynchronous target has nowhere to put what it could not deliver.',
      'EventBridge, Scheduler, SNS and Lambda’s asynchronous invocation drop an event after their retries unless it has a dead-letter queue or an on-failure destination.',
      (n) => this.asyncTargetCanFail(n),
    );
    rule(
      'LogsExpire',
      'A log group never expires, or a function writes to one that Lambda would create without a retention.',
      'Logs are kept 14 days (docs/operating.md); a log group without retention keeps them forever, and one Lambda creates itself outlives cdk destroy.',
      (n) => this.logsExpire(n),
    );
    rule(
      'SesEventsTrimmed',
      'A rule forwards SES events whole, or fields of them holding addresses or subjects.',
      'docs/security.md promises that visitors’ addresses exist only in the queue message and the emails: an SES event’s mail part holds the recipients, the sender and the subject.',
      (n) => this.sesEventsTrimmed(n),
    );
    rule(
      'AlarmOnDashboard',
      'An alarm is not on any dashboard of its stack.',
      'docs/operating.md: the dashboard shows every alarm; one created elsewhere must be added to it.',
      (n) => this.alarmOnDashboard(n),
    );
  }

  private deadLetterOutlivesQueue(node: CfnResource): NagRuleResult {
    if (node.cfnResourceType !== 'AWS::SQS::Queue') return NagRuleCompliance.NOT_APPLICABLE;
    const { Properties } = this.render(node);
    const redrive = Properties.RedrivePolicy as { deadLetterTargetArn?: unknown } | undefined;
    if (redrive === undefined) return NagRuleCompliance.NOT_APPLICABLE;
    const target = this.resource(node, logicalIdOf(redrive.deadLetterTargetArn));
    if (target === undefined) return NagRuleCompliance.NON_COMPLIANT;
    return retentionOf(target) > retentionOf(this.render(node))
      ? NagRuleCompliance.COMPLIANT
      : NagRuleCompliance.NON_COMPLIANT;
  }

  private asyncTargetCanFail(node: CfnResource): NagRuleResult {
    const { Properties } = this.render(node);
    switch (node.cfnResourceType) {
      case 'AWS::Events::Rule': {
        const targets = (Properties.Targets ?? []) as { DeadLetterConfig?: { Arn?: unknown } }[];
        return compliantIf(targets.every((target) => target.DeadLetterConfig?.Arn !== undefined));
      }
      case 'AWS::Scheduler::Schedule': {
        const target = Properties.Target as { DeadLetterConfig?: { Arn?: unknown } } | undefined;
        return compliantIf(target?.DeadLetterConfig?.Arn !== undefined);
      }
      case 'AWS::SNS::Subscription':
        return compliantIf(Properties.RedrivePolicy !== undefined);
      case 'AWS::Lambda::EventInvokeConfig':
        return compliantIf(onFailure(Properties) !== undefined);
      case 'AWS::Lambda::Function': {
        const id = Stack.of(node).getLogicalId(node);
        const invokedAsync = [...this.resources(node).values()].some(
          (other) =>
            (other.Type === 'AWS::Events::Rule' || other.Type === 'AWS::Scheduler::Schedule') &&
            JSON.stringify(other.Properties.Targets ?? other.Properties.Target ?? null).includes(
              JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] }),
            ),
        );
        if (!invokedAsync) return NagRuleCompliance.NOT_APPLICABLE;
        return compliantIf(
          [...this.resources(node).values()].some(
            (other) =>
              other.Type === 'AWS::Lambda::EventInvokeConfig' &&
              logicalIdOf(other.Properties.FunctionName) === id &&
              onFailure(other.Properties) !== undefined,
          ),
        );
      }
      default:
        return NagRuleCompliance.NOT_APPLICABLE;
    }
  }

  private logsExpire(node: CfnResource): NagRuleResult {
    const { Properties } = this.render(node);
    if (node.cfnResourceType === 'AWS::Logs::LogGroup') {
      return compliantIf(typeof Properties.RetentionInDays === 'number');
    }
    if (node.cfnResourceType !== 'AWS::Lambda::Function') return NagRuleCompliance.NOT_APPLICABLE;
    const loggingConfig = Properties.LoggingConfig as { LogGroup?: unknown } | undefined;
    if (loggingConfig?.LogGroup !== undefined) return NagRuleCompliance.COMPLIANT;
    const id = Stack.of(node).getLogicalId(node);
    const ownGroup = JSON.stringify({ 'Fn::Join': ['', ['/aws/lambda/', { Ref: id }]] });
    const named = [...this.resources(node).values()].some(
      (other) =>
        other.Type === 'AWS::Logs::LogGroup' && JSON.stringify(other.Properties.LogGroupName) === ownGroup,
    );
    // A finding named by the function's construct path, so that one created at synth (after every
    // construct, like the cross-region references' providers) can be acknowledged by name on its stack.
    return named ? NagRuleCompliance.COMPLIANT : [`Function::${pathInStack(node)}`];
  }

  private sesEventsTrimmed(node: CfnResource): NagRuleResult {
    if (node.cfnResourceType !== 'AWS::Events::Rule') return NagRuleCompliance.NOT_APPLICABLE;
    const { Properties } = this.render(node);
    const pattern = Properties.EventPattern as { source?: unknown } | undefined;
    if (!JSON.stringify(pattern?.source ?? null).includes('"aws.ses"'))
      return NagRuleCompliance.NOT_APPLICABLE;
    const targets = (Properties.Targets ?? []) as {
      Input?: unknown;
      InputPath?: unknown;
      InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate?: string };
    }[];
    return compliantIf(
      targets.every((target) => {
        if (target.Input !== undefined) return true;
        const transformer = target.InputTransformer;
        if (transformer === undefined) return false;
        const paths = Object.values(transformer.InputPathsMap ?? {});
        return (
          !(transformer.InputTemplate ?? '').includes('aws.events.event') &&
          paths.every((path) => !forwardsAnAddress(path))
        );
      }),
    );
  }

  private alarmOnDashboard(node: CfnResource): NagRuleResult {
    if (node.cfnResourceType !== 'AWS::CloudWatch::Alarm') return NagRuleCompliance.NOT_APPLICABLE;
    const id = JSON.stringify(Stack.of(node).getLogicalId(node));
    return compliantIf(
      [...this.resources(node).values()].some(
        (other) =>
          other.Type === 'AWS::CloudWatch::Dashboard' &&
          JSON.stringify(other.Properties.DashboardBody ?? null).includes(id),
      ),
    );
  }

  /** A resource as CloudFormation will see it: its type and resolved properties. */
  private render(node: CfnResource): Rendered {
    const found = this.resources(node).get(Stack.of(node).getLogicalId(node));
    return found ?? { Type: node.cfnResourceType, Properties: {} };
  }

  private resource(node: CfnResource, logicalId: string | undefined): Rendered | undefined {
    return logicalId === undefined ? undefined : this.resources(node).get(logicalId);
  }

  /** Every resource of the node's stack, rendered once per validation. */
  private resources(node: CfnResource): Map<string, Rendered> {
    const stack = Stack.of(node);
    let map = this.rendered.get(stack);
    if (map === undefined) {
      map = new Map();
      for (const child of stack.node.findAll()) {
        if (!CfnResource.isCfnResource(child) || Stack.of(child) !== stack) continue;
        const template = stack.resolve(
          (child as unknown as { _toCloudFormation(): object })._toCloudFormation(),
        ) as { Resources?: Record<string, Partial<Rendered>> };
        for (const [id, resource] of Object.entries(template.Resources ?? {})) {
          map.set(id, { Type: resource.Type ?? '', Properties: resource.Properties ?? {} });
        }
      }
      this.rendered.set(stack, map);
    }
    return map;
  }
}

function compliantIf(condition: boolean): NagRuleCompliance {
  return condition ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}

/** The logical id a `Ref` or `Fn::GetAtt` names. */
function logicalIdOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const ref = (value as { Ref?: unknown }).Ref;
  if (typeof ref === 'string') return ref;
  const getAtt = (value as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'];
  return Array.isArray(getAtt) && typeof getAtt[0] === 'string' ? getAtt[0] : undefined;
}

function retentionOf(queue: Rendered): number {
  const retention = queue.Properties.MessageRetentionPeriod;
  return typeof retention === 'number' ? retention : SQS_DEFAULT_RETENTION_SECONDS;
}

function onFailure(properties: Record<string, unknown>): unknown {
  return (properties.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure
    ?.Destination;
}

/** Whether an input path (`$.detail.mail`) takes an address field, or an object holding one. */
export function forwardsAnAddress(path: string): boolean {
  if (path.includes('*') || path.includes('[')) return true;
  const field = path.replace(/^\$\.?/, '');
  return SES_ADDRESS_FIELDS.some(
    (address) =>
      field === '' || address === field || address.startsWith(`${field}.`) || field.startsWith(`${address}.`),
  );
}

function pathInStack(node: CfnResource): string {
  const stackPath = Stack.of(node).node.path;
  return node.node.path.slice(stackPath.length + 1);
}
