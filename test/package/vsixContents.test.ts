import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_OUT_DIR, PACKAGE_TARGETS, vsixName, type PackageTarget } from '../../scripts/package/targets.js';
import { withZipEntries, type ZipEntry } from '../fixtures/zipEntries.js';

/*
 * What the VSIX packages (npm run package) hold: the build, the model manifest, the stand-in model,
 * the documents and licences, and the run-time packages with the native binaries of their own
 * platform only; nothing of the sources, tests, benchmarks or caches. Every shipped npm package is in
 * the third-party notices with a licence text, and libvips's LGPL is there. Checks every package
 * built for this version; CI builds all six before this runs (npm test), and linux-x64 is required.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; icon: string };

/** Paths a package may hold besides node_modules, under extension/. */
const ALLOWED_FILES = [
  /^package\.json$/,
  /^readme\.md$/i,
  /^changelog\.md$/i,
  /^LICENSE(\.txt)?$/,
  /^THIRD-PARTY-NOTICES\.md$/,
  new RegExp(`^${manifest.icon.replace(/\./g, '\\.')}$`),
  /^dist\/(extension|worker|cli|webview)\.js$/,
  /^dist\/webview\.css$/,
  /^dist\/models\/standin\/[\w.-]+$/,
  /^models\/manifest\.json$/,
];
/** Never shipped, wherever they are. */
const FORBIDDEN = [/\.map$/, /\.d\.[cm]?ts$/, /(^|\/)[^/]+\.ts$/, /^(src|test|bench|scripts|webview|\.cache|out|licenses)\//];
/** The run-time packages and what they depend on at run time (onnxruntime-node's install helpers included). */
const RUNTIME_CLOSURE_ROOTS = ['onnxruntime-node', 'onnxruntime-common', 'sharp', 'draco3dgltf'];

function builtPackages(): { target: PackageTarget; file: string }[] {
  return PACKAGE_TARGETS.map((target) => ({ target, file: path.join(ROOT, PACKAGE_OUT_DIR, vsixName(manifest.name, manifest.version, target.target)) })).filter((p) => existsSync(p.file));
}

/** The npm package a path under node_modules/ belongs to (innermost, scoped names whole). */
function packageOf(rest: string): string {
  const parts = rest.split('/');
  const at = parts.lastIndexOf('node_modules');
  const name = parts[at + 1]!;
  return name.startsWith('@') ? `${name}/${parts[at + 2]}` : name;
}

test('npm run package built the linux-x64 package for this version', () => {
  const built = builtPackages().map((p) => p.target.target);
  assert.ok(built.includes('linux-x64'), `no ${vsixName(manifest.name, manifest.version, 'linux-x64')} in ${PACKAGE_OUT_DIR}: run npm run package`);
});

for (const { target, file } of builtPackages()) {
  test(`${target.target}: only the allowed files, its own native binaries, within budget`, () =>
    withZipEntries(file, async (entries) => {
      const bytes = statSync(file).size;
      assert.ok(bytes <= target.budgetBytes, `${bytes} bytes over the ${target.budgetBytes} budget`);
      const byName = new Map(entries.map((e) => [e.name, e]));
      const vsixManifest = (await byName.get('extension.vsixmanifest')!.read()).toString('utf8');
      assert.match(vsixManifest, new RegExp(`TargetPlatform="${target.target}"`));

      const outside: string[] = [];
      const nativeFolders = new Set<string>();
      const sharpNatives = new Set<string>();
      for (const { name } of entries) {
        if (name === '[Content_Types].xml' || name === 'extension.vsixmanifest') continue;
        assert.ok(name.startsWith('extension/'), name);
        const rest = name.slice('extension/'.length);
        if (FORBIDDEN.some((r) => r.test(rest))) outside.push(rest);
        else if (rest.startsWith('node_modules/')) {
          const onnx = /^node_modules\/onnxruntime-node\/bin\/(napi-v\d+)\/(\w+)\/(\w+)\//.exec(rest);
          if (onnx) nativeFolders.add(`${onnx[2]}/${onnx[3]}`);
          const pkg = packageOf(rest);
          if (/^@img\/sharp-(?!colour)/.test(pkg)) sharpNatives.add(pkg);
          if (rest.endsWith('.node') && !rest.startsWith('node_modules/onnxruntime-node/bin/') && !rest.startsWith('node_modules/@img/sharp-')) outside.push(rest);
        } else if (!ALLOWED_FILES.some((r) => r.test(rest))) outside.push(rest);
      }
      assert.deepEqual(outside, [], 'files outside the allowed set');
      assert.deepEqual([...nativeFolders], [`${target.os}/${target.cpu}`], "onnxruntime-node's binaries");
      const wanted = target.os === 'win32' ? [`@img/sharp-win32-${target.cpu}`] : [`@img/sharp-${target.os}-${target.cpu}`, `@img/sharp-libvips-${target.os}-${target.cpu}`];
      assert.deepEqual([...sharpNatives].sort(), wanted.sort(), "sharp's native packages");
      for (const required of ['extension/dist/extension.js', 'extension/dist/worker.js', 'extension/dist/models/standin/decoder.onnx', 'extension/models/manifest.json', `extension/${manifest.icon}`]) {
        assert.ok(byName.has(required), `${required} missing`);
      }
      for (const root of RUNTIME_CLOSURE_ROOTS) assert.ok(byName.has(`extension/node_modules/${root}/package.json`), `${root} missing`);
    }));

  test(`${target.target}: every shipped package has its licence in the notices, libvips's LGPL included`, () =>
    withZipEntries(file, async (entries) => {
      const byName = new Map<string, ZipEntry>(entries.map((e) => [e.name, e]));
      const notices = (await byName.get('extension/THIRD-PARTY-NOTICES.md')?.read())?.toString('utf8');
      assert.ok(notices, 'THIRD-PARTY-NOTICES.md missing');
      assert.ok(byName.has('extension/LICENSE.txt') || byName.has('extension/LICENSE'), 'our own licence missing');
      const shipped = new Map<string, string>();
      for (const { name } of entries) {
        const m = /^extension\/((?:.*\/)?node_modules\/(?:@[^/]+\/)?[^/]+)\/package\.json$/.exec(name);
        if (!m) continue;
        const pkg = JSON.parse((await byName.get(name)!.read()).toString('utf8')) as { name?: string; version?: string };
        // package.json files inside a package's own folders (sharp's dist/) name no package.
        if (pkg.name && pkg.version && m[1]!.endsWith(pkg.name)) shipped.set(pkg.name, pkg.version);
      }
      assert.ok(shipped.size >= RUNTIME_CLOSURE_ROOTS.length);
      // Each listed package's section runs to the next listed package's heading (licence texts have headings of their own).
      const listed = [...notices.matchAll(/^\| (\S+) \| (\S+) \| .* \| (?:bundled|node_modules) \|$/gm)].map((m) => `\n## ${m[1]} ${m[2]}\n`);
      const starts = listed.map((h) => notices.indexOf(h)).filter((i) => i >= 0).sort((a, b) => a - b);
      const sectionOf = (heading: string): string | undefined => {
        const start = notices.indexOf(heading);
        if (start < 0) return undefined;
        const next = starts.find((i) => i > start) ?? notices.length;
        return notices.slice(start + heading.length, next);
      };
      const missing: string[] = [];
      for (const [name, version] of shipped) {
        const section = sectionOf(`\n## ${name} ${version}\n`);
        // A section has the licence line and a non-trivial licence text.
        if (!section || !/^Licence: /m.test(section) || section.length < 400) missing.push(`${name}@${version}`);
        if (!notices.includes(`| ${name} | ${version} |`)) missing.push(`${name}@${version} (table)`);
      }
      assert.deepEqual(missing, [], 'packages without their licence in the notices');
      assert.match(notices, /GNU LESSER GENERAL PUBLIC LICENSE\s+Version 3/);
      // Bundled packages are listed too: three.js renders the preview.
      assert.match(notices, /\| three \| [\d.]+ \| MIT \| bundled \|/);
    }));
}
