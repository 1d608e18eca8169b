import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from '../lib/config';
import { FeedbackStack, STACK_ID } from '../lib/feedback-stack';

const app = new App();
const config = readConfig((key) => app.node.tryGetContext(key));
new FeedbackStack(app, STACK_ID, {
  description: 'Serverless feedback form: API Gateway, Lambda, SQS, SES, DynamoDB, S3 and CloudFront',
  config,
});
// Any finding not acknowledged (with its reason, on its resource) fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
