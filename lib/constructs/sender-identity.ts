import { Stack, Validations } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { EmailIdentity, Identity } from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import { nagPseudo } from '../nag.ts';

export interface SenderIdentityProps {
  /** The address the emails come from; SES mails it a verification link on deploy. */
  readonly senderEmail: string;
  /**
   * The site owner's address (issue 8). In the SES sandbox only verified addresses receive mail, so it gets
   * its own identity (and verification link) unless it is the sender itself.
   * @default - no owner identity
   */
  readonly notifyEmail?: string;
}

/**
 * The SES identities of the product, and the one way to let a function send as the sender.
 */
export class SenderIdentity extends Construct {
  readonly identity: EmailIdentity;
  readonly senderEmail: string;
  /** The IAM resource the send permission names; acknowledged in cdk-nag by its exact text. */
  readonly sendResourceArn: string;

  constructor(scope: Construct, id: string, props: SenderIdentityProps) {
    super(scope, id);
    this.senderEmail = props.senderEmail;
    this.identity = new EmailIdentity(this, 'Sender', { identity: Identity.email(props.senderEmail) });
    if (
      props.notifyEmail !== undefined &&
      props.notifyEmail.toLowerCase() !== props.senderEmail.toLowerCase()
    ) {
      new EmailIdentity(this, 'Owner', { identity: Identity.email(props.notifyEmail) });
    }
    this.sendResourceArn = Stack.of(this).formatArn({
      service: 'ses',
      resource: 'identity',
      resourceName: '*',
    });
  }

  /**
   * Lets `grantee` call `ses:SendEmail` with the sender address as `Source`, and nothing else.
   *
   * Not `identity.grantSendEmail()`, whose policy names only the sender's ARN: in the SES sandbox (where
   * every new account starts) SES also authorizes the send against each recipient's identity, since only
   * verified addresses receive mail there, so that policy is denied for every recipient. The resource is
   * therefore this account's and region's identities, and the `ses:FromAddress` condition keeps the
   * function from sending as anyone but the sender.
   */
  grantSendEmail(grantee: IGrantable): void {
    const principal = grantee.grantPrincipal;
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [this.sendResourceArn],
        conditions: { StringEquals: { 'ses:FromAddress': this.senderEmail } },
      }),
    );
    if (principal instanceof Construct) {
      const { partition, region, account } = nagPseudo(Stack.of(this));
      Validations.of(principal).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:${partition}:ses:${region}:${account}:identity/*]`,
        reason:
          "ses:SendEmail only, conditioned on ses:FromAddress = the sender's address. The resource must cover the recipients' identities because the SES sandbox authorizes each send against them too.",
      });
    }
  }
}
