import { describe, expect, it } from 'vitest';
import { nextRun } from '../../lib/local/scheduler';

const at = (iso: string) => new Date(iso);

describe('nextRun (the local stack runs the daily report on the stack’s schedule expression)', () => {
  it('runs the default cron(0 8 * * ? *) daily at 08:00 UTC', () => {
    expect(nextRun('cron(0 8 * * ? *)', at('2025-03-01T07:59:30Z'))).toEqual(at('2025-03-01T08:00:00Z'));
    expect(nextRun('cron(0 8 * * ? *)', at('2025-03-01T08:00:00Z'))).toEqual(at('2025-03-02T08:00:00Z'));
  });

  it('understands lists, ranges, steps and day names', () => {
    expect(nextRun('cron(0/15 9-17 ? * MON-FRI *)', at('2025-03-01T10:00:00Z'))).toEqual(
      at('2025-03-03T09:00:00Z'),
    );
    expect(nextRun('cron(30 6,18 1 * ? *)', at('2025-03-01T07:00:00Z'))).toEqual(at('2025-03-01T18:30:00Z'));
  });

  it('runs rate() from now and at() once', () => {
    expect(nextRun('rate(1 day)', at('2025-03-01T10:00:00Z'))).toEqual(at('2025-03-02T10:00:00Z'));
    expect(nextRun('rate(5 minutes)', at('2025-03-01T10:00:00Z'))).toEqual(at('2025-03-01T10:05:00Z'));
    expect(nextRun('at(2025-03-02T08:00:00)', at('2025-03-01T10:00:00Z'))).toEqual(
      at('2025-03-02T08:00:00Z'),
    );
    expect(nextRun('at(2025-03-02T08:00:00)', at('2025-03-03T10:00:00Z'))).toBeUndefined();
  });

  it('refuses what it cannot read', () => {
    expect(() => nextRun('daily', new Date())).toThrow(/Not a schedule expression/);
    expect(() => nextRun('cron(0 8 * *)', new Date())).toThrow(/6 fields/);
  });
});
