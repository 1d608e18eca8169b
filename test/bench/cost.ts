/**
 * Cost per million submissions on AWS, from the stack's own settings, the benchmark's measured
 * durations and the public list prices in prices.json (dated). Infrastructure, SES's sending and SES's
 * address validation of the autoresponses are kept apart: at $0.10 per thousand emails, sending is most of
 * the bill without validation; at the price list's $0.01 per recipient validated, validation is most with it.
 */
import { apiFunction, consumer } from '../../functions/config/settings.ts';
import { pollDelayMs } from '../../static/task-status.ts';
import prices from './prices.json' with { type: 'json' };

export interface CostInputs {
  /** Simulated work per task, seconds (the worker is billed for it). */
  workSeconds: number;
  /** Measured duration of one submit invocation, ms. */
  submitMs: number;
  /** Measured duration of one status invocation, ms. */
  getTaskMs: number;
  /** Measured worker time per task beyond the simulated work, ms. */
  workerOverheadMs: number;
  /** Emails per task: 1, or 2 with the owner notification. */
  emailsPerTask: number;
  /**
   * SES's Auto Validation of the visitor's address (`addressValidation` other than `off`): one recipient
   * validated per task (the autoresponse; the owner's set is not validated).
   */
  addressValidation: boolean;
}

export interface CostBreakdown {
  /** Status polls the page makes for one task before it sees SUCCESS. */
  statusPolls: number;
  lines: Record<string, number>;
  infrastructure: number;
  ses: number;
  /** SES's Auto Validation of the autoresponses' addresses (0 with `addressValidation=off`). */
  validation: number;
  total: number;
}

/** How many polls the page's backoff makes until `seconds` have passed (it stops at SUCCESS). */
export function pollsUntil(seconds: number): number {
  let elapsed = 0;
  let polls = 0;
  while (elapsed < seconds * 1000) {
    elapsed += pollDelayMs(polls);
    polls += 1;
  }
  return polls;
}

const MILLION = 1_000_000;
/** Lambda bills per 1 ms. */
const billedMs = (ms: number) => Math.max(1, Math.ceil(ms));
const gbSeconds = (memoryMb: number, ms: number) => (memoryMb / 1024) * (billedMs(ms) / 1000);

/** USD per million submissions, line by line. */
export function costPerMillion(inputs: CostInputs): CostBreakdown {
  // The page polls until the task is done: the work plus about a second of queueing and sending.
  const statusPolls = pollsUntil(inputs.workSeconds + 1);
  const apiRequests = 1 + statusPolls;
  // Each page view loads index.html, app.js, styles.css and the icon through CloudFront.
  const cloudFrontRequests = 4 + apiRequests;
  const workerMs = inputs.workSeconds * 1000 + inputs.workerOverheadMs;

  // Each email's SES event (its delivery) goes through the email-event queue to record-email-event for
  // one conditional write: billed like a status read, one DynamoDB call each. Assumed one event per
  // batch, as at a form's traffic: a burst fills batches of up to 10, which share an invocation, a
  // receive and a delete. SES's events on the default event bus are free.
  const emailEvents = inputs.emailsPerTask;

  const lines: Record<string, number> = {
    'Lambda requests': ((1 + statusPolls + 1 + emailEvents) * prices.lambda.requestsPerMillionUsd) / MILLION,
    'Lambda compute (submit)':
      gbSeconds(apiFunction.memoryMb, inputs.submitMs) * prices.lambda.arm64GbSecondUsd,
    'Lambda compute (status polls)':
      statusPolls * gbSeconds(apiFunction.memoryMb, inputs.getTaskMs) * prices.lambda.arm64GbSecondUsd,
    'Lambda compute (worker)': gbSeconds(consumer.memoryMb, workerMs) * prices.lambda.arm64GbSecondUsd,
    'Lambda compute (email events)':
      emailEvents * gbSeconds(apiFunction.memoryMb, inputs.getTaskMs) * prices.lambda.arm64GbSecondUsd,
    'API Gateway (HTTP API)': (apiRequests * prices.apiGatewayHttp.requestsPerMillionUsd) / MILLION,
    CloudFront: (cloudFrontRequests * prices.cloudFront.httpsRequestsPer10kUsd) / 10_000,
    // The feedback message's SendMessage, the event source's ReceiveMessage and DeleteMessage; the same
    // three for each SES event (EventBridge's SendMessage, then the receive and the delete). The event
    // sources' empty polls are a fixed cost.
    SQS: (3 * (1 + emailEvents) * prices.sqs.standardRequestsPerMillionUsd) / MILLION,
    // Writes: the record and its mark that it is queued, the claim, the autoresponse limit's counter and
    // its mark on the task, the lease renewal before each email, each email's state and its delivery
    // event, SUCCESS, and the two day counters. Reads: one strongly consistent read per status poll.
    'DynamoDB writes':
      ((8 + 3 * inputs.emailsPerTask) * prices.dynamodbOnDemand.writeRequestUnitsPerMillionUsd) / MILLION,
    'DynamoDB reads': (statusPolls * prices.dynamodbOnDemand.readRequestUnitsPerMillionUsd) / MILLION,
    // About 2 KB of JSON logs and EMF per task, over all its invocations.
    'CloudWatch Logs': ((2 * 1024) / 1024 ** 3) * prices.cloudWatchLogs.ingestionPerGbUsd,
  };
  for (const key of Object.keys(lines)) lines[key] = (lines[key] ?? 0) * MILLION;
  const infrastructure = Object.values(lines).reduce((sum, value) => sum + value, 0);
  const ses = (inputs.emailsPerTask * prices.ses.emailsPerThousandUsd * MILLION) / 1000;
  const validation = inputs.addressValidation
    ? (prices.sesAutoValidation.recipientsPerThousandUsd * MILLION) / 1000
    : 0;
  return { statusPolls, lines, infrastructure, ses, validation, total: infrastructure + ses + validation };
}

export const pricesDate = prices.date;
