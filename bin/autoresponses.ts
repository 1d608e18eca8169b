/**
 * `npm run autoresponses [-- --resume] [-- --aws [--stack NAME]]`: whether the visitors' autoresponses
 * are being sent or paused by the circuit breaker, and their bounce and complaint rates beside the
 * breaker's levels and AWS's; `--resume` sends them again (SES's UpdateConfigurationSetSendingEnabled on
 * the autoresponses' configuration set alone). The local stack by default (its rates as its breaker
 * counts them); a deployed stack with `--aws` (SES's reputation metrics of the set, from CloudWatch).
 */
import { parseArgs } from 'node:util';
import { SESClient } from '@aws-sdk/client-ses';
import { autoresponseBreaker, STACK_NAME, sesReviewLevels } from '../functions/config/settings.ts';
import { isSendingEnabled, setSendingEnabled } from '../functions/email/pause.ts';
import type { LocalReputation } from '../lib/local/breaker.ts';
import { REPUTATION_PATH } from '../lib/local/emulators.ts';
import { LOCAL_CLIENT_CONFIG, localResourceNames } from '../lib/local/resources.ts';
import { explain, localEndpoints, readStackOutputs, UsageError } from '../lib/tools/cli.ts';

const { values } = parseArgs({
  options: { resume: { type: 'boolean' }, aws: { type: 'boolean' }, stack: { type: 'string' } },
});

/** The rates, as fractions; undefined when SES has published none yet. */
interface Rates {
  bounceRate: number | undefined;
  complaintRate: number | undefined;
}

/** The autoresponses' configuration set of one target, and how to read its rates. */
interface Autoresponses {
  description: string;
  configurationSet: string;
  ses: SESClient;
  rates(): Promise<Rates>;
}

async function localTarget(): Promise<Autoresponses> {
  const { ses } = localEndpoints();
  return {
    description: 'the local stack',
    configurationSet: localResourceNames.autoresponseConfigurationSet,
    ses: new SESClient({ ...LOCAL_CLIENT_CONFIG, endpoint: ses }),
    async rates() {
      const reputation = (await (await fetch(`${ses}${REPUTATION_PATH}`)).json()) as LocalReputation;
      const measured = reputation.sent >= autoresponseBreaker.localMinimumVolume;
      return {
        bounceRate: measured ? reputation.bounceRate : undefined,
        complaintRate: measured ? reputation.complaintRate : undefined,
      };
    },
  };
}

async function awsTarget(stackName: string): Promise<Autoresponses> {
  const { AutoresponseConfigurationSetName: configurationSet } = await readStackOutputs(stackName);
  if (!configurationSet)
    throw new UsageError(`Stack ${stackName} has no output AutoresponseConfigurationSetName`);
  return {
    description: `stack ${stackName}`,
    configurationSet,
    ses: new SESClient({}),
    async rates() {
      // Only `--aws` needs it: the local path goes without loading it.
      const { CloudWatchClient, GetMetricDataCommand } = await import('@aws-sdk/client-cloudwatch');
      const cloudWatch = new CloudWatchClient({});
      const query = (id: string, metricName: string) => ({
        Id: id,
        MetricStat: {
          Metric: {
            Namespace: 'AWS/SES',
            MetricName: metricName,
            Dimensions: [{ Name: 'ses:configuration-set', Value: configurationSet }],
          },
          Period: autoresponseBreaker.periodMinutes * 60,
          Stat: 'Maximum',
        },
      });
      try {
        const now = Date.now();
        const { MetricDataResults = [] } = await cloudWatch.send(
          new GetMetricDataCommand({
            StartTime: new Date(now - 24 * 3600 * 1000),
            EndTime: new Date(now),
            // The newest value first: the rate SES holds now.
            ScanBy: 'TimestampDescending',
            MetricDataQueries: [
              query('bounce', 'Reputation.BounceRate'),
              query('complaint', 'Reputation.ComplaintRate'),
            ],
          }),
        );
        const latest = (id: string) => MetricDataResults.find((result) => result.Id === id)?.Values?.[0];
        return { bounceRate: latest('bounce'), complaintRate: latest('complaint') };
      } finally {
        cloudWatch.destroy();
      }
    },
  };
}

function percent(rate: number): string {
  return `${Number((rate * 100).toFixed(3))} %`;
}

function rateLine(name: string, rate: number | undefined, breaker: number, review: number): string {
  const value = rate === undefined ? 'none yet' : percent(rate);
  const flag = rate !== undefined && rate > breaker ? '   over the breaker’s level' : '';
  return `  ${name.padEnd(15)} ${value.padEnd(9)} (the breaker pauses over ${percent(breaker)}, AWS reviews the account at ${percent(review)})${flag}`;
}

let target: Autoresponses | undefined;
try {
  target = values.aws || values.stack ? await awsTarget(values.stack ?? STACK_NAME) : await localTarget();
  const { ses, configurationSet, description } = target;
  if (values.resume) {
    await setSendingEnabled(ses, configurationSet, true);
    console.log(`Resumed: the autoresponses of ${description} are sent again.`);
  }
  const [enabled, rates] = await Promise.all([isSendingEnabled(ses, configurationSet), target.rates()]);
  console.log(
    [
      `Autoresponses of ${description} (configuration set ${configurationSet}): ${enabled ? 'sent' : 'PAUSED by the breaker; feedback still reaches the owner'}`,
      rateLine('bounce rate', rates.bounceRate, autoresponseBreaker.bounceRate, sesReviewLevels.bounceRate),
      rateLine(
        'complaint rate',
        rates.complaintRate,
        autoresponseBreaker.complaintRate,
        sesReviewLevels.complaintRate,
      ),
    ].join('\n'),
  );
  const over =
    (rates.bounceRate ?? 0) > autoresponseBreaker.bounceRate ||
    (rates.complaintRate ?? 0) > autoresponseBreaker.complaintRate;
  if (enabled && over) {
    console.log(
      'The rates are still over the breaker’s levels: its alarm stays on and pauses again only once they have\n' +
        'fallen under them and risen again. Watch them, and stop the cause first (docs/operating.md).',
    );
  } else if (!enabled) {
    console.log(`Once the cause is stopped: npm run autoresponses -- --resume${values.aws ? ' --aws' : ''}`);
  }
} catch (error) {
  const text = explain(error, undefined);
  console.error(
    !values.aws && /ECONNREFUSED|fetch failed/i.test(text)
      ? `The local stack is not running: nothing answers at ${localEndpoints().ses} (SES). Start it with \`npm start\`, or use --aws.`
      : text,
  );
  process.exitCode = 1;
} finally {
  target?.ses.destroy();
}
