/**
 * What the CLI says when things go wrong, as its user reads it: for each case the exit code and the
 * first line of the message, in plain words (no errno, no V8 or C++ text), and a hint in the CLI's own
 * terms. Also --version, the exit codes in --help, and the one line about execution providers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli, type CliRun } from '../fixtures/cli.js';

const root = path.join(__dirname, '..', '..');
const NATIVE_DETAIL = /\.cc:|\.cpp:|onnxruntime\/core/;

function freshImage(): { dir: string; image: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'i3d-cli-msg-'));
  const image = path.join(dir, 'apple.png');
  copyFileSync(path.join(root, 'samples', 'apple.png'), image);
  return { dir, image };
}

/** The message and hint: stderr from the "Error: " line on (progress lines come before it). */
function errorLines(run: CliRun): string[] {
  const lines = run.stderr.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Error: '));
  assert.ok(start >= 0, `no "Error: " line in:\n${run.stderr}`);
  return lines.slice(start);
}

/** A port on 127.0.0.1 with nothing listening: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('--version prints the package version', async () => {
  const run = await runCli(['--version']);
  assert.equal(run.code, 0, run.stderr);
  const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  assert.equal(run.stdout, `${version}\n`);
});

test('--help lists every exit code, 70 among them', async () => {
  const run = await runCli(['--help']);
  assert.equal(run.code, 0);
  const codes = /^Exit codes: ([\s\S]*?)\.\n/m.exec(run.stdout)?.[1]?.replace(/\s+/g, ' ');
  assert.ok(codes, run.stdout);
  for (const part of ['0 done', '1 a problem you can fix', '2 bad usage', '70 a bug (please report it, with the message)', '130 cancelled']) {
    assert.ok(codes.includes(part), `${part} in: ${codes}`);
  }
});

test('a run prints one line about execution providers, with no C++ in it; --verbose adds the details', async () => {
  const { image } = freshImage();
  const run = await runCli([image, '--model', 'standin', '--resolution', '32', '--formats', 'glb']);
  assert.equal(run.code, 0, run.stderr);
  const providerLines = run.stderr.split('\n').filter((l) => /^Running on |provider/i.test(l));
  assert.equal(providerLines.length, 1, run.stderr);
  assert.match(providerLines[0]!, /^Running on \w+( \(.+\))?\.$/);
  assert.doesNotMatch(run.stderr, NATIVE_DETAIL);

  const { image: again } = freshImage();
  const verbose = await runCli([again, '--model', 'standin', '--resolution', '32', '--formats', 'glb', '--verbose']);
  assert.equal(verbose.code, 0, verbose.stderr);
  assert.match(verbose.stderr, /^Loaded standin model from /m);
  // Where a provider was passed over, --verbose shows its full error.
  if (providerLines[0]!.includes('(')) assert.match(verbose.stderr, /^Execution provider \w+ is unavailable: /m);
});

test('offline, the first download names the demonstration model and a mirror', async () => {
  const port = await closedPort();
  for (const origin of [`http://127.0.0.1:${port}`, 'http://nonexistent.invalid']) {
    const { dir, image } = freshImage();
    const cache = mkdtempSync(path.join(tmpdir(), 'i3d-cli-cache-'));
    const urls = ['config.yaml', 'model.ckpt'].flatMap((name) => ['--model-url', `${name}=${origin}/${name}`]);
    const run = await runCli([image, '--cache', cache, ...urls]);
    assert.equal(run.code, 1, run.stderr);
    const [message, hint] = errorLines(run);
    assert.match(message!, /^Error: Could not download (config\.yaml|model\.ckpt) from \S+ \((connection refused|host not found: no network, or a wrong address)\)\.$/);
    assert.match(hint!, /--model standin/);
    assert.match(hint!, /--model-url NAME=URL/);
    assert.deepEqual(readdirSync(dir), ['apple.png']);
  }
});

test('a mesh file whose header asks for billions of values says so, without V8\'s words', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'i3d-cli-msg-'));
  const ply = path.join(dir, 'big.ply');
  writeFileSync(
    ply,
    'ply\nformat binary_little_endian 1.0\nelement vertex 4000000000\nproperty float x\nproperty float y\nproperty float z\n' +
      'element face 1\nproperty list uchar int vertex_indices\nend_header\n',
  );
  const run = await runCli([ply, '--formats', 'step']);
  assert.equal(run.code, 1, run.stderr);
  assert.match(errorLines(run)[0]!, /^Error: .*big\.ply could not be read as PLY: it announces more data than fits in memory/);
  assert.doesNotMatch(run.stderr, /Invalid typed array length|RangeError/);
});

test('a folder where a file is expected is "a folder", never EISDIR', async () => {
  const { dir, image } = freshImage();
  mkdirSync(path.join(dir, 'apple.glb'));
  const run = await runCli([image, '--model', 'standin', '--resolution', '32', '--formats', 'glb', '--existing', 'overwrite']);
  assert.equal(run.code, 1, run.stderr);
  assert.match(errorLines(run)[0]!, /^Error: .*apple\.glb.* is a folder/);
  assert.doesNotMatch(run.stderr, /EISDIR|illegal operation/);

  const meshFolder = path.join(dir, 'part.stl');
  mkdirSync(meshFolder);
  const convert = await runCli([meshFolder, '--formats', 'step']);
  assert.equal(convert.code, 1, convert.stderr);
  assert.equal(errorLines(convert)[0], `Error: ${meshFolder} is a folder, not a mesh file.`);
});

test('an output folder the system refuses says why in words, not an errno', async () => {
  const { image } = freshImage();
  const tooLong = path.join(path.dirname(image), 'x'.repeat(300));
  const run = await runCli([image, '--model', 'standin', '--formats', 'glb', '--out', tooLong]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(errorLines(run)[0]!, /^Error: Cannot create files in the folder .*: the name or path is too long\.$/);
  assert.doesNotMatch(run.stderr, /ENAMETOOLONG/);
});
