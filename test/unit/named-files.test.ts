/**
 * Every `.ts` or `.md` file that the code's comments or the docs name exists, so that a newcomer who
 * follows a name finds the file. A name resolves from the naming file's folder (`../task/record.ts`
 * in `functions/email/events.ts`) or from the repository's root, or names a file by the end of its
 * path (`http/views.ts`, `fields.ts`); a link may carry an anchor (`docs/testing.md#ci`). Patterns
 * (`*.test.ts`, `<name>.ts`, `${name}.ts`) and web addresses are not names of files here.
 */
import { globSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const IGNORED = [
  'node_modules/**',
  'cdk.out/**',
  '.local/**',
  'dist/**',
  'test/output/**',
  'test/bench/results/**',
];

/** Every file of the repository, by its path from the root. */
const FILES = globSync('**/*', { cwd: ROOT, exclude: IGNORED, withFileTypes: true })
  .filter((entry) => entry.isFile())
  .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)).split('\\').join('/'));
const FILE_SET = new Set(FILES);

/** The text a file names other files in: a code file's comments, a doc's whole text. */
function namingText(path: string, text: string): string {
  if (path.endsWith('.md')) return text;
  if (path.endsWith('.html')) return (text.match(/<!--[\s\S]*?-->/g) ?? []).join('\n');
  if (path.endsWith('.ts')) return (text.match(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g) ?? []).join('\n');
  return (text.match(/^\s*#[^\n]*/gm) ?? []).join('\n');
}

/** The naming files: the code (TypeScript, the page, the shell scripts) and the docs. */
const NAMING_FILES = FILES.filter((path) => /\.(ts|md|html|sh)$/.test(path) || path === '.ci/run').filter(
  (path) => path !== 'package-lock.json',
);

const URL = /\b[a-z][a-z0-9+.-]*:\/\/\S+/gi;
const NAME = /(?<![\w@$./<>{}*-])(?:\.{1,2}\/)*[\w@-][\w@./-]*\.(?:ts|md)\b(?![\w<>{}*/-])/g;

/** The `.ts` and `.md` names in a text, web addresses left out. */
function namesIn(text: string): string[] {
  return [...text.replace(URL, ' ').matchAll(NAME)].map((match) => match[0]);
}

function exists(from: string, name: string): boolean {
  const fromFolder = normalize(join(dirname(from), name))
    .split('\\')
    .join('/');
  if (FILE_SET.has(fromFolder) || FILE_SET.has(name)) return true;
  const tail = name.replace(/^(\.{1,2}\/)+/, '');
  return FILES.some((path) => path === tail || path.endsWith(`/${tail}`));
}

describe('the files that comments and docs name', () => {
  it('finds the names it looks for, and leaves out patterns and web addresses', () => {
    expect(
      namesIn(
        'see `functions/form/fields.ts`, [CI](docs/testing.md#ci), ../task/record.ts and views.ts; ' +
          'not *.test.ts, <name>.ts, $' +
          '{name}.ts, functions/<name>.ts or https://example.com/a/b.md',
      ),
    ).toEqual(['functions/form/fields.ts', 'docs/testing.md', '../task/record.ts', 'views.ts']);
  });

  it('reads the code and the docs', () => {
    expect(NAMING_FILES).toEqual(
      expect.arrayContaining([
        'README.md',
        'docs/testing.md',
        'functions/form/README.md',
        'functions/form/fields.ts',
      ]),
    );
  });

  it('finds every one of them', () => {
    const missing = NAMING_FILES.flatMap((path) =>
      namesIn(namingText(path, readFileSync(join(ROOT, path), 'utf8')))
        .filter((name) => !exists(path, name))
        .map((name) => `${path}: ${name}`),
    );
    expect(missing).toEqual([]);
  });
});
