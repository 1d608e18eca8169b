/**
 * `npm run deploy` and `npm run destroy` with the WAF's second stack: the real `cdk` CLI, run with the
 * scripts' own arguments, must get past choosing the stacks (it used to stop at "specify which stacks to
 * use"). Offline and without credentials: the deploy then stops where it needs AWS, the destroy where it
 * asks for a confirmation no terminal can give; neither can change anything.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'deploy-scripts-'));
const scripts = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;

afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Runs an npm script's `cdk` command with the real CLI in WAF mode (two stacks), with no AWS credentials
 * and nothing that could reach the network: no credential files, no instance metadata, no notices,
 * telemetry or version check. Returns what it printed.
 */
function runScript(name: 'deploy' | 'destroy'): { status: number | null; output: string } {
  const [command, ...args] = (scripts[name] ?? '').split(/\s+/);
  expect(command).toBe('cdk');
  const empty = join(work, 'empty');
  writeFileSync(empty, '');
  const result = spawnSync(
    join(ROOT, 'node_modules', '.bin', 'cdk'),
    [
      ...args,
      '-c',
      'senderEmail=you@example.com',
      '-c',
      'wafRateLimit=100',
      '--output',
      join(work, `cdk.out-${name}`),
      '--no-notices',
    ],
    {
      cwd: ROOT,
      encoding: 'utf8',
      input: '',
      timeout: 240_000,
      env: {
        PATH: process.env.PATH,
        HOME: work,
        AWS_CONFIG_FILE: empty,
        AWS_SHARED_CREDENTIALS_FILE: empty,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_REGION: 'eu-west-1',
        // What the CLI would read from the credentials: the WAF mode needs them at synth.
        CDK_DEFAULT_ACCOUNT: '123456789012',
        CDK_DEFAULT_REGION: 'eu-west-1',
        CDK_DISABLE_CLI_TELEMETRY: 'true',
        CDK_DISABLE_VERSION_CHECK: 'true',
      },
    },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('the deploy scripts with two stacks (wafRateLimit)', () => {
  it('npm run deploy chooses both stacks, and stops only for want of credentials', {
    timeout: 300_000,
  }, () => {
    const { status, output } = runScript('deploy');
    expect(output).not.toContain('specify which stacks');
    expect(output).toContain('no credentials have been configured');
    expect(status).not.toBe(0);
  });

  it('npm run destroy chooses both stacks, and stops only for want of a confirmation', {
    timeout: 300_000,
  }, () => {
    const { status, output } = runScript('destroy');
    expect(output).not.toContain('specify which stacks');
    expect(output).toMatch(/irreversible action, but terminal \(TTY\) is not attached/);
    expect(status).not.toBe(0);
  });
});
