import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { PLACEHOLDER_SENDER_EMAIL } from '../../lib/config.ts';
import {
  functionsByService,
  nagViolations,
  type SynthesizedStack,
  statementsOfFunction,
  synthesize,
} from './stack-fixture.ts';

// The sender's identity comes from elsewhere than the default address identity (feedback-stack.test.ts):
// these read the template only, as feedback-stack-defaults.test.ts does.
const ZONE_ID = 'Z0123456789ABCDEFGHIJ';
const DKIM_OUTPUTS = ['DkimRecord1', 'DkimRecord2', 'DkimRecord3'];

/** The `ses:SendEmail` statements of a function's role, but those on the configuration set. */
function sendAsSender(synthesized: SynthesizedStack, service: string) {
  const properties = functionsByService(synthesized.template).get(service)?.properties;
  return statementsOfFunction(synthesized.template, properties).filter(
    (statement) =>
      [statement.Action].flat().includes('ses:SendEmail') &&
      !JSON.stringify(statement.Resource).includes(':configuration-set/'),
  );
}

function expectSendsOnlyAs(synthesized: SynthesizedStack, senderEmail: string): void {
  for (const service of ['send-feedback-email', 'daily-report']) {
    expect(sendAsSender(synthesized, service)).toEqual([
      expect.objectContaining({
        Action: 'ses:SendEmail',
        Effect: 'Allow',
        Condition: { StringEquals: { 'ses:FromAddress': senderEmail } },
        Resource: { 'Fn::Join': ['', expect.arrayContaining([':identity/*'])] },
      }),
    ]);
  }
}

function dkimOutputs(synthesized: SynthesizedStack): string[] {
  return Object.keys(synthesized.template.toJSON().Outputs ?? {}).filter((key) => key.startsWith('Dkim'));
}

describe('with senderIdentity=existing', () => {
  const context = {
    senderEmail: 'feedback@example.com',
    notifyEmail: 'owner@example.org',
    senderIdentity: 'existing',
  };
  let synthesized: SynthesizedStack;

  beforeAll(() => {
    synthesized = synthesize(context, { templateOnly: true });
  });

  it("creates no SES identity, neither the sender's nor the owner's", () => {
    synthesized.template.resourceCountIs('AWS::SES::EmailIdentity', 0);
    synthesized.template.resourceCountIs('AWS::Route53::RecordSet', 0);
    expect(dkimOutputs(synthesized)).toEqual([]);
  });

  it('still lets the worker and the report send only as the sender', () => {
    expectSendsOnlyAs(synthesized, context.senderEmail);
  });

  it('has no unacknowledged cdk-nag finding', () => {
    expect(nagViolations(synthesized.app)).toEqual([]);
  });
});

describe('with senderDomain and no hosted zone', () => {
  const context = {
    senderEmail: 'feedback@example.com',
    notifyEmail: 'owner@example.com',
    senderDomain: 'example.com',
  };
  let synthesized: SynthesizedStack;

  beforeAll(() => {
    synthesized = synthesize(context, { templateOnly: true });
  });

  it('creates one domain identity with Easy DKIM, which also covers the owner at that domain', () => {
    synthesized.template.resourceCountIs('AWS::SES::EmailIdentity', 1);
    synthesized.template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'example.com',
      DkimAttributes: { SigningEnabled: true },
      DkimSigningAttributes: { NextSigningKeyLength: 'RSA_2048_BIT' },
    });
    synthesized.template.resourceCountIs('AWS::Route53::RecordSet', 0);
  });

  it('outputs the three DKIM CNAMEs, saying where to add them', () => {
    expect(dkimOutputs(synthesized)).toEqual(DKIM_OUTPUTS);
    DKIM_OUTPUTS.forEach((key, index) => {
      synthesized.template.hasOutput(key, {
        Description: Match.stringLikeRegexp(
          `for example\\.com: add this CNAME .* at the domain's DNS provider`,
        ),
        Value: {
          'Fn::Join': [
            ' ',
            [
              {
                'Fn::GetAtt': [
                  Match.stringLikeRegexp('^SenderIdentitySenderDomain'),
                  `DkimDNSTokenName${index + 1}`,
                ],
              },
              'CNAME',
              {
                'Fn::GetAtt': [
                  Match.stringLikeRegexp('^SenderIdentitySenderDomain'),
                  `DkimDNSTokenValue${index + 1}`,
                ],
              },
            ],
          ],
        },
      });
    });
  });

  it('lets the worker and the report send only as the sender', () => {
    expectSendsOnlyAs(synthesized, context.senderEmail);
  });

  it('has no unacknowledged cdk-nag finding', () => {
    expect(nagViolations(synthesized.app)).toEqual([]);
  });
});

describe('with senderDomain and its hosted zone', () => {
  const context = {
    senderEmail: 'feedback@mail.example.com',
    notifyEmail: 'owner@example.org',
    senderDomain: 'example.com',
    hostedZoneId: ZONE_ID,
  };
  let synthesized: SynthesizedStack;

  beforeAll(() => {
    synthesized = synthesize(context, { templateOnly: true });
  });

  it('writes the three DKIM CNAMEs in that zone, and outputs none', () => {
    synthesized.template.resourceCountIs('AWS::Route53::RecordSet', 3);
    for (const index of [1, 2, 3]) {
      synthesized.template.hasResourceProperties('AWS::Route53::RecordSet', {
        HostedZoneId: ZONE_ID,
        Type: 'CNAME',
        Name: {
          'Fn::GetAtt': [Match.stringLikeRegexp('^SenderIdentitySenderDomain'), `DkimDNSTokenName${index}`],
        },
        ResourceRecords: [
          {
            'Fn::GetAtt': [
              Match.stringLikeRegexp('^SenderIdentitySenderDomain'),
              `DkimDNSTokenValue${index}`,
            ],
          },
        ],
      });
    }
    expect(dkimOutputs(synthesized)).toEqual([]);
  });

  it('verifies the domain, and the owner at another domain on their own', () => {
    synthesized.template.resourceCountIs('AWS::SES::EmailIdentity', 2);
    synthesized.template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'example.com',
      DkimAttributes: { SigningEnabled: true },
    });
    synthesized.template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: context.notifyEmail,
    });
  });

  it('lets the worker and the report send only as the sender, at its subdomain', () => {
    expectSendsOnlyAs(synthesized, context.senderEmail);
  });

  it('has no unacknowledged cdk-nag finding', () => {
    expect(nagViolations(synthesized.app)).toEqual([]);
  });
});

describe('without senderEmail', () => {
  it.each([
    [{ senderIdentity: 'existing' }, /an address SES has verified/],
    [{ senderDomain: 'example.org' }, /the From address, at example\.org/],
    [{ senderDomain: 'example.org', hostedZoneId: ZONE_ID }, /the From address, at example\.org/],
  ])('with %o, warns and refuses the deploy of the placeholder sender', (context, hint) => {
    const { stack, template } = synthesize(context, { templateOnly: true });
    Annotations.fromStack(stack).hasWarning('/ServerlessFeedback', Match.stringLikeRegexp(hint.source));
    template.hasParameter('PlaceholderSenderEmail', { Default: PLACEHOLDER_SENDER_EMAIL });
    expect(template.toJSON().Rules?.SenderEmailGiven?.Assertions).toEqual([
      expect.objectContaining({ AssertDescription: expect.stringMatching(hint) }),
    ]);
  });
});
