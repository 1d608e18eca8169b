import { Stack, type StackProps } from 'aws-cdk-lib';
import { CfnWebACL } from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import { clientRateLimit } from '../functions/config/settings.ts';
import { TOO_MANY_REQUESTS_BODY, tooManyRequestsPage } from '../functions/http/views.ts';
import { ConfigError } from './config.ts';

export interface WafStackProps extends StackProps {
  /** POSTs to the API from one IP per 5 minutes, at most (WAF's minimum is 10). */
  readonly rateLimit: number;
}

/** CloudFront's web ACLs live in us-east-1 (global scope), whatever the region of the rest. */
export const WAF_REGION = 'us-east-1';

/** The label the rate-based rule puts on a request over the limit; the answering rules match it. */
const RATE_LIMITED_LABEL = 'feedback:rate-limited';

/**
 * The opt-in per-client limit (context `wafRateLimit`): a web ACL for the CloudFront distribution with a
 * rate-based rule on POSTs to `/api/` per client IP. Only the submissions count: they are what sends email
 * and fills the queue, while a waiting page polls `GET /api/tasks/{id}` many times, and the page's files
 * are CloudFront's cache's to serve.
 *
 * The rate-based rule only counts and labels (its action can carry one answer); the two rules after it
 * block a labelled request with 429 and `Retry-After` — a page for a browser's navigation (the no-script
 * form), JSON for the rest — so one counter covers both. In its own stack because CloudFront's web ACLs
 * must be created in us-east-1; the site's stack reads the ARN through CDK's cross-region references.
 */
export class WafStack extends Stack {
  readonly webAcl: CfnWebACL;
  /** For the distribution's `webAclId`. */
  readonly webAclArn: string;

  constructor(scope: Construct, id: string, props: WafStackProps) {
    super(scope, id, props);
    const { rateLimit } = props;
    if (!Number.isInteger(rateLimit) || rateLimit < clientRateLimit.minRequests) {
      throw new Error(
        `The WAF rate limit must be an integer of at least ${clientRateLimit.minRequests}, got ${rateLimit}`,
      );
    }
    const retryAfter = {
      name: 'Retry-After',
      value: String(clientRateLimit.windowSeconds),
    };
    const noStore = { name: 'Cache-Control', value: 'no-store' };
    const visibility = (metricName: string): CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName,
      sampledRequestsEnabled: true,
    });
    const rateLimited: CfnWebACL.StatementProperty = {
      labelMatchStatement: { scope: 'LABEL', key: RATE_LIMITED_LABEL },
    };

    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'CLOUDFRONT',
      description: 'Serverless feedback: per-client limit on feedback submissions',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('FeedbackWebAcl'),
      customResponseBodies: {
        tooManyRequestsJson: {
          contentType: 'APPLICATION_JSON',
          content: JSON.stringify(TOO_MANY_REQUESTS_BODY),
        },
        tooManyRequestsHtml: {
          contentType: 'TEXT_HTML',
          content: tooManyRequestsPage(),
        },
      },
      rules: [
        {
          name: 'FeedbackPostsPerClient',
          priority: 0,
          action: { count: {} },
          ruleLabels: [{ name: RATE_LIMITED_LABEL }],
          statement: {
            rateBasedStatement: {
              limit: rateLimit,
              evaluationWindowSec: clientRateLimit.windowSeconds,
              aggregateKeyType: 'IP',
              scopeDownStatement: {
                andStatement: {
                  statements: [
                    {
                      byteMatchStatement: {
                        fieldToMatch: { method: {} },
                        positionalConstraint: 'EXACTLY',
                        searchString: 'POST',
                        textTransformations: [{ priority: 0, type: 'NONE' }],
                      },
                    },
                    {
                      byteMatchStatement: {
                        fieldToMatch: { uriPath: {} },
                        positionalConstraint: 'STARTS_WITH',
                        searchString: '/api/',
                        textTransformations: [{ priority: 0, type: 'NONE' }],
                      },
                    },
                  ],
                },
              },
            },
          },
          visibilityConfig: visibility('FeedbackPostsPerClient'),
        },
        {
          name: 'TooManyFeedbacksPage',
          priority: 1,
          action: {
            block: {
              customResponse: {
                responseCode: 429,
                customResponseBodyKey: 'tooManyRequestsHtml',
                responseHeaders: [retryAfter, noStore],
              },
            },
          },
          statement: {
            andStatement: {
              statements: [
                rateLimited,
                {
                  byteMatchStatement: {
                    fieldToMatch: { singleHeader: { Name: 'accept' } },
                    positionalConstraint: 'CONTAINS',
                    searchString: 'text/html',
                    textTransformations: [{ priority: 0, type: 'LOWERCASE' }],
                  },
                },
              ],
            },
          },
          visibilityConfig: visibility('TooManyFeedbacksPage'),
        },
        {
          name: 'TooManyFeedbacks',
          priority: 2,
          action: {
            block: {
              customResponse: {
                responseCode: 429,
                customResponseBodyKey: 'tooManyRequestsJson',
                responseHeaders: [retryAfter, noStore],
              },
            },
          },
          statement: rateLimited,
          visibilityConfig: visibility('TooManyFeedbacks'),
        },
      ],
    });
    this.webAclArn = this.webAcl.attrArn;
  }
}

/**
 * The explicit environment CDK's cross-region references need (the WAF stack in us-east-1, the site's
 * stack where it is deployed): the account and region the CDK CLI resolved from the credentials.
 *
 * @throws when either is unknown (synth without credentials or a profile): a web ACL cannot be wired then
 */
export function crossRegionAccount(variables: NodeJS.ProcessEnv = process.env): {
  account: string;
  region: string;
} {
  const account = variables.CDK_DEFAULT_ACCOUNT;
  const region = variables.CDK_DEFAULT_REGION;
  if (!account || !region) {
    throw new ConfigError(
      'Context wafRateLimit puts the web ACL in its own stack in us-east-1, which needs the account and region ' +
        'known at synth: run cdk with credentials or a profile (or set CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION).',
    );
  }
  return { account, region };
}
