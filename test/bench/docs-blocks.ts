/**
 * The benchmark's tables in the docs: `npm run bench` replaces the text between `<!-- <name>:start -->`
 * and `<!-- <name>:end -->` in docs/performance.md with the tables it printed, so the page shows the
 * latest run without copying by hand. The settings tables of the README and docs/local-stack.md are
 * blocks too (test/unit/settings-docs.test.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * `text` with what lies between the block's two markers replaced by `content`; undefined when either
 * marker is missing (or the end comes before the start). A marker counts only on a line of its own, so
 * a page may name the markers in its prose; an indented one (in a list item) indents the content as much.
 */
export function replaceBlock(text: string, name: string, content: string): string | undefined {
  const marker = (edge: string) =>
    `^([ \\t]*)<!-- ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${edge} -->`;
  const start = new RegExp(`${marker('start')}[ \\t]*$`, 'm').exec(text);
  if (start === null) return undefined;
  const indent = start[1] ?? '';
  const afterStart = start.index + start[0].length;
  const end = new RegExp(marker('end'), 'm').exec(text.slice(afterStart));
  if (end === null) return undefined;
  const lines = content
    .trim()
    .split('\n')
    .map((line) => `${indent}${line}`);
  return `${text.slice(0, afterStart)}\n${lines.join('\n')}\n${text.slice(afterStart + end.index)}`;
}

/**
 * Writes `content` into the block `name` of the markdown file `path`. Leaves the file as it is, and says
 * so on stderr, when the file or a marker is missing. True when the block was found.
 */
export function writeBlock(
  path: string,
  name: string,
  content: string,
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): boolean {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    warn(`bench: could not read ${path} (${String(error)}); the tables are only printed`);
    return false;
  }
  const updated = replaceBlock(text, name, content);
  if (updated === undefined) {
    warn(`bench: no <!-- ${name}:start --> … <!-- ${name}:end --> in ${path}; left it unchanged`);
    return false;
  }
  if (updated !== text) writeFileSync(path, updated);
  return true;
}
