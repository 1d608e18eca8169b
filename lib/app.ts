import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { STACK_NAME } from '../functions/commons/settings';
import { readConfig } from './config';
import { FeedbackStack } from './feedback-stack';

/**
 * The CDK app as `cdk synth` builds it (bin/app.ts) and as the stack tests build it: the context read and
 * validated, the one stack, and cdk-nag's AwsSolutions pack, whose every finding not acknowledged (with its
 * reason, on its resource) fails the synth.
 */
export function createApp(props?: AppProps): { app: App; stack: FeedbackStack } {
  const app = new App(props);
  const config = readConfig((key) => app.node.tryGetContext(key));
  const stack = new FeedbackStack(app, STACK_NAME, {
    description: 'Serverless feedback form: API Gateway, Lambda, SQS, SES, DynamoDB, S3 and CloudFront',
    config,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}
