import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { App, PolicyViolation } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { createApp } from '../../lib/app.ts';
import { FeedbackChecks } from '../../lib/checks.ts';
import type { FeedbackStack } from '../../lib/feedback-stack.ts';

type Resource = { Type: string; Properties?: Record<string, unknown> };
type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };

export interface SynthesizedStack {
  app: App;
  stack: FeedbackStack;
  template: Template;
}

/**
 * The app exactly as `cdk synth` builds it (cdk.json's feature flags included), with `context` as if passed
 * with `-c`. That synth takes seconds (esbuild bundles each handler, CDK's CloudFormation schema validation
 * starts its engine): build it once per test file, and pass `templateOnly` where the test reads only the
 * template, to skip both.
 */
export function synthesize(context: Record<string, string>, { templateOnly = false } = {}): SynthesizedStack {
  const cdkJson = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const { app, stack } = createApp({
    context: { ...cdkJson.context, ...context, ...(templateOnly ? { 'aws:cdk:bundling-stacks': [] } : {}) },
    builtinCloudFormationValidation: !templateOnly,
  });
  return { app, stack, template: Template.fromStack(stack) };
}

/** The findings of cdk-nag's AwsSolutions and of the project's own checks that nobody acknowledged. */
export function nagViolations(app: App): PolicyViolation[] {
  return [
    ...new AwsSolutionsChecks().validateScope(app).violations,
    ...new FeedbackChecks().validateScope(app).violations,
  ];
}

/** The project's functions (those with a Powertools service name), keyed by that name. */
export function functionsByService(
  template: Template,
): Map<string, { logicalId: string; properties: Resource['Properties'] }> {
  const result = new Map<string, { logicalId: string; properties: Resource['Properties'] }>();
  for (const [logicalId, resource] of Object.entries(template.findResources('AWS::Lambda::Function'))) {
    const properties = (resource as Resource).Properties ?? {};
    const variables = (properties.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables;
    const service = variables?.POWERTOOLS_SERVICE_NAME;
    if (typeof service === 'string') result.set(service, { logicalId, properties });
  }
  return result;
}

/** Every IAM statement of the policies attached to a function's role. */
export function statementsOfFunction(
  template: Template,
  functionProperties: Resource['Properties'],
): Statement[] {
  const role = functionProperties?.Role as { 'Fn::GetAtt': [string, string] } | undefined;
  const roleLogicalId = role?.['Fn::GetAtt'][0];
  const statements: Statement[] = [];
  for (const resource of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const properties = (resource as Resource).Properties as {
      Roles: { Ref: string }[];
      PolicyDocument: { Statement: Statement[] };
    };
    if (properties.Roles.some((role) => role.Ref === roleLogicalId)) {
      statements.push(...properties.PolicyDocument.Statement);
    }
  }
  return statements;
}

/** The sorted actions of some statements. */
export function actionsOf(statements: Statement[]): string[] {
  return statements.flatMap((statement) => [statement.Action].flat()).sort();
}

/** The logical id of the only resource of `type` whose id starts with `prefix`. */
export function logicalIdOf(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1)
    throw new Error(`Expected one ${type} starting with ${prefix}, found ${ids.join(', ')}`);
  return ids[0] as string;
}
