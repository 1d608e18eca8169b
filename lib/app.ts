import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { STACK_NAME } from '../functions/config/settings.ts';
import { FeedbackChecks } from './checks.ts';
import { readConfig } from './config.ts';
import { FeedbackStack } from './feedback-stack.ts';
import { crossRegionAccount, WAF_REGION, WafStack } from './waf-stack.ts';

/**
 * The CDK app as `cdk synth` builds it (bin/app.ts) and as the stack tests build it: the context read and
 * validated, the stack (and the WAF's, with `wafRateLimit`), and two cdk-nag packs, AwsSolutions and the
 * project's own invariants (lib/checks.ts), whose every finding not acknowledged (with its reason, on its
 * resource) fails the synth.
 */
export function createApp(props?: AppProps): { app: App; stack: FeedbackStack; waf?: WafStack } {
  const app = new App(props);
  const config = readConfig((key) => app.node.tryGetContext(key));
  let waf: WafStack | undefined;
  let wafProps = {};
  if (config.wafRateLimit !== undefined) {
    // CloudFront's web ACLs live in us-east-1: a stack of their own there, its ARN read by the site's stack
    // through CDK's cross-region references, which need both stacks' account and region explicit.
    const { account, region } = crossRegionAccount();
    waf = new WafStack(app, `${STACK_NAME}Waf`, {
      description: 'Serverless feedback form: the per-client limit (AWS WAF for CloudFront)',
      env: { account, region: WAF_REGION },
      crossRegionReferences: true,
      rateLimit: config.wafRateLimit,
    });
    wafProps = { env: { account, region }, crossRegionReferences: true, webAclArn: waf.webAclArn };
  }
  const stack = new FeedbackStack(app, STACK_NAME, {
    description: 'Serverless feedback form: API Gateway, Lambda, SQS, SES, DynamoDB, S3 and CloudFront',
    config,
    ...wafProps,
  });
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true }),
    new FeedbackChecks(app, { verbose: true }),
  );
  return waf === undefined ? { app, stack } : { app, stack, waf };
}
