import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { formFieldsHtml } from '../functions/http/views.ts';

/** Where the page's sources live. */
export const SITE_SOURCE_DIR = join(import.meta.dirname, '..', 'static');

/** Where `index.html` takes the form's fields, which the no-JavaScript form view shows as well. */
const FIELDS_MARKER = /^ *<!-- the fields: .* -->$/m;

/**
 * Builds the page into `outDir`: `static/app.ts` bundled and minified by esbuild into `app.js`,
 * `index.html` with the form's fields (from their one definition), every other file of `static/` (CSS,
 * images) copied as it is. The CDK stack deploys this folder to S3 and the local stack serves it, so
 * both serve the same bytes.
 *
 * @param sourceMap - also write `app.js.map` (the local stack, for debugging); the deployed site has
 *   none, so that it publishes nothing but the page
 */
export function buildSite(outDir: string, { sourceMap = false }: { sourceMap?: boolean } = {}): void {
  mkdirSync(outDir, { recursive: true });
  for (const entry of readdirSync(SITE_SOURCE_DIR, { withFileTypes: true })) {
    if (entry.isFile() && !entry.name.endsWith('.ts') && entry.name !== 'index.html') {
      cpSync(join(SITE_SOURCE_DIR, entry.name), join(outDir, entry.name));
    }
  }
  const page = readFileSync(join(SITE_SOURCE_DIR, 'index.html'), 'utf8');
  if (!FIELDS_MARKER.test(page)) throw new Error('static/index.html has lost the marker of the form fields');
  writeFileSync(
    join(outDir, 'index.html'),
    page.replace(FIELDS_MARKER, () => formFieldsHtml({ scriptSlots: true })),
  );
  buildSync({
    entryPoints: [join(SITE_SOURCE_DIR, 'app.ts')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    minify: true,
    sourcemap: sourceMap,
    format: 'esm',
    target: ['es2022'],
    logLevel: 'warning',
  });
}
