/**
 * The opt-in per-client limit: the web ACL's stack (in us-east-1, for CloudFront) with its rate-based rule
 * and its 429 answers, and its refusals.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { TOO_MANY_REQUESTS_MESSAGE } from '../../functions/http/views.ts';
import { ConfigError, readConfig } from '../../lib/config.ts';
import { crossRegionAccount, WafStack } from '../../lib/waf-stack.ts';
import { nagViolations, synthesize } from './stack-fixture.ts';

const ENV = { account: '123456789012', region: 'us-east-1' };
let app: App;
let template: Template;

beforeAll(() => {
  app = new App();
  template = Template.fromStack(new WafStack(app, 'Waf', { env: ENV, rateLimit: 20 }));
});

describe('the web ACL', () => {
  it('is for CloudFront and lets everything else through', () => {
    template.resourceCountIs('AWS::WAFv2::WebACL', 1);
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'CLOUDFRONT',
      DefaultAction: { Allow: {} },
    });
  });

  it('counts POSTs to /api/ per client IP over 5 minutes and labels those over the limit', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Rules: Match.arrayWith([
        Match.objectLike({
          Priority: 0,
          Action: { Count: {} },
          RuleLabels: [{ Name: 'feedback:rate-limited' }],
          Statement: {
            RateBasedStatement: {
              Limit: 20,
              EvaluationWindowSec: 300,
              AggregateKeyType: 'IP',
              ScopeDownStatement: {
                AndStatement: {
                  Statements: [
                    {
                      ByteMatchStatement: Match.objectLike({
                        FieldToMatch: { Method: {} },
                        SearchString: 'POST',
                      }),
                    },
                    {
                      ByteMatchStatement: Match.objectLike({
                        FieldToMatch: { UriPath: {} },
                        PositionalConstraint: 'STARTS_WITH',
                        SearchString: '/api/',
                      }),
                    },
                  ],
                },
              },
            },
          },
        }),
      ]),
    });
  });

  it.each([
    ['TooManyFeedbacksPage', 1, 'tooManyRequestsHtml'],
    ['TooManyFeedbacks', 2, 'tooManyRequestsJson'],
  ])('%s answers a labelled request 429 with Retry-After', (name, priority, body) => {
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Rules: Match.arrayWith([
        Match.objectLike({
          Name: name,
          Priority: priority,
          Action: {
            Block: {
              CustomResponse: {
                ResponseCode: 429,
                CustomResponseBodyKey: body,
                ResponseHeaders: Match.arrayWith([{ Name: 'Retry-After', Value: '300' }]),
              },
            },
          },
        }),
      ]),
    });
  });

  it('answers a browser navigation with a page and the rest with the JSON error', () => {
    const [acl] = Object.values(template.findResources('AWS::WAFv2::WebACL'));
    const properties = acl?.Properties as {
      CustomResponseBodies: Record<string, { ContentType: string; Content: string }>;
      Rules: { Name: string; Statement: unknown }[];
    };
    const { tooManyRequestsJson: json, tooManyRequestsHtml: html } = properties.CustomResponseBodies;
    expect(json?.ContentType).toBe('APPLICATION_JSON');
    expect(JSON.parse(json?.Content ?? '')).toEqual({
      error: 'too_many_requests',
      message: TOO_MANY_REQUESTS_MESSAGE,
    });
    expect(html?.ContentType).toBe('TEXT_HTML');
    expect(html?.Content).toContain('Please try again in a few minutes.');
    // WAF's limit on one custom response body.
    expect(Buffer.byteLength(html?.Content ?? '')).toBeLessThan(4096);
    const page = properties.Rules.find((rule) => rule.Name === 'TooManyFeedbacksPage');
    expect(JSON.stringify(page?.Statement)).toContain('"SingleHeader":{"Name":"accept"}');
    expect(JSON.stringify(page?.Statement)).toContain('"SearchString":"text/html"');
  });

  it('leaves no cdk-nag AwsSolutions finding unacknowledged', () => {
    expect(nagViolations(app)).toEqual([]);
  });
});

describe('refusals', () => {
  it("refuses a limit under WAF's minimum of 10", () => {
    expect(() => new WafStack(new App(), 'Waf', { env: ENV, rateLimit: 9 })).toThrow(/at least 10/);
  });

  it('needs the account and region for the cross-region reference, and says how to give them', () => {
    expect(
      crossRegionAccount({ CDK_DEFAULT_ACCOUNT: '123456789012', CDK_DEFAULT_REGION: 'eu-west-1' }),
    ).toEqual({
      account: '123456789012',
      region: 'eu-west-1',
    });
    expect(() => crossRegionAccount({})).toThrow(/CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION/);
  });
});

describe('the app with and without wafRateLimit', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('adds nothing without the key: one stack, no web ACL on the distribution', () => {
    const { app, template } = synthesize({}, { templateOnly: true });
    expect(app.node.children.filter((child) => child instanceof Stack)).toHaveLength(1);
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({ WebACLId: Match.absent() }),
    });
  });

  it('puts the web ACL in us-east-1 and on the distribution, cdk-nag clean', () => {
    // Prepare
    vi.stubEnv('CDK_DEFAULT_ACCOUNT', '123456789012');
    vi.stubEnv('CDK_DEFAULT_REGION', 'eu-west-1');

    // Act
    const { app, stack, template } = synthesize({ wafRateLimit: '20' }, { templateOnly: true });

    // Assess
    const waf = app.node.children.find((child) => child instanceof WafStack);
    expect(waf?.region).toBe('us-east-1');
    expect(stack.region).toBe('eu-west-1');
    // The ARN comes from us-east-1 as that stack's output (cdk.json's cross-region reference flag).
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        WebACLId: {
          'Fn::GetStackOutput': {
            StackName: 'ServerlessFeedbackWaf',
            Region: 'us-east-1',
            OutputName: Match.stringLikeRegexp('WebAclArn'),
          },
        },
      }),
    });
    expect(nagViolations(app)).toEqual([]);
  });

  it('says what to do when the account or region is unknown', () => {
    vi.stubEnv('CDK_DEFAULT_ACCOUNT', '');
    expect(() => synthesize({ wafRateLimit: '20' }, { templateOnly: true })).toThrow(ConfigError);
  });

  it.each(['9', '2.5', 'many'])('refuses wafRateLimit=%s', (value) => {
    expect(() => readConfig((key) => (key === 'wafRateLimit' ? value : undefined))).toThrow(/wafRateLimit/);
  });
});
