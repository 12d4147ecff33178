/**
 * The browser side, built when the console starts: esbuild bundles console/web/ (Preact, TSX) into
 * one script and one stylesheet, in memory. No build step to remember and nothing built to commit or
 * go stale: a fresh clone serves the console right after `npm install`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

export interface Bundle {
  html: string;
  js: string;
  css: string;
}

const WEB = path.join(__dirname, 'web');

export async function buildBundle(): Promise<Bundle> {
  const result = await build({
    entryPoints: [path.join(WEB, 'main.tsx')],
    bundle: true,
    write: false,
    outdir: 'out',
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const file = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
  return { html: readFileSync(path.join(WEB, 'index.html'), 'utf8'), js: file('.js'), css: file('.css') };
}
