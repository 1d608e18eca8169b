import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { SenderIdentity, type SenderIdentityProps } from '../../lib/constructs/sender-identity.ts';

const ZONE_ID = 'Z0123456789ABCDEFGHIJ';

function identities(props: SenderIdentityProps): { template: Template; sender: SenderIdentity } {
  const stack = new Stack(new App(), 'Probe');
  const sender = new SenderIdentity(stack, 'SenderIdentity', props);
  return { template: Template.fromStack(stack), sender };
}

describe('SenderIdentity', () => {
  it('verifies the owner too when the owner is someone else', () => {
    identities({
      senderEmail: 'feedback@example.com',
      notifyEmail: 'owner@example.com',
    }).template.resourceCountIs('AWS::SES::EmailIdentity', 2);
  });

  it('verifies one identity when the owner is the sender, whatever the case of the address', () => {
    const { template } = identities({
      senderEmail: 'feedback@example.com',
      notifyEmail: 'Feedback@Example.com',
    });
    template.resourceCountIs('AWS::SES::EmailIdentity', 1);
    template.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'feedback@example.com' });
  });

  it("creates no identity with an existing one, not even the owner's", () => {
    const { template, sender } = identities({
      senderEmail: 'feedback@example.com',
      notifyEmail: 'owner@example.org',
      senderIdentity: 'existing',
    });
    template.resourceCountIs('AWS::SES::EmailIdentity', 0);
    expect(sender.identity).toBeUndefined();
    expect(sender.dnsRecordsToAdd).toEqual([]);
  });

  it("creates the sender's identity but not the owner's when the owner's address is verified already", () => {
    const { template, sender } = identities({
      senderEmail: 'feedback@example.com',
      notifyEmail: 'owner@example.org',
      notifyIdentity: 'existing',
    });
    template.resourceCountIs('AWS::SES::EmailIdentity', 1);
    template.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'feedback@example.com' });
    expect(sender.identity).toBeDefined();
  });

  it("creates only the owner's identity when the sender's exists and the owner's does not", () => {
    const { template } = identities({
      senderEmail: 'feedback@example.com',
      notifyEmail: 'owner@example.org',
      senderIdentity: 'existing',
      notifyIdentity: 'create',
    });
    template.resourceCountIs('AWS::SES::EmailIdentity', 1);
    template.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'owner@example.org' });
  });

  it('verifies the domain with Easy DKIM, and lists its three records when no hosted zone is given', () => {
    const { template, sender } = identities({
      senderEmail: 'feedback@example.com',
      senderDomain: 'example.com',
    });
    template.resourceCountIs('AWS::SES::EmailIdentity', 1);
    template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'example.com',
      DkimAttributes: { SigningEnabled: true },
      DkimSigningAttributes: { NextSigningKeyLength: 'RSA_2048_BIT' },
    });
    template.resourceCountIs('AWS::Route53::RecordSet', 0);
    expect(sender.dnsRecordsToAdd).toHaveLength(3);
  });

  it("writes the three DKIM CNAMEs in the domain's hosted zone, and lists none", () => {
    const { template, sender } = identities({
      senderEmail: 'feedback@example.com',
      senderDomain: 'example.com',
      hostedZoneId: ZONE_ID,
    });
    const records = template.findResources('AWS::Route53::RecordSet', {
      Properties: {
        HostedZoneId: ZONE_ID,
        Type: 'CNAME',
        Name: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SenderIdentitySenderDomain'), Match.anyValue()] },
      },
    });
    expect(Object.keys(records)).toHaveLength(3);
    template.resourceCountIs('AWS::Route53::RecordSet', 3);
    expect(sender.dnsRecordsToAdd).toEqual([]);
  });

  it.each([
    ['at the domain', 'owner@example.com', 1],
    ['at a subdomain', 'Owner@Mail.Example.com', 1],
    ['at another domain', 'owner@example.org', 2],
    ['at a domain that merely ends alike', 'owner@notexample.com', 2],
  ])('verifies an owner %s only when the domain does not cover it', (_case, notifyEmail, count) => {
    identities({
      senderEmail: 'feedback@example.com',
      senderDomain: 'example.com',
      notifyEmail,
    }).template.resourceCountIs('AWS::SES::EmailIdentity', count);
  });
});
