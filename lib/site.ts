import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

/** Where the page's sources live. */
export const SITE_SOURCE_DIR = join(import.meta.dirname, '..', 'static');

/**
 * Builds the page into `outDir`: `static/app.ts` bundled and minified by esbuild into `app.js`, every
 * other file of `static/` (HTML, CSS, images) copied as it is. The CDK stack deploys this folder to S3
 * and the local stack serves it, so both serve the same bytes.
 *
 * @param sourceMap - also write `app.js.map` (the local stack, for debugging); the deployed site has
 *   none, so that it publishes nothing but the page
 */
export function buildSite(outDir: string, { sourceMap = false }: { sourceMap?: boolean } = {}): void {
  mkdirSync(outDir, { recursive: true });
  for (const entry of readdirSync(SITE_SOURCE_DIR, { withFileTypes: true })) {
    if (entry.isFile() && !entry.name.endsWith('.ts')) {
      cpSync(join(SITE_SOURCE_DIR, entry.name), join(outDir, entry.name));
    }
  }
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
