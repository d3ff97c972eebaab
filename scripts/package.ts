/**
 * Builds the platform VSIX packages: `npm run package [-- --target linux-x64 ...] [--skip-build]`.
 *
 * A VSIX install runs no npm scripts and no compiler, so each package carries the native binaries of
 * its own platform and nothing else. For each target (scripts/package/targets.ts):
 * 1. a staging folder gets the manifest (package.json without development fields, its dependencies
 *    the run-time packages the bundles leave out), the production build of dist/ without source
 *    maps, the stand-in model, models/manifest.json, README, CHANGELOG, LICENSE, the icon and the
 *    third-party notices;
 * 2. `npm install --os --cpu [--libc]` there installs the run-time packages for that platform, the
 *    way sharp documents cross-platform installs (its prebuilt @img/sharp-<platform> and libvips
 *    packages), with install scripts off (onnxruntime-node's would fetch CUDA from NuGet);
 * 3. a .vscodeignore keeps onnxruntime-node's binaries for that platform only, and no sources,
 *    type declarations or source maps;
 * 4. `vsce package --target` writes out/vsix/image-to-3d-<target>-<version>.vsix, and the script
 *    checks its size against the target's budget.
 * The table printed at the end is the one the closing notes quote.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { bundledPackageDirs, installedPackageDirs, licenceOf, noticesText, type PackageLicence } from './package/notices';
import { OPEN_VSX_UPLOAD_CAP_BYTES, PACKAGE_OUT_DIR, PACKAGE_TARGETS, PACKAGE_WORK_DIR, RUNTIME_PACKAGES, vsixName, type PackageTarget } from './package/targets';

const ROOT = path.resolve(__dirname, '..');
const WORK = path.join(ROOT, PACKAGE_WORK_DIR);
const OUT = path.join(ROOT, PACKAGE_OUT_DIR);
const META = path.join(ROOT, '.cache', 'build-meta');
const VSCE = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
/**
 * npm as `npm run package` started it (npm_execpath is its CLI script), run by this Node: no shell,
 * so paths with spaces pass whole and Windows needs no npm.cmd (which Node refuses to spawn directly).
 */
const NPM: readonly [string, ...string[]] = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];

/** Files and folders of the repository that every package carries, as they are. */
const TOP_LEVEL_FILES = ['README.md', 'CHANGELOG.md', 'LICENSE'];
const MANIFEST_FIELDS_DROPPED = ['devDependencies', 'scripts', 'private', 'bin'];

interface Manifest {
  name: string;
  version: string;
  icon?: string;
  dependencies?: Record<string, string>;
  [field: string]: unknown;
}

interface Lock {
  packages: Record<string, { version?: string }>;
}

function run(command: string, args: readonly string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed in ${cwd} (exit ${result.status})`);
}

function lockedVersion(lock: Lock, name: string): string {
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (!version) throw new Error(`package-lock.json does not lock ${name}: run npm install.`);
  return version;
}

/** The manifest a package carries: development fields gone, dependencies only what loads at run time. */
function packageManifest(manifest: Manifest, lock: Lock, target: PackageTarget): Manifest {
  const shipped: Manifest = { ...manifest };
  for (const field of MANIFEST_FIELDS_DROPPED) delete shipped[field];
  shipped.dependencies = Object.fromEntries(
    RUNTIME_PACKAGES.map((name) => [name, name === 'onnxruntime-node' && target.onnxruntimeVersion ? target.onnxruntimeVersion : lockedVersion(lock, name)]),
  );
  return shipped;
}

/** The one napi-v* folder onnxruntime-node keeps its binaries in for this platform. */
function onnxruntimeBinaryDir(stage: string, target: PackageTarget): string {
  const bin = path.join(stage, 'node_modules', 'onnxruntime-node', 'bin');
  const napi = existsSync(bin) ? readdirSync(bin).filter((d) => existsSync(path.join(bin, d, target.os, target.cpu, 'onnxruntime_binding.node'))) : [];
  if (napi.length !== 1) throw new Error(`onnxruntime-node in ${stage} has ${napi.length} binary folders for ${target.os}/${target.cpu}; expected one.`);
  return `node_modules/onnxruntime-node/bin/${napi[0]}/${target.os}/${target.cpu}`;
}

/** sharp's native package for the target, as sharp names it (linux glibc builds have no libc suffix). */
export function sharpPackageName(target: PackageTarget): string {
  return `@img/sharp-${target.os}-${target.cpu}`;
}

function vscodeIgnore(onnxBinaries: string): string {
  return [
    '# Written by scripts/package.ts for one target.',
    '.vscodeignore',
    '**/*.map',
    '**/*.d.ts',
    '**/*.d.cts',
    '**/*.d.mts',
    '**/*.ts',
    '**/.github/**',
    // onnxruntime-node carries every platform's binaries; the target's own are let back in below.
    'node_modules/onnxruntime-node/bin/**',
    `!${onnxBinaries}/**`,
    // Sources and install-time helpers nothing loads at run time.
    'node_modules/onnxruntime-node/script/**',
    'node_modules/onnxruntime-node/lib/**',
    'node_modules/onnxruntime-common/lib/**',
    'node_modules/sharp/src/**',
    'node_modules/draco3dgltf/bunny.drc',
    'node_modules/draco3dgltf/draco_nodejs_example.js',
    '',
  ].join('\n');
}

function copyBuild(stage: string): void {
  cpSync(path.join(ROOT, 'dist'), path.join(stage, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') });
  mkdirSync(path.join(stage, 'models'), { recursive: true });
  copyFileSync(path.join(ROOT, 'models', 'manifest.json'), path.join(stage, 'models', 'manifest.json'));
  for (const file of TOP_LEVEL_FILES) copyFileSync(path.join(ROOT, file), path.join(stage, file));
}

function buildTarget(target: PackageTarget, manifest: Manifest, lock: Lock, bundled: readonly PackageLicence[]): { file: string; bytes: number } {
  const stage = path.join(WORK, target.target);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  const shipped = packageManifest(manifest, lock, target);
  writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(shipped, null, 2)}\n`);

  const platform = [`--os=${target.os}`, `--cpu=${target.cpu}`, ...(target.libc ? [`--libc=${target.libc}`] : [])];
  run(NPM[0], [...NPM.slice(1), 'install', ...platform, '--omit=dev', '--ignore-scripts', '--no-package-lock', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], stage);
  const sharpNative = path.join(stage, 'node_modules', ...sharpPackageName(target).split('/'));
  if (!existsSync(sharpNative)) throw new Error(`npm did not install ${sharpPackageName(target)} for ${target.target}: sharp would not load there.`);
  const onnxBinaries = onnxruntimeBinaryDir(stage, target);

  copyBuild(stage);
  if (manifest.icon) {
    mkdirSync(path.dirname(path.join(stage, manifest.icon)), { recursive: true });
    copyFileSync(path.join(ROOT, manifest.icon), path.join(stage, manifest.icon));
  }
  const installed = installedPackageDirs(path.join(stage, 'node_modules')).map((dir) => licenceOf(dir, 'node_modules', path.join(ROOT, 'licenses')));
  writeFileSync(path.join(stage, 'THIRD-PARTY-NOTICES.md'), noticesText(String(manifest.displayName ?? manifest.name), [...bundled, ...installed]));
  writeFileSync(path.join(stage, '.vscodeignore'), vscodeIgnore(onnxBinaries));

  mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, vsixName(manifest.name, manifest.version, target.target));
  rmSync(file, { force: true });
  run(process.execPath, [VSCE, 'package', '--target', target.target, '--out', file], stage);
  // Each staging folder holds all of onnxruntime-node as npm unpacked it (about 300 MB): kept only
  // when packaging failed, to look into.
  rmSync(stage, { recursive: true, force: true });
  return { file, bytes: statSync(file).size };
}

/**
 * out/vsix/packages.json: which file is which target's package for this version, for whatever
 * installs them (test/vscode/run.mjs --vsix out/vsix picks the host's). Entries of other versions go.
 */
function recordBuilt(version: string, built: Record<string, string>): void {
  const index = path.join(OUT, 'packages.json');
  let previous: { version?: string; packages?: Record<string, string> } = {};
  try {
    previous = JSON.parse(readFileSync(index, 'utf8')) as typeof previous;
  } catch {
    // None yet, or unreadable: start over.
  }
  const packages = previous.version === version ? { ...previous.packages, ...built } : built;
  writeFileSync(index, `${JSON.stringify({ version, packages }, null, 2)}\n`);
}

function main(): void {
  const { values } = parseArgs({ options: { target: { type: 'string', multiple: true }, 'skip-build': { type: 'boolean', default: false } } });
  const unknown = (values.target ?? []).filter((t) => !PACKAGE_TARGETS.some((p) => p.target === t));
  if (unknown.length > 0) throw new Error(`Unknown target ${unknown.join(', ')}; the targets are ${PACKAGE_TARGETS.map((t) => t.target).join(', ')}.`);
  const targets = values.target ? PACKAGE_TARGETS.filter((t) => values.target!.includes(t.target)) : PACKAGE_TARGETS;
  if (!existsSync(VSCE)) throw new Error('@vscode/vsce is not installed: run npm ci.');

  if (!values['skip-build']) run(process.execPath, ['esbuild.config.mjs', '--production'], ROOT);
  if (!existsSync(META)) throw new Error(`No build metadata in ${path.relative(ROOT, META)}: build with node esbuild.config.mjs --production first.`);
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as Lock;
  const bundled = bundledPackageDirs(META, ROOT).map((dir) => licenceOf(dir, 'bundled', path.join(ROOT, 'licenses')));

  const rows: string[] = [];
  const built: Record<string, string> = {};
  let over = false;
  for (const target of targets) {
    const started = Date.now();
    const { file, bytes } = buildTarget(target, manifest, lock, bundled);
    built[target.target] = path.basename(file);
    const within = bytes <= target.budgetBytes && bytes < OPEN_VSX_UPLOAD_CAP_BYTES;
    over ||= !within;
    rows.push(
      `  ${target.target.padEnd(13)} ${(bytes / 1e6).toFixed(1).padStart(6)} MB  budget ${(target.budgetBytes / 1e6).toFixed(0).padStart(3)} MB  ${within ? 'within' : 'OVER BUDGET'}  ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s  ${path.relative(ROOT, file)}`,
    );
  }
  console.log(`\nVSIX packages (Open VSX accepts up to ${OPEN_VSX_UPLOAD_CAP_BYTES / 2 ** 20} MiB):\n${rows.join('\n')}`);
  recordBuilt(manifest.version, built);
  if (over) throw new Error('A package is over its size budget (scripts/package/targets.ts).');
}

try {
  main();
} catch (error) {
  console.error(`package: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
