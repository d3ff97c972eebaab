// Builds every target: `node esbuild.config.mjs [--watch] [--production]`.
// Type checking is separate (`npm run typecheck`): esbuild only strips types.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const root = path.dirname(fileURLToPath(import.meta.url));
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const dist = path.join(root, 'dist');

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'info',
  absWorkingDir: root,
};

// Native addons cannot be bundled: they load from node_modules at run time. Nor can draco3dgltf, which
// reads its WebAssembly from its own folder.
const nodeExternals = ['vscode', 'onnxruntime-node', 'sharp', 'draco3dgltf'];

/** @type {esbuild.BuildOptions[]} */
const targets = [
  { ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternals },
  { ...common, entryPoints: ['src/worker/pipelineWorker.ts'], outfile: 'dist/worker.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternals },
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternals, banner: { js: '#!/usr/bin/env node' } },
  { ...common, entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js', platform: 'browser', format: 'iife', target: 'es2022' },
];

function copyStatic() {
  mkdirSync(dist, { recursive: true });
  copyFileSync(path.join(root, 'webview', 'style.css'), path.join(dist, 'webview.css'));
}

/** The stand-in model is generated, never committed; rebuilt when missing or on a full build. */
function buildStandinModel() {
  const out = path.join(dist, 'models', 'standin');
  if (watch && existsSync(path.join(out, 'decoder.onnx'))) return;
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build-standin-model.ts', out], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('Building the stand-in model failed.');
}

copyStatic();
if (watch) {
  buildStandinModel();
  const contexts = await Promise.all(targets.map((t) => esbuild.context(t)));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log('Watching for changes…');
} else {
  const results = await Promise.all(targets.map((t) => esbuild.build({ ...t, metafile: production })));
  // What each production bundle took from node_modules: scripts/package.ts lists those packages'
  // licences in the VSIX's third-party notices.
  if (production) {
    const metaDir = path.join(root, '.cache', 'build-meta');
    mkdirSync(metaDir, { recursive: true });
    results.forEach((result, i) => writeFileSync(path.join(metaDir, `${path.basename(targets[i].outfile, '.js')}.json`), JSON.stringify(result.metafile)));
  }
  buildStandinModel();
}
