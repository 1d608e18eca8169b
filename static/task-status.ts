/**
 * How the page puts a task's state into words: pure functions, so they are tested without a browser.
 */

import { isFinal, TaskStatus, type TaskView } from '../functions/task/record.ts';
import { awaitsDelivery, statusWords } from '../functions/task/status-words.ts';

/** The three steps the visitor sees; RETRY is still "sending", FAILURE stops at it. */
export type Step = 'queued' | 'sending' | 'sent';

/** What the thank-you view shows for one task state. */
export interface StatusPresentation {
  /** The step reached (drawn as the current one, or as failed for FAILURE). */
  step: Step;
  /** The status line, announced to screen readers when it changes. */
  text: string;
  /** A reason a person understands, for FAILURE and RETRY. */
  reason?: string;
  /** `type: message` as the API gave it, for the "Technical details" disclosure. */
  technical?: string;
  /** How long the worker took, for a sent task ("20 s"). */
  runtime?: string;
  /** True once the task cannot change any more (SUCCESS or FAILURE): polling stops, unless {@link awaitingDelivery}. */
  final: boolean;
  failed: boolean;
  /** Sent, and SES's word on its delivery may come within seconds: worth a few more looks. */
  awaitingDelivery: boolean;
  /** The copy did not reach the visitor, or was marked as spam: said as a warning. */
  undelivered: boolean;
}

/** The step a visitor can picture for each state; RETRY is still "sending", FAILURE stops at it. */
const STEPS: Record<TaskView['status'], Step> = {
  PENDING: 'queued',
  STARTED: 'sending',
  RETRY: 'sending',
  SUCCESS: 'sent',
  FAILURE: 'sending',
};

/** The words of functions/task/status-words.ts, with what the thank-you view draws of them. */
export function presentStatus(
  view: Pick<TaskView, 'status' | 'attempts' | 'runtimeMs' | 'error' | 'emails'>,
): StatusPresentation {
  const sent = view.status === 'SUCCESS';
  return {
    ...statusWords(view),
    step: STEPS[view.status],
    ...(sent && view.runtimeMs !== undefined ? { runtime: formatSeconds(view.runtimeMs) } : {}),
    final: isFinal(view.status),
    failed: view.status === 'FAILURE',
    awaitingDelivery: awaitsDelivery(view.status, view.emails?.visitor?.status),
  };
}

/** `1234` → `"1.2 s"`, `20000` → `"20 s"`. */
export function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
}

/** `12400` → `"12 s"`: whole seconds, for a clock that ticks once a second. */
export function formatElapsed(ms: number): string {
  return `${Math.max(0, Math.floor(ms / 1000))} s`;
}

/**
 * Delay before status poll number `n` (0-based): a quarter of a second, doubling each time, at most
 * 5 s. The first look comes soon, so that a task with no slow work does not stay "Queued" on the page
 * after it is done; the later ones spread out, so that a long task costs few requests.
 */
export function pollDelayMs(n: number): number {
  return Math.min(5000, 250 * 2 ** n);
}

/** Between two looks for the copy's delivery (for up to `DELIVERY_WAIT_MS`). */
export const DELIVERY_POLL_MS = 2000;

/** True for the five states of the contract (a guard for what the API sends). */
export function isTaskStatus(value: unknown): value is TaskStatus {
  return (Object.values(TaskStatus) as unknown[]).includes(value);
}
