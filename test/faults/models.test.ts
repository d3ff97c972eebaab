/**
 * Fault injection on where the network comes from, through the CLI: a config.yaml edited after the
 * first conversion, a damaged conversion cache, a mirror serving other bytes than the published files,
 * a checkpoint that is refused, and hostile checkpoints and configs (kept from the cases that held).
 * Every case checks the exit code, the first line of the error, and the folders it touched: each file
 * that was there before has the same SHA-256, and nothing else is there that the case did not expect.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli, type CliRun } from '../fixtures/cli.js';
import { TestFileServer } from '../fixtures/httpServer.js';
import { assertFolder, folderState } from '../fixtures/folderState.js';

const root = path.join(__dirname, '..', '..');
const work = mkdtempSync(path.join(tmpdir(), 'i3d-faults-model-'));
const tiny = path.join(work, 'tiny');
const hostile = path.join(work, 'hostile');
let server: TestFileServer;

before(async () => {
  const made = spawnSync('/usr/bin/python3', [path.join(root, 'test/reference/make_checkpoint.py'), '--config', 'tiny', '--out', tiny, '--seed', '7'], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const evil = spawnSync('/usr/bin/python3', [path.join(root, 'test/checkpoint-fixtures/make_checkpoints.py'), 'small', hostile], { encoding: 'utf8' });
  assert.equal(evil.status, 0, evil.stderr);
  server = await TestFileServer.start();
});
after(() => server?.close());

function errorLine(run: CliRun): string {
  return run.stderr.split('\n').find((line) => line.startsWith('Error: ')) ?? `(no error line in: ${run.stderr.slice(-400)})`;
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A folder with the sample image, and a copy of the tiny checkpoint with its config in a folder of its own. */
function setUp(): { dir: string; image: string; checkpoint: string } {
  const dir = mkdtempSync(path.join(work, 'case-'));
  const image = path.join(dir, 'apple.png');
  copyFileSync(path.join(root, 'samples', 'apple.png'), image);
  const weights = path.join(dir, 'weights');
  mkdirSync(weights);
  for (const name of ['model.ckpt', 'config.yaml']) copyFileSync(path.join(tiny, name), path.join(weights, name));
  return { dir, image, checkpoint: path.join(weights, 'model.ckpt') };
}

const RUN = ['--resolution', '40', '--formats', 'glb', '--providers', 'cpu'];

test('an edit to config.yaml after the first conversion is converted again, not served from the cache', async () => {
  const { dir, image, checkpoint } = setUp();
  const cache = path.join(dir, 'cache');
  const first = await runCli([image, '--model', checkpoint, '--cache', cache, ...RUN]);
  assert.equal(first.code, 0, first.stderr);
  const firstGlb = sha256(path.join(dir, 'apple.glb'));
  const config = path.join(path.dirname(checkpoint), 'config.yaml');
  writeFileSync(config, readFileSync(config, 'utf8').replace(/radius: 0\.87/, 'radius: 0.6'));
  const second = await runCli([image, '--model', checkpoint, '--cache', cache, ...RUN, '--existing', 'overwrite']);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /Converting TripoSR to ONNX/, 'the edited config was not converted');
  assert.notEqual(sha256(path.join(dir, 'apple.glb')), firstGlb, 'the same mesh came out of a different radius');
});

test('a config.yaml that no longer fits the weights is refused, and nothing is written', async () => {
  const { dir, image, checkpoint } = setUp();
  const config = path.join(path.dirname(checkpoint), 'config.yaml');
  writeFileSync(config, readFileSync(config, 'utf8').replace(/num_layers: 3/, 'num_layers: 4'));
  const beforeRun = folderState(dir);
  const run = await runCli([image, '--model', checkpoint, '--cache', path.join(work, 'unused-cache'), ...RUN]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(errorLine(run), /config\.yaml does not match the weights/);
  assertFolder(beforeRun, folderState(dir), []);
});

for (const damage of ['truncated encoder.onnx.data', 'deleted decoder.onnx'] as const) {
  test(`a conversion cache with a ${damage} is rebuilt, saying so, and the run succeeds`, async () => {
    const { dir, image, checkpoint } = setUp();
    const cache = path.join(dir, 'cache');
    const first = await runCli([image, '--model', checkpoint, '--cache', cache, ...RUN]);
    assert.equal(first.code, 0, first.stderr);
    // The conversion is cached beside the checkpoint when that folder is writable.
    const cacheRoot = path.join(path.dirname(checkpoint), '.image-to-3d');
    const converted = readdirSync(cacheRoot, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(cacheRoot, e.name));
    assert.equal(converted.length, 1, readdirSync(cacheRoot).join(', '));
    if (damage === 'truncated encoder.onnx.data') truncateSync(path.join(converted[0]!, 'encoder.onnx.data'), 1000);
    else unlinkSync(path.join(converted[0]!, 'decoder.onnx'));
    const second = await runCli([image, '--model', checkpoint, '--cache', cache, ...RUN, '--existing', 'overwrite']);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /was damaged .*converting again/i);
    assert.equal(sha256(path.join(dir, 'apple.glb')).length, 64);
  });
}

/** The published config.yaml's pin, from models/manifest.json. */
function publishedConfig(): { sha256: string; size: number } {
  const manifest = JSON.parse(readFileSync(path.join(root, 'models', 'manifest.json'), 'utf8')) as {
    models: { id: string; files: { name: string; sha256?: string | null; size?: number | null }[] }[];
  };
  const pin = manifest.models.find((m) => m.id === 'triposr')?.files.find((f) => f.name === 'config.yaml');
  assert.ok(pin?.sha256 && pin.size, 'models/manifest.json pins config.yaml');
  return { sha256: pin.sha256, size: pin.size };
}

for (const kind of ['same size, other bytes', 'another size'] as const) {
  test(`a mirror serving other bytes than the published config.yaml (${kind}) is refused, naming both, and nothing is recorded`, async () => {
    const { dir, image } = setUp();
    const cache = path.join(dir, 'cache');
    const published = publishedConfig();
    const served = Buffer.alloc(kind === 'another size' ? published.size + 321 : published.size, ' ');
    served.write('cond_image_size: 512\n');
    server.serve(`/bad-${kind.length}/config.yaml`, served);
    const beforeRun = folderState(dir);
    const run = await runCli([image, '--cache', cache, '--model-url', `config.yaml=${server.url(`/bad-${kind.length}/config.yaml`)}`, ...RUN]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(errorLine(run), /config\.yaml/);
    if (kind === 'another size') {
      assert.ok(run.stderr.includes(`${published.size} bytes`) && run.stderr.includes(`${served.length} bytes`), run.stderr);
    } else {
      assert.ok(run.stderr.includes(published.sha256), `the published hash is not named: ${run.stderr}`);
      assert.ok(run.stderr.includes(createHash('sha256').update(served).digest('hex')), `the served file's hash is not named: ${run.stderr}`);
    }
    // Only the cache folder may have appeared: no downloaded file is kept, and its record trusts none.
    const after = folderState(dir);
    const cacheFiles = [...after.keys()].filter((rel) => rel.startsWith('cache'));
    assert.ok(!cacheFiles.some((rel) => /config\.yaml/.test(rel)), `kept: ${cacheFiles.join(', ')}`);
    const record = path.join(cache, 'triposr', 'files.json');
    if (after.has(path.relative(dir, record))) {
      const trusted = (JSON.parse(readFileSync(record, 'utf8')) as { files: { name: string }[] }).files.map((f) => f.name);
      assert.deepEqual(trusted, [], 'a refused file was recorded as trusted');
    }
    assertFolder(beforeRun, new Map([...after].filter(([rel]) => !rel.startsWith('cache'))), []);
  });
}

test('a refused checkpoint leaves nothing beside it (no .image-to-3d, no hash memo)', async () => {
  const { dir, image } = setUp();
  const bad = path.join(dir, 'bad');
  mkdirSync(bad);
  writeFileSync(path.join(bad, 'model.ckpt'), 'this is not a checkpoint\n');
  copyFileSync(path.join(tiny, 'config.yaml'), path.join(bad, 'config.yaml'));
  const beforeRun = folderState(dir);
  const run = await runCli([image, '--model', path.join(bad, 'model.ckpt'), '--cache', path.join(work, 'unused-cache'), ...RUN]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(errorLine(run), /model\.ckpt/);
  assertFolder(beforeRun, folderState(dir), []);
});

test('a checkpoint whose pickle calls os.system is refused, the payload never runs, and nothing is left', async () => {
  const { dir, image } = setUp();
  const evil = path.join(dir, 'evil');
  mkdirSync(evil);
  copyFileSync(path.join(hostile, 'evil_os.ckpt'), path.join(evil, 'model.ckpt'));
  copyFileSync(path.join(tiny, 'config.yaml'), path.join(evil, 'config.yaml'));
  const marker = (JSON.parse(readFileSync(path.join(hostile, 'manifest.json'), 'utf8')) as { marker: string }).marker;
  const beforeRun = folderState(dir);
  const run = await runCli([image, '--model', path.join(evil, 'model.ckpt'), '--cache', path.join(work, 'unused-cache'), ...RUN]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(errorLine(run), /os\.system/);
  assert.equal(readdirSync(path.dirname(marker)).includes(path.basename(marker)), false, 'the payload ran');
  assertFolder(beforeRun, folderState(dir), []);
});

test('a config.yaml that is a YAML alias bomb is refused quickly, and nothing is left', async () => {
  const { dir, image, checkpoint } = setUp();
  const config = path.join(path.dirname(checkpoint), 'config.yaml');
  const levels = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 12; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
  writeFileSync(config, `${levels.join('\n')}\n`);
  const beforeRun = folderState(dir);
  const started = performance.now();
  const run = await runCli([image, '--model', checkpoint, '--cache', path.join(work, 'unused-cache'), ...RUN]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(errorLine(run), /config\.yaml/);
  assert.ok(performance.now() - started < 30_000, 'the bomb was expanded');
  assertFolder(beforeRun, folderState(dir), []);
});
