/**
 * The local stack's Celery beat: runs a job on an EventBridge Scheduler expression, as the stack's
 * schedule does. Understands `rate(n unit)`, `at(yyyy-mm-ddThh:mm:ss)` and `cron(min hour dom month
 * dow year)` with `*`, `?`, numbers, lists, ranges and steps (`0/15`, `MON-FRI`); UTC like the stack's.
 */

const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const MINUTE_MS = 60_000;

/** The first run strictly after `after`, or undefined when the expression never runs again. */
export function nextRun(expression: string, after: Date): Date | undefined {
  const match = /^(rate|cron|at)\((.+)\)$/.exec(expression.trim());
  if (!match) throw new Error(`Not a schedule expression: "${expression}"`);
  const [, kind, body = ''] = match;
  if (kind === 'rate') return new Date(after.getTime() + rateMs(body));
  if (kind === 'at') {
    const at = new Date(`${body}Z`);
    if (Number.isNaN(at.getTime())) throw new Error(`Not an at() time: "${body}"`);
    return at > after ? at : undefined;
  }
  return nextCron(body, after);
}

function rateMs(body: string): number {
  const match = /^(\d+)\s+(minute|minutes|hour|hours|day|days)$/.exec(body.trim());
  if (!match) throw new Error(`Not a rate: "${body}"`);
  const unit = match[2]?.replace(/s$/, '');
  const unitMs = unit === 'minute' ? MINUTE_MS : unit === 'hour' ? 60 * MINUTE_MS : 24 * 60 * MINUTE_MS;
  return Number(match[1]) * unitMs;
}

function nextCron(body: string, after: Date): Date | undefined {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6)
    throw new Error(`A cron expression has 6 fields (min hour dom month dow year): "${body}"`);
  const [minute, hour, dayOfMonth, month, dayOfWeek, year] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const matchers = {
    minute: field(minute, 0, 59),
    hour: field(hour, 0, 23),
    dayOfMonth: field(dayOfMonth, 1, 31),
    month: field(month, 1, 12, MONTH_NAMES, 1),
    dayOfWeek: field(dayOfWeek, 1, 7, DAY_NAMES, 1),
    year: field(year, 1970, 2199),
  };
  const start = new Date(Math.floor(after.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
  // Minute by minute over at most five years: simple, and a few ms even when nothing matches soon.
  for (let t = start.getTime(), end = t + 5 * 366 * 24 * 60 * MINUTE_MS; t < end; t += MINUTE_MS) {
    const d = new Date(t);
    if (
      matchers.minute(d.getUTCMinutes()) &&
      matchers.hour(d.getUTCHours()) &&
      matchers.dayOfMonth(d.getUTCDate()) &&
      matchers.month(d.getUTCMonth() + 1) &&
      matchers.dayOfWeek(d.getUTCDay() + 1) &&
      matchers.year(d.getUTCFullYear())
    ) {
      return d;
    }
  }
  return undefined;
}

/** A matcher for one cron field; names (SUN, JAN) map to numbers from `nameBase`. */
function field(
  text: string,
  min: number,
  max: number,
  names: string[] = [],
  nameBase = 0,
): (n: number) => boolean {
  if (text === '*' || text === '?') return () => true;
  const value = (part: string): number => {
    const index = names.indexOf(part.toUpperCase());
    const n = index >= 0 ? index + nameBase : Number(part);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`Cron value out of range: "${part}"`);
    return n;
  };
  const allowed = new Set<number>();
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    const [from, to] =
      range === '*'
        ? [min, max]
        : range.includes('-')
          ? (range.split('-').map(value) as [number, number])
          : [value(range), stepText === undefined ? value(range) : max];
    for (let n = from; n <= to; n += step) allowed.add(n);
  }
  return (n) => allowed.has(n);
}

export interface Schedule {
  stop(): void;
  /** When the job runs next, if ever. */
  readonly next: Date | undefined;
}

/** Runs `job` at each time of `expression` until stopped; a failing run does not stop the schedule. */
export function startSchedule(
  expression: string,
  job: () => Promise<void>,
  now = () => new Date(),
): Schedule {
  let timer: NodeJS.Timeout | undefined;
  let next: Date | undefined;
  let stopped = false;
  const plan = () => {
    next = nextRun(expression, now());
    if (stopped || next === undefined) return;
    // setTimeout holds at most ~24.8 days: wake up then and plan again.
    const delay = Math.min(next.getTime() - now().getTime(), 2 ** 31 - 1);
    timer = setTimeout(() => {
      if (now() < (next ?? now())) return plan();
      job()
        .catch(() => undefined)
        .then(plan);
    }, delay);
    timer.unref();
  };
  plan();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    get next() {
      return next;
    },
  };
}
