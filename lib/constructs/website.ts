import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Aws, CfnCondition, Duration, Fn, RemovalPolicy, Stack, Stage, Validations } from 'aws-cdk-lib';
import {
  AllowedMethods,
  CachePolicy,
  type CfnDistribution,
  Distribution,
  Function as EdgeFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  OriginSslPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  S3OriginAccessControl,
  Signing,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import {
  LOG_RETENTION_DAYS,
  ORIGIN_VERIFY_HEADER,
  VIEWER_HOST_HEADER,
} from '../../functions/config/settings.ts';
import { nagPseudo } from '../nag.ts';
import {
  CONTENT_SECURITY_POLICY,
  FRAME_OPTIONS,
  REFERRER_POLICY,
  STRICT_TRANSPORT_SECURITY,
} from '../security-headers.ts';
import { buildSite } from '../site.ts';

/** Days CloudFront and S3 access logs are kept. */
const ACCESS_LOG_DAYS = 90;

/** Regions whose S3 buckets CloudFront cannot deliver standard (legacy) logs to: the deploy would fail. */
export const REGIONS_WITHOUT_CLOUDFRONT_LOGS = [
  'af-south-1',
  'ap-east-1',
  'ap-southeast-3',
  'eu-south-1',
  'me-south-1',
] as const;

const CLOUDFRONT_LOG_PREFIX = 'cloudfront/';

export interface WebsiteProps {
  /** The HTTP API's host name: `/api/*` goes there. */
  readonly apiDomainName: string;
  /** Sent to the API in `x-origin-verify`: its authorizer refuses requests without it. */
  readonly apiOriginSecret: string;
  /**
   * The ARN of a CloudFront web ACL (lib/waf-stack.ts, context `wafRateLimit`).
   * @default - no web ACL
   */
  readonly webAclArn?: string;
}

/**
 * The page on a private S3 bucket (read by CloudFront only, through origin access control) and the API
 * behind the same CloudFront distribution, so the page needs no CORS. Security headers on every answer
 * (lib/security-headers.ts, which the local gateway sends too).
 */
export class Website extends Construct {
  readonly bucket: Bucket;
  readonly logBucket: Bucket;
  readonly distribution: Distribution;
  readonly deployment: BucketDeployment;

  constructor(scope: Construct, id: string, props: WebsiteProps) {
    super(scope, id);

    // Demo setting: `cdk destroy` empties and deletes the buckets (a custom resource does the emptying).
    // For logs that must outlive the stack, use RemovalPolicy.RETAIN without autoDeleteObjects.
    this.logBucket = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // CloudFront's standard logs are delivered with an ACL grant.
      objectOwnership: ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ expiration: Duration.days(ACCESS_LOG_DAYS) }],
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 's3/',
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });

    // Account-wide names: with the region in them, a second region's stack does not collide (409).
    const namePrefix = `${Aws.STACK_NAME}-${Aws.REGION}`;
    // CloudFront passes the API its own Host (API Gateway routes by it); the visitor's goes in a header
    // of its own, set here whatever the request carried. $0.10 per million API requests.
    const viewerHost = new EdgeFunction(this, 'ViewerHost', {
      comment: 'Serverless feedback: the visitor host for the API same-origin check',
      runtime: FunctionRuntime.JS_2_0,
      code: FunctionCode.fromInline(
        `function handler(event) { var request = event.request; request.headers['${VIEWER_HOST_HEADER}'] = { value: request.headers.host.value }; return request; }`,
      ),
    });
    const securityHeaders = new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      responseHeadersPolicyName: `${namePrefix}-security-headers`,
      comment: 'Serverless feedback: CSP, HSTS, nosniff, no framing, same-origin referrer',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: CONTENT_SECURITY_POLICY, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.seconds(STRICT_TRANSPORT_SECURITY.maxAgeSeconds),
          includeSubdomains: STRICT_TRANSPORT_SECURITY.includeSubdomains,
          override: true,
        },
        // CloudFront's only value for it: `nosniff` (CONTENT_TYPE_OPTIONS).
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: enumMember(HeadersFrameOption, FRAME_OPTIONS), override: true },
        referrerPolicy: {
          referrerPolicy: enumMember(HeadersReferrerPolicy, REFERRER_POLICY),
          override: true,
        },
      },
    });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'Serverless feedback form',
      ...(props.webAclArn === undefined ? {} : { webAclId: props.webAclArn }),
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: CLOUDFRONT_LOG_PREFIX,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket, {
          originAccessControl: new S3OriginAccessControl(this, 'OriginAccessControl', {
            originAccessControlName: `${namePrefix}-site`,
            signing: Signing.SIGV4_ALWAYS,
          }),
        }),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: securityHeaders,
        compress: true,
      },
      additionalBehaviors: {
        '/api/*': {
          origin: new HttpOrigin(props.apiDomainName, {
            protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
            originSslProtocols: [OriginSslPolicy.TLS_V1_2],
            // Replaces any viewer header of that name.
            customHeaders: { [ORIGIN_VERIFY_HEADER]: props.apiOriginSecret },
          }),
          // A redirect would turn a form POST into a GET; the API answers over HTTPS only.
          viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: AllowedMethods.ALLOW_ALL,
          cachePolicy: CachePolicy.CACHING_DISABLED,
          // Host must be the API's own for API Gateway to route; the rest (Accept, Content-Type) matters.
          originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          responseHeadersPolicy: securityHeaders,
          // The visitor's host, for the submit's same-origin check of browsers without Sec-Fetch-Site.
          functionAssociations: [{ function: viewerHost, eventType: FunctionEventType.VIEWER_REQUEST }],
        },
      },
    });

    this.skipLoggingWhereUnsupported();

    const siteDir = join(Stage.of(this)?.outdir ?? '.', 'site');
    rmSync(siteDir, { recursive: true, force: true });
    buildSite(siteDir);
    this.deployment = new BucketDeployment(this, 'Deployment', {
      sources: [Source.asset(siteDir)],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: ['/*'],
      logGroup: new LogGroup(this, 'DeploymentLogs', {
        retention: LOG_RETENTION_DAYS,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });

    this.acknowledgeNagFindings();
  }

  /** The distribution logs in every region but those CloudFront cannot log to (decided at deploy). */
  private skipLoggingWhereUnsupported(): void {
    const unsupported = new CfnCondition(this, 'CloudFrontLogsUnsupported', {
      expression: Fn.conditionOr(
        ...REGIONS_WITHOUT_CLOUDFRONT_LOGS.map((region) => Fn.conditionEquals(Aws.REGION, region)),
      ),
    });
    (this.distribution.node.defaultChild as CfnDistribution).addPropertyOverride(
      'DistributionConfig.Logging',
      Fn.conditionIf(unsupported.logicalId, Aws.NO_VALUE, {
        Bucket: this.logBucket.bucketRegionalDomainName,
        IncludeCookies: false,
        Prefix: CLOUDFRONT_LOG_PREFIX,
      }),
    );
  }

  private acknowledgeNagFindings(): void {
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason: 'A feedback form open to visitors from every country; there is no country to exclude.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'WAF is opt-in (-c wafRateLimit=N, about $8 a month, see docs/security.md, "Abuse limits"): without it the API is throttled per stage, bodies and fields are limited, bots are caught by the honeypot, each address gets at most 3 autoresponses a day, and the static page is cached.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The distribution uses the default *.cloudfront.net certificate, for which CloudFront fixes the minimum protocol at TLSv1. Enforcing TLSv1.2 needs a custom domain with its own ACM certificate (minimumProtocolVersion), which this demo does not have.',
      },
    );

    // BucketDeployment's provider function is a singleton at the stack's root, written by aws-cdk-lib.
    const stack = Stack.of(this);
    const provider = stack.node.children.find((child) =>
      child.node.id.startsWith('Custom::CDKBucketDeployment'),
    );
    if (provider === undefined) return;
    const pseudo = nagPseudo(stack);
    const siteBucket = stack.getLogicalId(this.bucket.node.defaultChild as CfnBucket);
    const managedPolicy =
      'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';
    const copyReason =
      "aws-cdk-lib's BucketDeployment provider copies the page from the CDK assets bucket to the site bucket and invalidates CloudFront; its policy is generated by aws-cdk-lib, scoped to those two buckets (object-level wildcards) and to cloudfront:CreateInvalidation, which has no resource-level permissions.";
    Validations.of(provider).acknowledge(
      {
        id: 'AwsSolutions-L1',
        reason:
          'The runtime of the BucketDeployment provider function is chosen by aws-cdk-lib, not by this project.',
      },
      {
        id: `AwsSolutions-IAM4[${managedPolicy}]`,
        reason:
          "The BucketDeployment provider's role is created by aws-cdk-lib with AWSLambdaBasicExecutionRole (logs only).",
      },
      ...[
        'Action::s3:GetBucket*',
        'Action::s3:GetObject*',
        'Action::s3:List*',
        'Action::s3:Abort*',
        'Action::s3:DeleteObject*',
        `Resource::arn:${pseudo.partition}:s3:::cdk-hnb659fds-assets-${pseudo.account}-${pseudo.region}/*`,
        `Resource::<${siteBucket}.Arn>/*`,
        'Resource::*',
      ].map((finding) => ({ id: `AwsSolutions-IAM5[${finding}]`, reason: copyReason })),
    );
  }
}

/** The member of a CDK string enum whose value is `value`; synth fails on a value CloudFront does not know. */
function enumMember<T extends string>(members: Record<string, T>, value: string): T {
  const member = Object.values(members).find((candidate) => candidate === value);
  if (member === undefined) throw new Error(`Not a value CloudFront accepts: ${value}`);
  return member;
}
