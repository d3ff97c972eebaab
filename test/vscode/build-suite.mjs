// Bundles the end-to-end suite (test/vscode/suite) for the extension host: out/vscode-suite/index.js.
// `vscode` is provided by the host; mocha and the file-format readers load from node_modules at run time.

import { build } from 'esbuild';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
export const suiteOutDir = path.join(repoRoot, 'out', 'vscode-suite');

await rm(suiteOutDir, { recursive: true, force: true });
await mkdir(suiteOutDir, { recursive: true });
await build({
  entryPoints: [path.join(here, 'suite', 'index.ts')],
  outfile: path.join(suiteOutDir, 'index.js'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: 'inline',
  external: ['vscode', 'mocha', 'gltf-validator', 'dxf-parser', 'occt-import-js'],
  logLevel: 'warning',
});
// Keep the bundle CommonJS even if the repository's package.json ever says "type": "module".
await writeFile(path.join(suiteOutDir, 'package.json'), '{ "type": "commonjs" }\n');
console.log(`built ${path.relative(repoRoot, path.join(suiteOutDir, 'index.js'))}`);
