import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, it } from 'vitest';
import { SenderIdentity } from '../../lib/constructs/sender-identity.ts';

function identities(props: { senderEmail: string; notifyEmail?: string }): Template {
  const stack = new Stack(new App(), 'Probe');
  new SenderIdentity(stack, 'SenderIdentity', props);
  return Template.fromStack(stack);
}

describe('SenderIdentity', () => {
  it('verifies the owner too when the owner is someone else', () => {
    identities({
      senderEmail: 'feedback@example.com',
      notifyEmail: 'owner@example.com',
    }).resourceCountIs('AWS::SES::EmailIdentity', 2);
  });

  it('verifies one identity when the owner is the sender, whatever the case of the address', () => {
    const template = identities({ senderEmail: 'feedback@example.com', notifyEmail: 'Feedback@Example.com' });
    template.resourceCountIs('AWS::SES::EmailIdentity', 1);
    template.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'feedback@example.com' });
  });
});
