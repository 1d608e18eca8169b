import { type Stack, Token } from 'aws-cdk-lib';

/**
 * A stack's partition, region and account as cdk-nag writes them in a finding's id: `<AWS::Region>` in an
 * environment-agnostic stack, the literal value in one with an explicit environment (the site's stack
 * gets one with `wafRateLimit`, for the cross-region reference). An acknowledgment must name the finding
 * exactly, so those of ARNs built from the stack's environment are built with these.
 */
export function nagPseudo(stack: Stack): { partition: string; region: string; account: string } {
  const name = (value: string, parameter: string) =>
    Token.isUnresolved(value) ? `<AWS::${parameter}>` : value;
  return {
    partition: name(stack.partition, 'Partition'),
    region: name(stack.region, 'Region'),
    account: name(stack.account, 'AccountId'),
  };
}
