/**
 * The AWS Regions where SES's CloudFormation resource types (`AWS::SES::*`: the identities and the
 * configuration set) do not exist, so a deploy there would fail halfway.
 *
 * Checked on 2026-12-07 against the AWS General Reference, "Amazon Simple Email Service endpoints and
 * quotas" (https://docs.aws.amazon.com/general/latest/gr/ses.html: no SES endpoint in these Regions), and
 * cfn-lint 1.51.5's per-Region resource schemas (rule E3006: the resource type is not available there).
 * AWS adds Regions and services: check both sources again before trusting this list in a new Region.
 */
export const REGIONS_WITHOUT_SES = [
  'ap-east-1',
  'ap-east-2',
  'ap-southeast-4',
  'ap-southeast-6',
  'ap-southeast-7',
  'eu-south-2',
  'mx-central-1',
] as const;

/** Why the deploy refuses those Regions: CloudFormation shows it as the rule's failure message. */
export const NO_SES_MESSAGE =
  'Amazon SES is not available in this Region (no SES endpoint, no AWS::SES resource types): deploy to a Region with SES, for example us-east-1 or eu-west-1 (see docs/operating.md#regions).';
