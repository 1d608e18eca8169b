/**
 * Every context mode a deployer can choose, synthesized as `cdk synth` would, with cdk-nag's AwsSolutions
 * and the project's own checks (lib/checks.ts) run on each stack: a mode nobody synthesized is where a
 * fault hides until a real account finds it.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { nagViolations, synthesize } from './stack-fixture.ts';

const sender = { senderEmail: 'feedback@example.com' };
const MODES: Record<string, Record<string, string>> = {
  default: {},
  'existing identity': { ...sender, senderIdentity: 'existing', notifyEmail: 'owner@example.org' },
  "existing owner's identity": { ...sender, notifyEmail: 'owner@example.org', notifyIdentity: 'existing' },
  domain: { ...sender, senderDomain: 'example.com' },
  'domain with zone': { ...sender, senderDomain: 'example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ' },
  owner: { ...sender, notifyEmail: 'owner@example.org', alarmEmail: 'ops@example.org' },
  WAF: { ...sender, wafRateLimit: '100', alarmEmail: 'ops@example.org' },
  retain: { ...sender, dataRemoval: 'retain' },
};

beforeAll(() => {
  // The WAF mode needs the account and Region at synth, as the CLI sets them from the credentials.
  vi.stubEnv('CDK_DEFAULT_ACCOUNT', '123456789012');
  vi.stubEnv('CDK_DEFAULT_REGION', 'eu-west-1');
});

afterAll(() => {
  vi.unstubAllEnvs();
});

describe.each(Object.entries(MODES))('the %s mode', (_mode, context) => {
  it('synthesizes with no unacknowledged finding of cdk-nag or of the project’s checks, on every stack', () => {
    const { app } = synthesize(context, { templateOnly: true });
    expect(app.node.children.length).toBeGreaterThanOrEqual(context.wafRateLimit === undefined ? 1 : 2);
    expect(
      nagViolations(app).map(
        (violation) => `${violation.ruleName} ${violation.violatingResources[0]?.constructPath}`,
      ),
    ).toEqual([]);
  });
});

describe('dataRemoval=retain', () => {
  it('keeps the task table on destroy, with deletion protection on', () => {
    const { template } = synthesize(MODES.retain ?? {}, { templateOnly: true });
    const [table] = Object.values(template.findResources('AWS::DynamoDB::Table'));
    expect(table).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { DeletionProtectionEnabled: true },
    });
  });
});
