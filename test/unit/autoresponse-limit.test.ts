/**
 * The per-recipient limit's counter is a pair of conditional writes: run against dynalite, so that the
 * conditions are DynamoDB's own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoresponse } from '../../functions/config/settings.ts';
import { autoresponseLimit } from '../../functions/config/table.ts';
import { createAutoresponseLimit, limitKey } from '../../functions/email/autoresponse-limit.ts';
import { startTaskTable, type TaskTable } from '../helpers/task-table.ts';

const KEY = 'test-pepper';
let table: TaskTable;

beforeAll(async () => {
  table = await startTaskTable();
});

afterAll(async () => {
  await table.stop();
});

/** A limit with the settings' defaults and a clock the test moves. */
function limitAt(clock: { now: Date }) {
  return createAutoresponseLimit({
    dynamodb: table.dynamodb,
    tableName: table.tableName,
    key: KEY,
    maxPerWindow: autoresponseLimit.default,
    windowSeconds: autoresponse.windowSeconds,
    now: () => clock.now,
  });
}

describe('the autoresponse limit', () => {
  it('allows 3 autoresponses to an address in 24 hours and refuses the 4th', async () => {
    // Prepare
    const clock = { now: new Date('2025-06-01T12:00:00Z') };
    const limit = limitAt(clock);

    // Act
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await limit.take('stranger@example.com'));

    // Assess
    expect(answers).toEqual([true, true, true, false]);
    const item = await table.get(limitKey(KEY, 'stranger@example.com'));
    expect(item).toMatchObject({ autoresponses: 3, expiresAt: Date.parse('2025-06-02T12:00:00Z') / 1000 });
  });

  it("never limits SES's mailbox simulator, which reaches no one (a site owner tests bounces with it)", async () => {
    // Prepare
    const limit = limitAt({ now: new Date('2025-06-01T12:00:00Z') });

    // Act
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await limit.take('Bounce@Simulator.AmazonSES.com'));

    // Assess
    expect(answers).toEqual([true, true, true, true, true]);
    expect(await table.get(limitKey(KEY, 'bounce@simulator.amazonses.com'))).toBeUndefined();
  });

  it('counts an address whatever its case, and another address apart', async () => {
    // Prepare
    const limit = limitAt({ now: new Date('2025-06-01T12:00:00Z') });
    for (let i = 0; i < 3; i++) await limit.take('Case@Example.com');

    // Act
    const sameAddress = await limit.take('case@example.COM');
    const otherAddress = await limit.take('other@example.com');

    // Assess
    expect(sameAddress).toBe(false);
    expect(otherAddress).toBe(true);
  });

  it('opens a new window once the last one ended, even before TTL removed the counter', async () => {
    // Prepare
    const clock = { now: new Date('2025-06-01T12:00:00Z') };
    const limit = limitAt(clock);
    for (let i = 0; i < 3; i++) await limit.take('again@example.com');
    clock.now = new Date('2025-06-02T11:59:59Z');
    const beforeEnd = await limit.take('again@example.com');

    // Act
    clock.now = new Date('2025-06-02T12:00:00Z');
    const afterEnd = await limit.take('again@example.com');

    // Assess
    expect(beforeEnd).toBe(false);
    expect(afterEnd).toBe(true);
    expect(await table.get(limitKey(KEY, 'again@example.com'))).toMatchObject({
      autoresponses: 1,
      expiresAt: Date.parse('2025-06-03T12:00:00Z') / 1000,
    });
  });

  it('never stores the address: the key is a keyed hash', async () => {
    // Prepare
    const limit = limitAt({ now: new Date('2025-06-01T12:00:00Z') });

    // Act
    await limit.take('private@example.com');

    // Assess
    const key = limitKey(KEY, 'private@example.com');
    expect(key).toMatch(/^limit#[0-9a-f]{64}$/);
    expect(key).not.toBe(limitKey('another-key', 'private@example.com'));
    expect(JSON.stringify(await table.get(key))).not.toContain('private');
  });

  it('refuses a limit below 1 and an empty key', () => {
    const base = { dynamodb: table.dynamodb, tableName: table.tableName, windowSeconds: 60 };
    expect(() => createAutoresponseLimit({ ...base, key: KEY, maxPerWindow: 0 })).toThrow(/at least 1/);
    expect(() => createAutoresponseLimit({ ...base, key: '', maxPerWindow: 3 })).toThrow(/hash key/);
  });
});
