import { ConfigError, contextSource, parseSetting } from '../functions/config/env.ts';
import {
  type ContextName,
  type DataRemovalMode,
  type SenderIdentityMode,
  type Setting,
  SizingError,
  senderEmail as senderEmailSetting,
  settingEntries,
  type Values,
  WORKER_SIZING_INPUTS,
  type WorkerSizing,
  type WorkerSizingInput,
  workerSizing,
} from '../functions/config/table.ts';

export { ConfigError, type DataRemovalMode, type SenderIdentityMode };

/** Used for synth when no `senderEmail` is given: deploying with it fails SES verification, hence a warning. */
export const PLACEHOLDER_SENDER_EMAIL = senderEmailSetting.localDefault;

/** The context keys this app reads: the settings of the table (functions/config/table.ts) with `context`. */
export type ContextKey = ContextName;

/**
 * The deployment's settings, read from CDK context (`-c key=value` or `cdk.json`): each context setting of
 * the table, under its name, as its entry gives it (see there what each does).
 */
export type FeedbackConfig = Values<ContextKey> & {
  /** The From address: the placeholder when none was given. */
  senderEmail: string;
  /** True when `senderEmail` is the placeholder because none was given: fine to synth, not to deploy. */
  senderEmailIsPlaceholder: boolean;
  /** The owner's identity: as given, else `senderIdentity`'s mode. */
  notifyIdentity: SenderIdentityMode;
  /** The worker's concurrency, batch, pace, timeout and lease, derived from the SES rate (or `workerConcurrency`). */
  worker: WorkerSizing;
};

/** One context value (a `-c` string, or a cdk.json value), by its entry's rule: undefined when unset or blank. */
function readContext(key: string, entry: Setting, raw: unknown): unknown {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
    throw new ConfigError(`Context ${key} must be a string, got ${JSON.stringify(raw)}`);
  }
  return parseSetting(entry, String(raw), contextSource(key));
}

/**
 * Whether `address` is at `domain` or at one of its subdomains: the addresses a verified domain identity
 * lets SES send from, and receive at in the sandbox.
 */
export function isAddressAtDomain(address: string, domain: string): boolean {
  const host = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  const name = domain.toLowerCase();
  return host === name || host.endsWith(`.${name}`);
}

/**
 * Throws a {@link ConfigError} naming the keys of sender settings that contradict each other. Without
 * `senderEmail` the placeholder is not held to `senderDomain`: such a synth is fine, its deploy refused.
 */
function refuseSenderConflicts({
  senderEmail,
  senderIdentity,
  senderDomain,
  hostedZoneId,
}: Pick<Values<ContextKey>, 'senderEmail' | 'senderIdentity' | 'senderDomain' | 'hostedZoneId'>): void {
  if (senderIdentity === 'existing' && (senderDomain !== undefined || hostedZoneId !== undefined)) {
    const given =
      senderDomain === undefined ? `hostedZoneId=${hostedZoneId}` : `senderDomain=${senderDomain}`;
    throw new ConfigError(
      `Context senderIdentity=existing cannot go with ${given}: the stack either creates the domain's identity (senderDomain, hostedZoneId) or uses one already verified in SES (senderIdentity=existing), not both`,
    );
  }
  if (hostedZoneId !== undefined && senderDomain === undefined) {
    throw new ConfigError(
      `Context hostedZoneId=${hostedZoneId} needs senderDomain (-c senderDomain=example.com): the zone is where the stack writes the DKIM records of that domain's identity`,
    );
  }
  if (
    senderDomain !== undefined &&
    senderEmail !== undefined &&
    !isAddressAtDomain(senderEmail, senderDomain)
  ) {
    throw new ConfigError(
      `Context senderEmail=${senderEmail} must be at senderDomain=${senderDomain} or at one of its subdomains: the domain's identity covers no other address`,
    );
  }
}

/**
 * Reads and validates the app's context: each context setting of the table by its rule, or its default;
 * then what no single setting can check (the sender's settings together, the worker's sizing). `get` is
 * `(key) => app.node.tryGetContext(key)`.
 *
 * @throws {ConfigError} naming the keys of a value, or of values together, that cannot work
 */
export function readConfig(get: (key: ContextKey) => unknown): FeedbackConfig {
  const values: Record<string, unknown> = {};
  for (const [name, entry] of settingEntries()) {
    if (!('context' in entry)) continue;
    values[name] = readContext(name, entry, get(name as ContextKey)) ?? entry.default;
  }
  const given = values as Values<ContextKey>;
  refuseSenderConflicts(given);
  const senderEmail = given.senderEmail ?? PLACEHOLDER_SENDER_EMAIL;
  return {
    ...given,
    senderEmail,
    senderEmailIsPlaceholder: given.senderEmail === undefined,
    notifyIdentity: notifyIdentityMode({ ...given, senderEmail }),
    worker: sizeWorker(given),
  };
}

/** `notifyIdentity`: meaningful only with `notifyEmail`; by default the sender's mode. */
function notifyIdentityMode({
  notifyIdentity,
  notifyEmail,
  senderIdentity,
  senderEmail,
}: Pick<Values<ContextKey>, 'notifyIdentity' | 'notifyEmail' | 'senderIdentity'> & {
  senderEmail: string;
}): SenderIdentityMode {
  if (notifyIdentity === undefined) return senderIdentity;
  if (notifyEmail === undefined) {
    throw new ConfigError(
      `Context notifyIdentity=${notifyIdentity} needs notifyEmail (-c notifyEmail=owner@example.com): it says whether the owner's address gets an SES identity`,
    );
  }
  if (
    notifyIdentity === 'create' &&
    senderIdentity === 'existing' &&
    notifyEmail.toLowerCase() === senderEmail.toLowerCase()
  ) {
    throw new ConfigError(
      `Context notifyIdentity=create cannot go with senderIdentity=existing when notifyEmail is senderEmail (${notifyEmail}): that address's identity exists already`,
    );
  }
  return notifyIdentity;
}

/** {@link workerSizing}, its refusal turned into a {@link ConfigError} naming the context keys involved. */
function sizeWorker(values: WorkerSizingInput): WorkerSizing {
  try {
    return workerSizing(values);
  } catch (error) {
    if (!(error instanceof SizingError)) throw error;
    const involved = WORKER_SIZING_INPUTS.flatMap((key) =>
      values[key] === undefined ? [] : [`${key}=${values[key]}`],
    );
    throw new ConfigError(`Context ${involved.join(', ')} cannot work: ${error.message}`);
  }
}
