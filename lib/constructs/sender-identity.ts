import { Stack, Validations } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { PublicHostedZone } from 'aws-cdk-lib/aws-route53';
import {
  DkimIdentity,
  type DkimRecord,
  EasyDkimSigningKeyLength,
  EmailIdentity,
  Identity,
} from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import { isAddressAtDomain, type SenderIdentityMode } from '../config.ts';
import { nagPseudo } from '../nag.ts';

export interface SenderIdentityProps {
  /** The address the emails come from; with an identity of its own, SES mails it a verification link on deploy. */
  readonly senderEmail: string;
  /**
   * The site owner's address. In the SES sandbox only verified identities receive mail, so it gets its own
   * identity (and verification link) unless the sender's covers it: it is the sender, or at `senderDomain`.
   * @default - no owner identity
   */
  readonly notifyEmail?: string;
  /**
   * `existing`: an identity already verified in SES covers the sender, and this construct creates none for
   * it (`senderDomain` and `hostedZoneId` go unused: the config refuses them with it). CloudFormation cannot
   * create an identity that exists, and would delete on destroy one it created, which may sign the owner's
   * other mail.
   * @default 'create'
   */
  readonly senderIdentity?: SenderIdentityMode;
  /**
   * The same for the owner's address: `existing` when `notifyEmail` is verified in SES already (sandbox
   * users verify the addresses they test with), so that the deploy does not fail on `AlreadyExists`.
   * @default - senderIdentity's mode
   */
  readonly notifyIdentity?: SenderIdentityMode;
  /**
   * A domain to verify, with Easy DKIM, instead of the sender's address: SES then signs the mail with a key
   * of the From domain, which DMARC and the large mailbox providers want to see.
   * @default - an identity of `senderEmail` alone, whose mail SES signs for amazonses.com only
   */
  readonly senderDomain?: string;
  /**
   * The id of the Route 53 public hosted zone named `senderDomain`: the three DKIM CNAMEs are written there.
   * @default - no DNS records; {@link SenderIdentity.dnsRecordsToAdd} lists them for the domain's DNS provider
   */
  readonly hostedZoneId?: string;
}

/**
 * The SES identities of the product, and the one way to let a function send as the sender.
 */
export class SenderIdentity extends Construct {
  /** The sender's identity (its address's or its domain's), unless an existing one is used. */
  readonly identity?: EmailIdentity;
  readonly senderEmail: string;
  /** The DKIM CNAMEs the owner adds at the DNS provider: `senderDomain`'s when no hosted zone is given. */
  readonly dnsRecordsToAdd: DkimRecord[];
  /** The IAM resource the send permission names; acknowledged in cdk-nag by its exact text. */
  readonly sendResourceArn: string;

  constructor(scope: Construct, id: string, props: SenderIdentityProps) {
    super(scope, id);
    this.senderEmail = props.senderEmail;
    const { senderDomain, hostedZoneId, notifyEmail } = props;
    const senderIdentity = props.senderIdentity ?? 'create';
    if (senderIdentity === 'existing') {
      this.dnsRecordsToAdd = [];
    } else {
      this.identity =
        senderDomain === undefined
          ? new EmailIdentity(this, 'Sender', { identity: Identity.email(props.senderEmail) })
          : this.verifyDomain(senderDomain, hostedZoneId);
      this.dnsRecordsToAdd =
        senderDomain !== undefined && hostedZoneId === undefined ? this.identity.dkimRecords : [];
    }
    const ownerIsCovered =
      senderIdentity === 'create' && notifyEmail !== undefined && coversOwner(props, notifyEmail);
    if (
      notifyEmail !== undefined &&
      (props.notifyIdentity ?? senderIdentity) === 'create' &&
      !ownerIsCovered
    ) {
      new EmailIdentity(this, 'Owner', { identity: Identity.email(notifyEmail) });
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

  /**
   * The domain's identity with Easy DKIM; given its hosted zone (imported by id and name: no lookup, so
   * synth stays offline), CDK writes the three CNAMEs there.
   */
  private verifyDomain(domain: string, hostedZoneId: string | undefined): EmailIdentity {
    const identity =
      hostedZoneId === undefined
        ? Identity.domain(domain)
        : Identity.publicHostedZone(
            PublicHostedZone.fromPublicHostedZoneAttributes(this, 'HostedZone', {
              hostedZoneId,
              zoneName: domain,
            }),
          );
    // SES's defaults, spelled out so that the template shows the signing and its key length.
    return new EmailIdentity(this, 'SenderDomain', {
      identity,
      dkimSigning: true,
      dkimIdentity: DkimIdentity.easyDkim(EasyDkimSigningKeyLength.RSA_2048_BIT),
    });
  }
}

/** Whether the sender's identity lets the owner's address receive mail in the sandbox already. */
function coversOwner(props: SenderIdentityProps, notifyEmail: string): boolean {
  return props.senderDomain === undefined
    ? notifyEmail.toLowerCase() === props.senderEmail.toLowerCase()
    : isAddressAtDomain(notifyEmail, props.senderDomain);
}
