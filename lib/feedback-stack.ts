import {
  Annotations,
  Aws,
  CfnOutput,
  CfnParameter,
  CfnRule,
  Duration,
  Fn,
  Stack,
  type StackProps,
  Token,
} from 'aws-cdk-lib';
import { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { ConfigError, type FeedbackConfig } from './config.ts';
import { AutoresponseBreaker } from './constructs/autoresponse-breaker.ts';
import { DailyReport } from './constructs/daily-report.ts';
import { EmailReputation } from './constructs/email-reputation.ts';
import { EmailWorker } from './constructs/email-worker.ts';
import { FeedbackApi } from './constructs/feedback-api.ts';
import { Monitoring } from './constructs/monitoring.ts';
import { SenderIdentity } from './constructs/sender-identity.ts';
import { TaskTable } from './constructs/task-table.ts';
import { Website } from './constructs/website.ts';
import { expireProviderLogs } from './provider-logs.ts';
import { NO_SES_MESSAGE, REGIONS_WITHOUT_SES } from './regions.ts';

export interface FeedbackStackProps extends StackProps {
  readonly config: FeedbackConfig;
  /**
   * The CloudFront web ACL's ARN (lib/waf-stack.ts), from another region: needs `crossRegionReferences`.
   * @default - no web ACL
   */
  readonly webAclArn?: string;
}

/**
 * The whole product on AWS: the page and the API behind one CloudFront distribution, the task table, the
 * queue with its worker and dead-letter queue, the SES identities (unless it uses existing ones), the
 * optional owner's daily report, and the alarms and dashboard. Environment-agnostic: it synthesizes
 * offline, with no lookups.
 */
export class FeedbackStack extends Stack {
  readonly sender: SenderIdentity;
  readonly tasks: TaskTable;
  readonly worker: EmailWorker;
  readonly api: FeedbackApi;
  readonly website: Website;
  readonly report?: DailyReport;
  readonly monitoring: Monitoring;
  readonly reputation: EmailReputation;
  readonly autoresponses: AutoresponseBreaker;

  constructor(scope: Construct, id: string, props: FeedbackStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.refuseRegionsWithoutSes();
    if (config.senderEmailIsPlaceholder) this.refusePlaceholderSender(config);

    this.sender = new SenderIdentity(this, 'SenderIdentity', {
      senderEmail: config.senderEmail,
      notifyEmail: config.notifyEmail,
      senderIdentity: config.senderIdentity,
      notifyIdentity: config.notifyIdentity,
      senderDomain: config.senderDomain,
      hostedZoneId: config.hostedZoneId,
    });
    this.tasks = new TaskTable(this, 'TaskTable', { dataRemoval: config.dataRemoval });
    this.worker = new EmailWorker(this, 'EmailWorker', {
      table: this.tasks.table,
      sender: this.sender,
      settings: config,
      sizing: config.worker,
    });
    this.api = new FeedbackApi(this, 'FeedbackApi', {
      table: this.tasks.table,
      queue: this.worker.queue,
      settings: config,
      rateLimit: config.apiRateLimit,
      burstLimit: config.apiBurstLimit,
      allowedOrigins: config.allowedOrigins,
    });
    this.website = new Website(this, 'Website', {
      apiDomainName: this.api.domainName,
      apiOriginSecret: this.api.originSecret,
      webAclArn: props.webAclArn,
    });
    if (config.notifyEmail !== undefined) {
      this.report = new DailyReport(this, 'DailyReport', {
        table: this.tasks.table,
        deadLetterQueue: this.worker.deadLetterQueue,
        sender: this.sender,
        settings: config,
        schedule: config.reportSchedule,
      });
    }
    this.monitoring = new Monitoring(this, 'Monitoring', {
      httpApi: this.api.httpApi,
      queue: this.worker.queue,
      deadLetterQueue: this.worker.deadLetterQueue,
      visibilityTimeout: Duration.seconds(config.worker.visibilityTimeoutSeconds),
      worker: this.worker.function,
      apiFunctions: [this.api.submitFeedback, this.api.getTask],
      failedReports: this.report?.failedReports,
      alarmEmail: config.alarmEmail,
    });
    this.reputation = new EmailReputation(this, 'EmailReputation', {
      table: this.tasks.table,
      alarmTopic: this.monitoring.topic,
    });
    this.reputation.useForSending(this.worker.function);
    if (this.report) this.reputation.sendThrough(this.report.function);
    this.autoresponses = new AutoresponseBreaker(this, 'Autoresponses', {
      addressValidation: config.addressValidation,
      reputation: this.reputation,
      sender: this.sender,
      notifyEmail: config.notifyEmail,
      alarmTopic: this.monitoring.topic,
    });
    this.autoresponses.useForAutoresponses(this.worker.function);
    this.monitoring.showAlarms(this.node.findAll().filter((node): node is Alarm => node instanceof Alarm));
    expireProviderLogs(this);

    new CfnOutput(this, 'SiteUrl', {
      description: 'The feedback page',
      value: `https://${this.website.distribution.distributionDomainName}`,
    });
    new CfnOutput(this, 'ApiUrl', {
      description:
        'The HTTP API itself; it answers only requests through CloudFront (use the site URL under /api/)',
      value: this.api.stage.url,
    });
    new CfnOutput(this, 'TasksTableName', { value: this.tasks.table.tableName });
    new CfnOutput(this, 'ConfigurationSetName', {
      description: "The SES configuration set of the owner's emails (notifications, daily report)",
      value: this.reputation.configurationSetName,
    });
    new CfnOutput(this, 'AutoresponseConfigurationSetName', {
      description:
        "The SES configuration set of the visitors' autoresponses: validated by SES, paused by the breaker (npm run autoresponses)",
      value: this.autoresponses.configurationSetName,
    });
    new CfnOutput(this, 'FeedbackQueueUrl', { value: this.worker.queue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.worker.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.monitoring.dashboard.dashboardName}`,
    });
    this.outputDnsRecordsToAdd(config.senderDomain);
  }

  /**
   * The DKIM CNAMEs of a domain without a hosted zone given, one output each, written as in a zone file:
   * SES verifies the domain, and signs its mail, only once all three resolve.
   */
  private outputDnsRecordsToAdd(domain: string | undefined): void {
    const records = this.sender.dnsRecordsToAdd;
    records.forEach((record, index) => {
      new CfnOutput(this, `DkimRecord${index + 1}`, {
        description: `DKIM record ${index + 1} of ${records.length} for ${domain}: add this CNAME (name CNAME value) at the domain's DNS provider; SES verifies the domain and signs its mail once all ${records.length} resolve`,
        value: Fn.join(' ', [record.name, 'CNAME', record.value]),
      });
    });
  }

  /**
   * SES's resource types do not exist in some Regions. A Region known at synth (with `wafRateLimit`) is
   * refused at once; the environment-agnostic template carries a rule on `AWS::Region`, which
   * CloudFormation checks before it creates anything.
   */
  private refuseRegionsWithoutSes(): void {
    const regions: readonly string[] = REGIONS_WITHOUT_SES;
    if (!Token.isUnresolved(this.region) && regions.includes(this.region)) {
      throw new ConfigError(`Region ${this.region}: ${NO_SES_MESSAGE}`);
    }
    new CfnRule(this, 'RegionHasSes', {
      assertions: [
        {
          assert: Fn.conditionNot(Fn.conditionContains([...regions], Aws.REGION)),
          assertDescription: NO_SES_MESSAGE,
        },
      ],
    });
  }

  /**
   * Synth without `senderEmail` is fine (tests, cdk-nag, a look at the template) and only warns; a deploy
   * would send as an address nobody can verify (and replace the verified identity, if the stack owns one),
   * so every send would fail. A rule refuses it: CloudFormation checks rules before it changes anything,
   * synth never does. Its parameter exists only in such a template, so no deployed stack holds a value that
   * `cdk deploy` could reuse.
   */
  private refusePlaceholderSender(config: FeedbackConfig): void {
    const placeholder = config.senderEmail;
    const hint = `Deploy with -c senderEmail=you@example.com (${senderAddressHint(config)}), or keep it in cdk.json's "context".`;
    Annotations.of(this).addWarningV2(
      'serverless-feedback:senderEmail',
      `No senderEmail given: synthesized with the placeholder ${placeholder}, which SES cannot verify; deploying this template fails. ${hint}`,
    );
    const sender = new CfnParameter(this, 'PlaceholderSenderEmail', {
      type: 'String',
      default: placeholder,
      description: 'Set only when synthesized without -c senderEmail; its presence makes the deploy fail.',
    });
    new CfnRule(this, 'SenderEmailGiven', {
      assertions: [
        {
          assert: Fn.conditionNot(Fn.conditionEquals(sender.valueAsString, placeholder)),
          assertDescription: `No senderEmail: this template would send as ${placeholder}, which SES cannot verify. ${hint}`,
        },
      ],
    });
  }
}

/** What the sender's address must be, in the placeholder's warning: it depends on where its identity comes from. */
function senderAddressHint({ senderIdentity, senderDomain }: FeedbackConfig): string {
  if (senderIdentity === 'existing') return 'an address SES has verified, or one at a domain it has verified';
  if (senderDomain !== undefined) return `the From address, at ${senderDomain} or one of its subdomains`;
  return 'an address you can read: SES mails it a verification link';
}
