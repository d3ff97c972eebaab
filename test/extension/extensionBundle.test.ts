/**
 * The extension host must start without the native modules: sharp and onnxruntime-node load only in the
 * pipeline worker, so activation stays fast and a broken native build cannot stop the extension from
 * starting (it can still report the problem). Bundles src/extension/extension.ts with the options
 * esbuild.config.mjs gives the `dist/extension.js` target and reads esbuild's metafile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as esbuild from 'esbuild';

const root = path.join(__dirname, '..', '..');
const ENTRY = 'src/extension/extension.ts';
/** As in esbuild.config.mjs: native addons stay outside the bundle and load from node_modules. */
const NODE_EXTERNALS = ['vscode', 'onnxruntime-node', 'sharp', 'draco3dgltf'];
const NATIVE = /^(sharp|onnxruntime-node)(\/|$)/;
/** Code that belongs in the pipeline process only: the model store and its downloads, folder locks, model loading, the stages, the writers. */
const HOST_MUST_NOT_CARRY = [
  /^src\/pipeline\/network\/store\/(?!manifest\.ts$)/,
  /^src\/pipeline\/network\/(modelSource|segmentationSource|session|openModels)\.ts$/,
  /^src\/pipeline\/network\/cudaProvider\//,
  /^src\/pipeline\/files\/folderLock\.ts$/,
  /^src\/pipeline\/(run|convert|generate)\.ts$/,
  /^src\/pipeline\/(image|surface|mesh|readers)\/.*(?<!Formats|Options|formats)\.ts$/,
  /^src\/pipeline\/writers\/(glb|dxf|step|obj|stl|ply|encode|writeOutputs|numberText)(\.ts|\/)/,
];
/** Import kinds that run the module's code; require.resolve only finds its folder. */
const LOADING_KINDS: ReadonlySet<string> = new Set(['import-statement', 'require-call', 'dynamic-import']);

test('the extension host bundle neither contains nor loads sharp or onnxruntime-node', async () => {
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    outfile: 'dist/extension.js',
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: NODE_EXTERNALS,
    absWorkingDir: root,
    logLevel: 'silent',
  });
  const { inputs, outputs } = result.metafile;

  const bundledNative = Object.keys(inputs).filter((file) => /node_modules\/(sharp|onnxruntime-node|@img)\//.test(file));
  assert.deepEqual(bundledNative, [], 'native packages were bundled into the extension host');

  const importedBy = parentsFrom(inputs, ENTRY);
  const loads: string[] = [];
  for (const [file, input] of Object.entries(inputs)) {
    for (const imported of input.imports) {
      if (imported.external && NATIVE.test(imported.path) && LOADING_KINDS.has(imported.kind)) {
        loads.push(`${imported.path} (${imported.kind}) through ${chainTo(importedBy, file).join(' → ')}`);
      }
    }
  }
  assert.deepEqual(loads, [], `the extension host loads native modules:\n${loads.join('\n')}`);

  // The pipeline process prepares models and writes files; the host only asks it to. Code for those
  // jobs in the host's bundle would be dead weight at best, and at worst run on the editor's thread.
  const heavy = Object.keys(inputs).filter((file) => HOST_MUST_NOT_CARRY.some((pattern) => pattern.test(file)));
  assert.deepEqual(heavy, [], `the extension host bundles pipeline-process code:\n${heavy.map((f) => chainTo(importedBy, f).join(' → ')).join('\n')}`);

  const output = outputs['dist/extension.js'];
  assert.ok(output, `no dist/extension.js among ${Object.keys(outputs).join(', ')}`);
  const outputLoads = output.imports.filter((i) => NATIVE.test(i.path) && LOADING_KINDS.has(i.kind)).map((i) => `${i.path} (${i.kind})`);
  assert.deepEqual(outputLoads, [], 'dist/extension.js requires native modules');
});

/** For every input reachable from the entry, the file that first imports it (breadth first). */
function parentsFrom(inputs: esbuild.Metafile['inputs'], entry: string): Map<string, string | undefined> {
  const parent = new Map<string, string | undefined>([[entry, undefined]]);
  const queue = [entry];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const imported of inputs[file]?.imports ?? []) {
      if (imported.external || parent.has(imported.path)) continue;
      parent.set(imported.path, file);
      queue.push(imported.path);
    }
  }
  return parent;
}

function chainTo(parent: Map<string, string | undefined>, file: string): string[] {
  const chain: string[] = [];
  for (let at: string | undefined = file; at !== undefined && chain.length <= parent.size; at = parent.get(at)) chain.unshift(at);
  return chain;
}
