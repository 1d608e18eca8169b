/**
 * The settings tables of the docs, made from the settings table (functions/config/table.ts): the
 * README's context keys and docs/local-stack.md's variables of `npm start`. A test holds the docs to
 * them (test/unit/settings-docs.test.ts), and rewrites them with `UPDATE_DOCS=1`.
 */
import { localPorts } from '../functions/config/settings.ts';
import { type Setting, settingEntries } from '../functions/config/table.ts';
import { localVisibilityTimeout } from './local/settings.ts';

/** A table cell: `|` escaped, as GitHub's tables need it even inside code. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

function row(...cells: string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

/** A default as the docs write it: a number as it is, a text as code, none as "off". */
function shownValue(value: unknown): string {
  if (value === undefined) return 'off';
  if (Array.isArray(value)) return value.length === 0 ? 'none' : `\`${value.join(',')}\``;
  return typeof value === 'number' ? String(value) : `\`${String(value)}\``;
}

/** The README's table: every context key, its default on AWS, what it does. */
export function contextTable(): string {
  const rows = settingEntries()
    .filter(([, entry]) => 'context' in entry)
    .map(([name, entry]) => row(`\`${name}\``, entry.shown ?? shownValue(entry.default), entry.doc));
  return ['| context | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** docs/local-stack.md's table: every variable `npm start` reads, its default there, what it does. */
export function localTable(): string {
  const local = (entry: Setting) =>
    entry.localShown ??
    (entry.localDefault === undefined
      ? (entry.shown ?? shownValue(entry.default))
      : shownValue(entry.localDefault));
  // The docs' links are relative to the README; this page is in docs/.
  const doc = (entry: Setting) => entry.doc.replaceAll('](docs/', '](');
  const rows = settingEntries()
    .filter(([, entry]) => 'local' in entry)
    .map(([, entry]) => row(`\`${entry.env}\``, local(entry), doc(entry)));
  const ports = Object.values(localPorts);
  return [
    '| variable | default | meaning |',
    '|---|---|---|',
    ...rows,
    row(`\`${localVisibilityTimeout.env}\``, local(localVisibilityTimeout), doc(localVisibilityTimeout)),
    row(
      '`LOCAL_CRASH_ON`',
      'off',
      'a fault for the tests of crashes: `SendEmail:<address>` or `SendMessage:<text>` kills the whole process (SIGKILL, as `kill -9`) the moment the SES or SQS emulator receives that call naming that address or text, before it acts on it ([crashes](delivery-guarantees.md#crashes-an-attempt-ends-without-the-handlers-own-error-path))',
    ),
    row('`LOCAL_DATA_DIR`', '`.local/`', 'where the data lives ([below](#stopping-and-the-data))'),
    row(
      ports.map((port) => `\`${port.variable}\``).join(', '),
      ports.map((port) => port.port).join(', '),
      'the ports',
    ),
  ].join('\n');
}
