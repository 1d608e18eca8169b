import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contextTable, localTable } from '../../lib/settings-docs.ts';
import { replaceBlock, writeBlock } from '../bench/docs-blocks.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** The docs' tables of settings, each made from the settings table (`UPDATE_DOCS=1` rewrites them). */
const TABLES = [
  { file: 'README.md', block: 'settings-context', render: contextTable },
  { file: 'docs/local-stack.md', block: 'settings-local', render: localTable },
];

describe('the docs’ settings tables', () => {
  it.each(TABLES)('$file shows the settings table as it is ($block)', ({ file, block, render }) => {
    // Prepare
    const path = join(ROOT, file);
    if (process.env.UPDATE_DOCS) writeBlock(path, block, render());
    const text = readFileSync(path, 'utf8');

    // Act
    const expected = replaceBlock(text, block, render());

    // Assess: the block exists, and holds the table made from functions/config/table.ts.
    expect(expected, `no <!-- ${block}:start/end --> in ${file}`).toBeDefined();
    expect(
      text,
      `${file} is behind the settings table: UPDATE_DOCS=1 npx vitest run ${import.meta.filename}`,
    ).toBe(expected);
  });
});
