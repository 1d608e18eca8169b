import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replaceBlock, writeBlock } from '../bench/docs-blocks.ts';

const PAGE = [
  '# Performance',
  'The run writes between `<!-- bench:start -->` and `<!-- bench:end -->`.',
  '<!-- bench:start -->',
  'old tables',
  '<!-- bench:end -->',
  'Between.',
  '<!-- bench-drain:start -->',
  'old drain',
  '<!-- bench-drain:end -->',
  '',
].join('\n');

describe('the benchmark tables in the docs', () => {
  it('replaces only what lies between its own block markers, each on a line of its own', () => {
    // Act
    const page = replaceBlock(PAGE, 'bench', '| new | table |\n');

    // Assess
    expect(page).toBe(PAGE.replace('old tables', '| new | table |'));
    expect(replaceBlock(PAGE, 'bench-drain', 'new drain')).toBe(PAGE.replace('old drain', 'new drain'));
  });

  it('finds no block when a marker is missing', () => {
    expect(replaceBlock(PAGE.replace('\n<!-- bench:end -->\n', '\n'), 'bench', 'new')).toBeUndefined();
    expect(replaceBlock(PAGE, 'bench-cold', 'new')).toBeUndefined();
  });

  it('leaves the file unchanged and says so when a marker is missing', () => {
    // Prepare
    const path = join(mkdtempSync(join(tmpdir(), 'bench-docs-')), 'performance.md');
    const page = PAGE.replace('\n<!-- bench-drain:start -->\n', '\n');
    writeFileSync(path, page);
    const warnings: string[] = [];

    // Act
    const written = writeBlock(path, 'bench-drain', 'new drain', (line) => warnings.push(line));

    // Assess
    expect(written).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe(page);
    expect(warnings).toEqual([expect.stringContaining('<!-- bench-drain:start -->')]);
  });

  it('writes the block into the file', () => {
    // Prepare
    const path = join(mkdtempSync(join(tmpdir(), 'bench-docs-')), 'performance.md');
    writeFileSync(path, PAGE);

    // Act
    const written = writeBlock(path, 'bench', 'new tables', () => undefined);

    // Assess
    expect(written).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe(PAGE.replace('old tables', 'new tables'));
  });
});
