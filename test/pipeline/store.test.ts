import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { UserError } from '../../src/pipeline/errors.js';
import { CancelledError } from '../../src/pipeline/progress.js';
import { downloadFile, sweepPartFiles } from '../../src/pipeline/network/store/download.js';
import {
  downloadableModel,
  loadManifest,
  ManifestError,
  parseManifest,
  type DownloadableManifestModel,
} from '../../src/pipeline/network/store/manifest.js';
import { defaultCliCacheDir, ModelStore, type StoreProgress } from '../../src/pipeline/network/store/modelStore.js';
import {
  formatBytes,
  formatDownloadProgress,
  formatDuration,
  formatRate,
} from '../../src/pipeline/network/store/progressFormat.js';
import { TestFileServer } from '../fixtures/httpServer.js';
import { plainHint, rejectsWith } from '../fixtures/userErrors.js';

const MODEL_PATH = '/stabilityai/TripoSR/resolve/main/model.ckpt';
const CONFIG_PATH = '/stabilityai/TripoSR/resolve/main/config.yaml';
/** An odd size, so off-by-one errors in ranges show. */
const model = randomBytes(4 * 1024 * 1024 + 4321);
const config = Buffer.from('model:\n  cond_image_size: 512\n  renderer:\n    density_threshold: 25.0\n');

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}


let server: TestFileServer;
let cdn: TestFileServer;
let root: string;
let dir: string;

before(async () => {
  server = await TestFileServer.start();
  cdn = await TestFileServer.start();
  root = await mkdtemp(join(tmpdir(), 'i3d-store-'));
});

after(async () => {
  await server.close();
  await cdn.close();
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
beforeEach(async () => {
  server.reset();
  cdn.reset();
  server.serve(MODEL_PATH, model);
  server.serve(CONFIG_PATH, config);
  dir = join(root, `case-${++counter}`);
});

describe('downloadFile', { timeout: 60_000 }, () => {
  it('downloads the whole file, hashes it and leaves no .part', async () => {
    const dest = join(dir, 'model.ckpt');
    const result = await downloadFile(server.url(MODEL_PATH), dest);
    assert.equal(result.path, dest);
    assert.equal(result.size, model.length);
    assert.equal(result.sha256, sha256(model));
    assert.ok((await readFile(dest)).equals(model));
    assert.deepEqual(await readdir(dir), ['model.ckpt']);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0]!.range, undefined);
  });

  it('resumes after a dropped connection with a Range request for the remainder only', async () => {
    const dest = join(dir, 'model.ckpt');
    server.behaveOnce({ dropAfter: 1_500_000 });
    const err = await rejectsWith(downloadFile(server.url(MODEL_PATH), dest), 'download-failed');
    assert.match(err.message, /^The download of model\.ckpt stopped at [\d.]+ MB of 4\.2 MB \(connection reset\)\. Run the download again to resume\.$/);
    assert.equal(await exists(dest), false, 'nothing under the final name');
    const partSize = (await stat(`${dest}.part`)).size;
    assert.ok(partSize > 0 && partSize <= 1_500_000, `part holds the received prefix (${partSize})`);
    assert.ok((await readFile(`${dest}.part`)).equals(model.subarray(0, partSize)));

    const result = await downloadFile(server.url(MODEL_PATH), dest);
    const second = server.requests[1]!;
    assert.equal(second.range, `bytes=${partSize}-`);
    assert.equal(second.status, 206);
    assert.equal(second.bodyBytes, model.length - partSize, 'only the remainder was served');
    assert.equal(result.sha256, sha256(model), 'the hash covers the resumed prefix too');
    assert.ok((await readFile(dest)).equals(model));
    assert.equal(await exists(`${dest}.part`), false);
  });

  it('starts over when the server ignores Range', async () => {
    const dest = join(dir, 'model.ckpt');
    server.behaveOnce({ dropAfter: 1_000_000 });
    await rejectsWith(downloadFile(server.url(MODEL_PATH), dest), 'download-failed');
    server.behave({ range: 'ignore' });
    const result = await downloadFile(server.url(MODEL_PATH), dest);
    assert.match(server.requests[1]!.range ?? '', /^bytes=\d+-$/);
    assert.equal(server.requests[1]!.status, 200);
    assert.equal(server.requests[1]!.bodyBytes, model.length);
    assert.equal(result.sha256, sha256(model));
    assert.ok((await readFile(dest)).equals(model), 'the old prefix was not kept in front of the full body');
  });

  it('starts over when the server answers 206 for another range', async () => {
    const dest = join(dir, 'model.ckpt');
    await mkdir(dir, { recursive: true });
    await writeFile(`${dest}.part`, model.subarray(0, 777_777));
    server.behaveOnce({ range: 'wrong-start' });
    const result = await downloadFile(server.url(MODEL_PATH), dest);
    assert.deepEqual(
      server.requests.map((r) => [r.range, r.status]),
      [
        ['bytes=777777-', 206],
        [undefined, 200],
      ],
    );
    assert.equal(result.sha256, sha256(model));
    assert.ok((await readFile(dest)).equals(model));
  });

  it('treats a .part that is already whole (416) as finished', async () => {
    const dest = join(dir, 'config.yaml');
    await mkdir(dir, { recursive: true });
    await writeFile(`${dest}.part`, config);
    const result = await downloadFile(server.url(CONFIG_PATH), dest);
    assert.equal(server.requests[0]!.status, 416);
    assert.equal(result.sha256, sha256(config));
    assert.ok((await readFile(dest)).equals(config));
  });

  for (const status of [404, 500]) {
    it(`reports HTTP ${status} with the status and creates no final file`, async () => {
      const dest = join(dir, 'model.ckpt');
      server.behave({ status });
      const err = await rejectsWith(downloadFile(server.url(MODEL_PATH), dest), 'download-failed');
      assert.match(err.message, new RegExp(`model\\.ckpt: the server answered HTTP ${status}\\b`));
      assert.ok(err.message.includes(server.url(MODEL_PATH)), 'names the address');
      assert.equal(await exists(dest), false);
    });
  }

  it('follows a redirect to another host, as Hugging Face does to its CDN, and resumes through it', async () => {
    cdn.serve('/blobs/abc123', model);
    server.redirect(MODEL_PATH, `${cdn.origin}/blobs/abc123?signature=xyz`);
    const dest = join(dir, 'model.ckpt');
    cdn.behaveOnce({ dropAfter: 2_000_000 });
    await rejectsWith(downloadFile(server.url(MODEL_PATH), dest), 'download-failed');
    const result = await downloadFile(server.url(MODEL_PATH), dest);
    assert.equal(result.sha256, sha256(model));
    assert.deepEqual(
      server.requests.map((r) => r.status),
      [302, 302],
    );
    const partSize = model.length - cdn.requests[1]!.bodyBytes;
    assert.equal(cdn.requests[1]!.range, `bytes=${partSize}-`, 'the Range header survives the redirect');
  });

  it('gives up after maxRedirects', async () => {
    server.redirect('/a', '/b');
    server.redirect('/b', '/a');
    const dest = join(dir, 'loop.bin');
    const err = await rejectsWith(downloadFile(server.url('/a'), dest, { maxRedirects: 3 }), 'download-failed');
    assert.match(err.message, /more than 3 redirects/);
    assert.equal(server.requests.length, 4);
    assert.equal(await exists(dest), false);
  });

  it('refuses a body shorter than expectedSize when the server announced no size, and deletes the .part', async () => {
    const dest = join(dir, 'model.ckpt');
    server.behave({ omitLength: true });
    const err = await rejectsWith(downloadFile(server.url(MODEL_PATH), dest, { expectedSize: model.length + 1000 }), 'download-failed');
    assert.match(err.message, new RegExp(`model\\.ckpt was refused: the server sent .*\\(${model.length} bytes\\), but it should be .*\\(${model.length + 1000} bytes\\)`));
    assert.equal(await exists(dest), false);
    assert.equal(await exists(`${dest}.part`), false);
  });

  it('stops taking a body that runs past expectedSize', async () => {
    const dest = join(dir, 'model.ckpt');
    server.behave({ omitLength: true, chunkSize: 64 * 1024, delayMs: 3 });
    const err = await rejectsWith(downloadFile(server.url(MODEL_PATH), dest, { expectedSize: 1_000_000 }), 'download-failed');
    assert.match(err.message, /model\.ckpt was refused: the server sent more than 1 MB/);
    assert.ok(server.requests[0]!.bodyBytes < model.length, 'the rest of the body was not waited for');
    assert.equal(await exists(dest), false);
    assert.equal(await exists(`${dest}.part`), false);
  });

  it('refuses a Content-Length that disagrees with expectedSize', async () => {
    const dest = join(dir, 'model.ckpt');
    server.behave({ lengthDelta: -1000 });
    const err = await rejectsWith(downloadFile(server.url(MODEL_PATH), dest, { expectedSize: model.length }), 'download-failed');
    assert.match(err.message, new RegExp(`model\\.ckpt was refused: the server announced .*\\(${model.length - 1000} bytes\\)`));
    assert.equal(await exists(dest), false);
    assert.equal(await exists(`${dest}.part`), false);
  });

  it('refuses a server whose size disagrees with expectedSize before taking the body', async () => {
    const dest = join(dir, 'model.ckpt');
    const err = await rejectsWith(downloadFile(server.url(MODEL_PATH), dest, { expectedSize: model.length + 1 }), 'download-failed');
    assert.match(err.message, /model\.ckpt was refused: the server announced/);
    assert.equal(await exists(dest), false);
    assert.equal(await exists(`${dest}.part`), false);
  });

  it('does not take a body cut short of its Content-Length', async () => {
    const dest = join(dir, 'model.ckpt');
    server.behave({ lengthDelta: 5000 });
    const err = await rejectsWith(downloadFile(server.url(MODEL_PATH), dest), 'download-failed');
    assert.match(err.message, /stopped at/);
    assert.equal(await exists(dest), false);
  });

  it('cancels mid-transfer: CancelledError, .part kept, no final file; the next call resumes', async () => {
    const dest = join(dir, 'model.ckpt');
    server.behave({ chunkSize: 64 * 1024, delayMs: 5 });
    const controller = new AbortController();
    await assert.rejects(
      downloadFile(server.url(MODEL_PATH), dest, {
        signal: controller.signal,
        progressIntervalMs: 0,
        onProgress: (received) => {
          if (received >= 1_000_000) controller.abort();
        },
      }),
      CancelledError,
    );
    assert.equal(await exists(dest), false);
    const partSize = (await stat(`${dest}.part`)).size;
    assert.ok(partSize >= 1_000_000 && partSize < model.length, `kept ${partSize} bytes`);

    server.behave({});
    const result = await downloadFile(server.url(MODEL_PATH), dest);
    assert.equal(server.requests[1]!.range, `bytes=${partSize}-`);
    assert.equal(result.sha256, sha256(model));
  });

  it('does not start when already cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(downloadFile(server.url(MODEL_PATH), join(dir, 'x'), { signal: controller.signal }), CancelledError);
    assert.equal(server.requests.length, 0);
  });

  it('fails a connection that goes quiet, naming how long it waited', async () => {
    const dest = join(dir, 'model.ckpt');
    server.behaveOnce({ stallAfter: 500_000 });
    const err = await rejectsWith(downloadFile(server.url(MODEL_PATH), dest, { fetchTimeoutMs: 300 }), 'download-failed');
    assert.match(err.message, /stopped at .* \(no data for 0\.3 s\)/);
    assert.equal((await stat(`${dest}.part`)).size, 500_000);
  });

  it('reports progress throttled, with monotonic counts, the total and a rate', async () => {
    server.behave({ chunkSize: 32 * 1024, delayMs: 2 });
    const calls: [number, number | undefined, number][] = [];
    await downloadFile(server.url(MODEL_PATH), join(dir, 'model.ckpt'), {
      onProgress: (received, total, rate) => calls.push([received, total, rate]),
    });
    const chunks = Math.ceil(model.length / (32 * 1024));
    assert.ok(calls.length >= 3, `some progress (${calls.length})`);
    assert.ok(calls.length < chunks / 2, `throttled: ${calls.length} calls for ${chunks} chunks`);
    for (let i = 1; i < calls.length; i++) assert.ok(calls[i]![0] >= calls[i - 1]![0], 'monotonic');
    assert.ok(calls.every((c) => c[1] === model.length));
    assert.equal(calls.at(-1)![0], model.length);
    assert.ok(calls.at(-1)![2] > 0, 'a rate once bytes flowed');
  });

  it('refuses up front when the disk cannot hold the announced size', async () => {
    const dest = join(dir, 'huge.bin');
    const petabytes = 2 ** 52;
    const err = await rejectsWith(downloadFile(server.url(MODEL_PATH), dest, { expectedSize: petabytes }), 'disk-full');
    assert.ok(err.message.includes(dir), 'names the folder');
    assert.match(err.message, /needs 4\.5 PB more/);
    assert.equal(server.requests.length, 0, 'nothing was requested');
  });

  it('turns ENOSPC during the write into a disk-full error', { skip: process.platform !== 'linux' && 'needs /dev/full' }, async () => {
    const dest = join(dir, 'model.ckpt');
    await mkdir(dir, { recursive: true });
    // Writes through this link reach /dev/full, which fails every write with ENOSPC: a real full disk.
    await symlink('/dev/full', `${dest}.part`);
    const err = await rejectsWith(downloadFile(server.url(MODEL_PATH), dest), 'disk-full');
    assert.match(err.message, /is full: the download of model\.ckpt stopped at 0 B of 4\.2 MB\. It needs 4\.2 MB more\./);
    assert.ok(err.message.includes(dir));
    assert.equal(await exists(dest), false);
  });

  it('sweeps .part files only', async () => {
    const dest = join(dir, 'model.ckpt');
    server.behaveOnce({ dropAfter: 100_000 });
    await rejectsWith(downloadFile(server.url(MODEL_PATH), dest), 'download-failed');
    await writeFile(join(dir, 'keep.txt'), 'x');
    assert.deepEqual(await sweepPartFiles(dir), [`${dest}.part`]);
    assert.deepEqual(await readdir(dir), ['keep.txt']);
  });
});

/** The shipped TripoSR entry with its pins swapped for the test files': the local server is then a mirror serving the published bytes. */
function pinnedTo(published: DownloadableManifestModel, files: Record<string, Buffer>): DownloadableManifestModel {
  return { ...published, files: published.files.map((f) => ({ ...f, size: files[f.name]!.length, sha256: sha256(files[f.name]!) })) };
}

/** An entry with nothing pinned, whose own URLs are the local server (the publisher, not a mirror). */
function unpinnedAt(published: DownloadableManifestModel, urls: Record<string, string>): DownloadableManifestModel {
  return { ...published, files: published.files.map((f) => ({ name: f.name, url: urls[f.name]!, size: null, sha256: null })) };
}

describe('ModelStore', { timeout: 60_000 }, () => {
  let published: DownloadableManifestModel;
  let entry: DownloadableManifestModel;
  let overrides: Record<string, string>;

  before(async () => {
    published = downloadableModel(await loadManifest(join(__dirname, '..', '..', 'models', 'manifest.json')), 'triposr');
    entry = pinnedTo(published, { 'config.yaml': config, 'model.ckpt': model });
  });
  beforeEach(() => {
    overrides = { 'config.yaml': server.url(CONFIG_PATH), 'model.ckpt': server.url(MODEL_PATH) };
  });

  it('downloads every file, records size and SHA-256, and reports each status', async () => {
    const store = new ModelStore(dir);
    assert.deepEqual(await store.status(), { state: 'missing' });
    const events: StoreProgress[] = [];
    const record = await store.ensureDownloaded(entry, { urlOverrides: overrides, onProgress: (p) => events.push(p) });

    const onDisk: unknown = JSON.parse(await readFile(join(dir, 'triposr', 'files.json'), 'utf8'));
    assert.deepEqual(onDisk, record);
    assert.deepEqual(
      record.files.map((f) => [f.name, f.size, f.sha256]),
      [
        ['config.yaml', config.length, sha256(config)],
        ['model.ckpt', model.length, sha256(model)],
      ],
    );
    assert.deepEqual(record.expected, ['config.yaml', 'model.ckpt']);
    assert.ok(events.some((e) => e.file === 'model.ckpt' && e.phase === 'download' && e.fileIndex === 1 && e.fileCount === 2));
    assert.deepEqual(await store.status(), { state: 'verified', bytes: config.length + model.length });
    assert.equal(await exists(store.lockPath), false, 'the lock is released');

    // A fresh store (another window, or the next session) has not hashed the files itself.
    const later = new ModelStore(dir);
    assert.deepEqual(await later.status(), { state: 'complete-unverified', bytes: config.length + model.length });
    const hashed: StoreProgress[] = [];
    await later.verify({ onProgress: (p) => hashed.push(p) });
    assert.equal((await later.status()).state, 'verified');
    assert.deepEqual(hashed.at(-1), { phase: 'hash', file: 'model.ckpt', fileIndex: 1, fileCount: 2, received: model.length, total: model.length, bytesPerSecond: hashed.at(-1)!.bytesPerSecond });
    hashed.length = 0;
    await later.verify({ onProgress: (p) => hashed.push(p) });
    assert.equal(hashed.length, 0, 'unchanged files are not hashed twice');
    await later.verify({ force: true, onProgress: (p) => hashed.push(p) });
    assert.ok(hashed.length > 0, 'unless forced');

    // Already complete: nothing is fetched again.
    server.reset();
    await later.ensureDownloaded(entry, { urlOverrides: overrides });
    assert.equal(server.requests.length, 0);
  });

  it('reports a partial download, and resumes it', async () => {
    const store = new ModelStore(dir);
    server.behaveOnce({}); // config.yaml
    server.behaveOnce({ dropAfter: 1_234_567 });
    await rejectsWith(store.ensureDownloaded(entry, { urlOverrides: overrides }), 'download-failed');
    const status = await store.status();
    assert.equal(status.state, 'partial');
    assert.ok(status.state === 'partial' && status.bytes > config.length && status.bytes <= config.length + 1_234_567);
    const record = await store.ensureDownloaded(entry, { urlOverrides: overrides });
    assert.equal(record.files.find((f) => f.name === 'model.ckpt')?.sha256, sha256(model));
    assert.match(server.requests.at(-1)!.range ?? '', /^bytes=\d+-$/);
  });

  it('verify detects one flipped byte', async () => {
    const store = new ModelStore(dir);
    await store.ensureDownloaded(entry, { urlOverrides: overrides });
    const file = store.filePath('model.ckpt');
    const bytes = await readFile(file);
    bytes[3_000_000] ^= 0x01;
    await writeFile(file, bytes);
    const fresh = new ModelStore(dir);
    const hashed: number[] = [];
    const err = await rejectsWith(fresh.verify({ onProgress: (p) => hashed.push(p.received) }), 'checksum-mismatch');
    assert.match(err.message, /model\.ckpt .* SHA-256 differs/);
    assert.ok(plainHint(err.hint).includes(store.dir), 'tells the user which folder to delete');
    assert.equal((await fresh.status()).state, 'complete-unverified');
    // The store that downloaded it must notice the change too, not trust its earlier hash.
    await rejectsWith(store.verify(), 'checksum-mismatch');

    await store.remove();
    assert.deepEqual(await store.status(), { state: 'missing' });
    assert.equal(await exists(store.dir), false);
  });

  it('verify refuses a model that was never downloaded', async () => {
    await rejectsWith(new ModelStore(dir).verify(), 'model-missing');
  });

  it('lets one of two concurrent calls download and refuses the other clearly', async () => {
    server.behave({ chunkSize: 64 * 1024, delayMs: 2 });
    const results = await Promise.allSettled([
      new ModelStore(dir).ensureDownloaded(entry, { urlOverrides: overrides }),
      new ModelStore(dir).ensureDownloaded(entry, { urlOverrides: overrides }),
    ]);
    const done = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(done.length, 1);
    assert.equal(refused.length, 1);
    const err: unknown = refused[0]!.reason;
    assert.ok(err instanceof UserError && err.code === 'model-busy', String(err));
    assert.match(err.message, /already being downloaded into .*triposr/);
    assert.equal(server.requests.filter((r) => r.path === MODEL_PATH).length, 1);
    assert.equal((await new ModelStore(dir).verify()).files.length, 2);
  });

  it('lets a second call wait for the first when asked to, then finds the files complete', async () => {
    server.behave({ chunkSize: 64 * 1024, delayMs: 2 });
    let downloading!: () => void;
    const started = new Promise<void>((resolve) => (downloading = resolve));
    const first = new ModelStore(dir).ensureDownloaded(entry, { urlOverrides: overrides, onProgress: () => downloading() });
    await started;
    const waitingEvents: StoreProgress[] = [];
    const second = new ModelStore(dir).ensureDownloaded(entry, {
      urlOverrides: overrides,
      whenBusy: 'wait',
      lockPollMs: 20,
      onProgress: (p) => waitingEvents.push(p),
    });
    const [a, b] = await Promise.all([first, second]);
    assert.deepEqual(b.files, a.files);
    assert.equal(server.requests.filter((r) => r.path === MODEL_PATH).length, 1, 'downloaded once');
    assert.deepEqual(waitingEvents, [], 'the waiting call found the files complete and fetched nothing');
  });

  it('takes over a lock left by a process that has died, but not one held by a live process', async () => {
    const store = new ModelStore(dir);
    await mkdir(store.dir, { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(store.lockPath, JSON.stringify({ pid: dead, hostname: hostname(), createdAt: new Date().toISOString() }));
    await store.ensureDownloaded(entry, { urlOverrides: overrides });
    assert.equal(await exists(store.lockPath), false);

    await writeFile(store.lockPath, JSON.stringify({ pid: process.ppid, hostname: hostname(), createdAt: new Date().toISOString() }));
    const err = await rejectsWith(store.remove(), 'model-busy');
    assert.match(err.message, new RegExp(`pid ${process.ppid}`));
    assert.ok(plainHint(err.hint).includes(store.lockPath));
    await rm(store.lockPath);
  });

  it('enforces a size and SHA-256 the manifest pins, replacing a copy recorded for other weights', async () => {
    const store = new ModelStore(dir);
    await store.ensureDownloaded(entry, { urlOverrides: overrides });
    assert.equal(server.requests.filter((r) => r.path === MODEL_PATH).length, 1);

    // An update pins other weights of the same size: the recorded copy is outdated, and replaced.
    const other = { ...entry, files: entry.files.map((f) => (f.name === 'model.ckpt' ? { ...f, sha256: '0'.repeat(64) } : f)) };
    assert.deepEqual(await store.status(other), { state: 'outdated', bytes: config.length + model.length, files: ['model.ckpt'] });
    const refused = await rejectsWith(store.verify({ entry: other }), 'checksum-mismatch');
    assert.match(refused.message, new RegExp(`model\\.ckpt in .* is not the published file \\(its SHA-256 is ${sha256(model)}, the published file's 0{64}\\)`));
    const err = await rejectsWith(store.ensureDownloaded(other, { urlOverrides: overrides }), 'checksum-mismatch');
    assert.equal(
      err.message,
      `model.ckpt downloaded from ${server.url(MODEL_PATH)} is not the published file: its SHA-256 is ${sha256(model)}, the published file's (pinned in Image to 3D's model list) is ${'0'.repeat(64)}. It was deleted and nothing was recorded.`,
    );
    assert.match(plainHint(err.hint), /A mirror must serve exactly the published bytes of model\.ckpt/);
    assert.equal(server.requests.filter((r) => r.path === MODEL_PATH).length, 2);
    assert.equal(await exists(store.filePath('model.ckpt')), false);
    const record = await store.readRecord();
    assert.deepEqual(record?.files.map((f) => f.name), ['config.yaml']);
    assert.equal((await store.status()).state, 'partial');
  });

  it('refuses a mirror serving other bytes of the published size, naming both hashes, and records nothing', async () => {
    const forged = Buffer.from(model);
    forged[1234] ^= 0xff;
    server.serve(MODEL_PATH, forged);
    const store = new ModelStore(dir);
    const err = await rejectsWith(store.ensureDownloaded(entry, { urlOverrides: overrides }), 'checksum-mismatch');
    assert.ok(err.message.includes(sha256(forged)) && err.message.includes(sha256(model)), err.message);
    assert.ok(err.message.startsWith(`model.ckpt downloaded from ${server.url(MODEL_PATH)} is not the published file`), err.message);
    assert.equal(await exists(store.filePath('model.ckpt')), false, 'the wrong bytes were deleted');
    assert.equal(await exists(`${store.filePath('model.ckpt')}.part`), false);
    assert.deepEqual((await store.readRecord())?.files.map((f) => f.name), ['config.yaml'], 'nothing recorded as trusted for model.ckpt');
    await rejectsWith(store.verify(), 'model-missing');

    // The same mirror serving the published bytes passes; plain http is no part of the check.
    server.serve(MODEL_PATH, model);
    const record = await store.ensureDownloaded(entry, { urlOverrides: overrides });
    assert.ok(overrides['model.ckpt']!.startsWith('http://'));
    assert.deepEqual(record.files.find((f) => f.name === 'model.ckpt'), { ...record.files.find((f) => f.name === 'model.ckpt')!, sha256: sha256(model), url: overrides['model.ckpt'] });
  });

  it('refuses a mirror announcing another size before taking its body', async () => {
    server.serve(MODEL_PATH, model.subarray(0, 3_744_825));
    const store = new ModelStore(dir);
    const err = await rejectsWith(store.ensureDownloaded(entry, { urlOverrides: overrides }), 'download-failed');
    assert.match(err.message, /model\.ckpt was refused: the server announced 3\.74 MB \(3744825 bytes\), but it should be .*\(4198625 bytes\)/);
    assert.equal(await exists(store.filePath('model.ckpt')), false);
    assert.deepEqual((await store.readRecord())?.files.map((f) => f.name), ['config.yaml']);
  });

  it("refuses the hub's answer when its X-Linked-Etag differs from the pin, before downloading anything", async () => {
    const other = 'f'.repeat(64);
    cdn.serve('/lfs/model', model);
    server.redirect(MODEL_PATH, `${cdn.origin}/lfs/model`, 302, { 'x-linked-etag': `"${other}"`, 'x-linked-size': String(model.length), 'x-repo-commit': 'a'.repeat(40) });
    const store = new ModelStore(dir);
    const err = await rejectsWith(store.ensureDownloaded(entry, { urlOverrides: overrides }), 'checksum-mismatch');
    assert.match(err.message, new RegExp(`announces a file whose SHA-256 is ${other} \\(X-Linked-Etag\\), but the published file's .* is ${sha256(model)}\\. Nothing was downloaded\\.`));
    assert.equal(cdn.requests.length, 0, 'the CDN was never asked for the body');
    assert.equal(await exists(store.filePath('model.ckpt')), false);
    assert.deepEqual((await store.readRecord())?.files.map((f) => f.name), ['config.yaml']);
  });

  it('records the commit the hub resolved (X-Repo-Commit) when the hashes agree', async () => {
    const commit = 'c'.repeat(40);
    cdn.serve('/lfs/model', model);
    server.redirect(MODEL_PATH, `${cdn.origin}/lfs/model`, 302, { 'x-linked-etag': sha256(model), 'x-linked-size': String(model.length), 'x-repo-commit': commit });
    const record = await new ModelStore(dir).ensureDownloaded(entry, { urlOverrides: overrides });
    assert.equal(record.files.find((f) => f.name === 'model.ckpt')?.revision, commit);
    assert.equal(record.files.find((f) => f.name === 'config.yaml')?.revision, undefined, 'a server that says nothing is recorded as saying nothing');
  });

  describe('a file with no pin', () => {
    let own: DownloadableManifestModel;
    beforeEach(() => {
      own = unpinnedAt(published, { 'config.yaml': server.url(CONFIG_PATH), 'model.ckpt': server.url(MODEL_PATH) });
    });

    it("is held to the hub's X-Linked-Etag: a CDN serving other bytes is refused", async () => {
      const forged = Buffer.from(model);
      forged[99] ^= 1;
      cdn.serve('/lfs/model', forged);
      server.redirect(MODEL_PATH, `${cdn.origin}/lfs/model`, 302, { 'x-linked-etag': `"${sha256(model)}"`, 'x-repo-commit': 'b'.repeat(40) });
      const store = new ModelStore(dir);
      const err = await rejectsWith(store.ensureDownloaded(own), 'checksum-mismatch');
      assert.ok(err.message.includes(`its SHA-256 is ${sha256(forged)}, the one the Hugging Face hub publishes for it (X-Linked-Etag) is ${sha256(model)}`), err.message);
      assert.equal(await exists(store.filePath('model.ckpt')), false);
      cdn.serve('/lfs/model', model);
      assert.equal((await store.ensureDownloaded(own)).files.find((f) => f.name === 'model.ckpt')?.sha256, sha256(model));
    });

    it("is held to the hub's ETag for a plain git file (its git blob SHA-1)", async () => {
      const blob = createHash('sha1').update(`blob ${config.length}\0`).update(config).digest('hex');
      server.serve(CONFIG_PATH, Buffer.from('something else'), { etag: `"${blob}"`, 'x-repo-commit': 'd'.repeat(40) });
      const store = new ModelStore(dir);
      const err = await rejectsWith(store.ensureDownloaded(own), 'checksum-mismatch');
      assert.match(err.message, new RegExp(`config\\.yaml downloaded from .* its git blob SHA-1 is [0-9a-f]{40}, the one the Hugging Face hub publishes for it \\(ETag\\) is ${blob}`));
      server.serve(CONFIG_PATH, config, { etag: `"${blob}"`, 'x-repo-commit': 'd'.repeat(40) });
      const record = await store.ensureDownloaded(own);
      assert.equal(record.files.find((f) => f.name === 'config.yaml')?.revision, 'd'.repeat(40));
    });

    it('is recorded from its first download from the publisher, and every later download, mirrors included, is held to that', async () => {
      const store = new ModelStore(dir);
      await store.ensureDownloaded(own);
      await rm(store.filePath('model.ckpt'));
      const forged = Buffer.from(model);
      forged[7] ^= 1;
      cdn.serve('/mirror/model.ckpt', forged);
      const err = await rejectsWith(store.ensureDownloaded(own, { urlOverrides: { 'model.ckpt': cdn.url('/mirror/model.ckpt') } }), 'checksum-mismatch');
      assert.ok(err.message.includes(`its SHA-256 is ${sha256(forged)}, the one recorded at this file's first download is ${sha256(model)}`), err.message);
      assert.equal((await store.readRecord())?.files.find((f) => f.name === 'model.ckpt')?.sha256, sha256(model), 'the record still holds the first download');
      cdn.serve('/mirror/model.ckpt', model);
      await store.ensureDownloaded(own, { urlOverrides: { 'model.ckpt': cdn.url('/mirror/model.ckpt') } });
      await store.verify({ force: true });
    });

    it('cannot come first from a mirror, as nothing could vouch for its bytes', async () => {
      cdn.serve('/mirror/model.ckpt', model);
      const store = new ModelStore(dir);
      const err = await rejectsWith(store.ensureDownloaded(own, { urlOverrides: { 'model.ckpt': cdn.url('/mirror/model.ckpt') } }), 'checksum-mismatch');
      assert.match(err.message, /model\.ckpt cannot be downloaded from the mirror .*no hash of the published file is known yet/);
      assert.match(plainHint(err.hint), /Download it once from its publisher \(127\.0\.0\.1:\d+\)/);
      assert.equal(cdn.requests.length, 0);
      assert.deepEqual((await store.readRecord())?.files.map((f) => f.name), ['config.yaml']);
    });
  });

  it('sees its own lock through another spelling of the folder', async () => {
    await mkdir(dir, { recursive: true });
    const alias = `${dir}-alias`;
    await symlink(dir, alias, 'junction');
    server.behave({ chunkSize: 64 * 1024, delayMs: 2 });
    const results = await Promise.allSettled([
      new ModelStore(dir).ensureDownloaded(entry, { urlOverrides: overrides }),
      new ModelStore(alias).ensureDownloaded(entry, { urlOverrides: overrides }),
    ]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    assert.equal(server.requests.filter((r) => r.path === MODEL_PATH).length, 1);
  });

  it('sweeps .part files under the lock', async () => {
    const store = new ModelStore(dir);
    server.behaveOnce({});
    server.behaveOnce({ dropAfter: 300_000 });
    await rejectsWith(store.ensureDownloaded(entry, { urlOverrides: overrides }), 'download-failed');
    assert.deepEqual(await store.sweep(), [`${store.filePath('model.ckpt')}.part`]);
    assert.deepEqual((await readdir(store.dir)).sort(), ['config.yaml', 'files.json']);
  });

  it('picks the platform cache folder for the command line', () => {
    assert.equal(defaultCliCacheDir('linux', {}, '/home/ann'), '/home/ann/.cache/image-to-3d');
    assert.equal(defaultCliCacheDir('linux', { XDG_CACHE_HOME: '/var/cache/ann' }, '/home/ann'), '/var/cache/ann/image-to-3d');
    assert.equal(defaultCliCacheDir('linux', { XDG_CACHE_HOME: 'relative' }, '/home/ann'), '/home/ann/.cache/image-to-3d');
    assert.equal(defaultCliCacheDir('darwin', {}, '/Users/ann'), '/Users/ann/Library/Caches/image-to-3d');
    assert.equal(
      defaultCliCacheDir('win32', { LOCALAPPDATA: 'C:\\Users\\ann\\AppData\\Local' }, 'C:\\Users\\ann'),
      'C:\\Users\\ann\\AppData\\Local\\image-to-3d',
    );
  });
});

describe('manifest', () => {
  it('pins TripoSR to a Hugging Face revision, with the size and SHA-256 of each file', async () => {
    const manifest = await loadManifest(join(__dirname, '..', '..', 'models', 'manifest.json'));
    assert.ok(manifest.models.some((m) => m.id === 'standin' && m.kind === 'standin'));
    const triposr = downloadableModel(manifest, 'triposr');
    const revision = 'c1cf7716aed5aa6c1c5e174657791ef0e1327bde';
    assert.deepEqual(triposr.files, [
      {
        name: 'config.yaml',
        url: `https://huggingface.co/stabilityai/TripoSR/resolve/${revision}/config.yaml`,
        revision,
        size: 987,
        sha256: '74ca708ce086bf68e97709ea6b3d91f14717921c04691e84043f0eb8fcc68e62',
      },
      {
        name: 'model.ckpt',
        url: `https://huggingface.co/stabilityai/TripoSR/resolve/${revision}/model.ckpt`,
        revision,
        size: 1677246742,
        sha256: '429e2c6b22a0923967459de24d67f05962b235f79cde6b032aa7ed2ffcd970ee',
      },
    ]);
  });

  it("config.yaml's pin is the SHA-256 of the text TripoSR publishes", async () => {
    // The reference's FULL_YAML is config.yaml as published, less the final newline the published file lacks.
    const source = await readFile(join(__dirname, '..', 'reference', 'make_checkpoint.py'), 'utf8');
    const text = /FULL_YAML = """\\\n([\s\S]*?)"""/.exec(source)![1]!.replace(/\n$/, '');
    const triposr = downloadableModel(await loadManifest(join(__dirname, '..', '..', 'models', 'manifest.json')), 'triposr');
    const pinned = triposr.files.find((f) => f.name === 'config.yaml')!;
    assert.equal(Buffer.byteLength(text), pinned.size);
    assert.equal(sha256(Buffer.from(text)), pinned.sha256);
  });

  it('rejects entries that would escape the folder or lie about their checksum', () => {
    const withFile = (file: Record<string, unknown>): unknown => ({
      models: [{ id: 'triposr', kind: 'triposr', description: 'x', files: [{ name: 'a', url: 'https://h/a', size: null, sha256: null, ...file }] }],
    });
    assert.doesNotThrow(() => parseManifest(withFile({})));
    assert.throws(() => parseManifest(withFile({ name: '../a' })), ManifestError);
    assert.throws(() => parseManifest(withFile({ name: 'files.json' })), ManifestError);
    assert.throws(() => parseManifest(withFile({ url: 'file:///etc/passwd' })), ManifestError);
    assert.throws(() => parseManifest(withFile({ sha256: 'abc' })), ManifestError);
    assert.throws(() => parseManifest(withFile({ size: -1 })), ManifestError);
    assert.throws(() => parseManifest({ models: [{ id: 'triposr', kind: 'triposr', description: 'x', files: [{ name: 'a', url: 'https://h/a' }] }] }), ManifestError);
    const commit = 'e'.repeat(40);
    assert.doesNotThrow(() => parseManifest(withFile({ url: `https://h/r/resolve/${commit}/a`, revision: commit })));
    assert.throws(() => parseManifest(withFile({ url: 'https://h/r/resolve/main/a', revision: commit })), /must name its revision/);
    assert.throws(() => parseManifest(withFile({ url: 'https://h/r/resolve/main/a', revision: 'main' })), ManifestError);
  });
});

describe('progress wording', () => {
  it('formats bytes, rates and time left', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(612e6), '612 MB');
    assert.equal(formatBytes(1.68e9), '1.68 GB');
    assert.equal(formatBytes(999_700), '1 MB');
    assert.equal(formatRate(23.4e6), '23.4 MB/s');
    assert.equal(formatRate(0), '');
    assert.equal(formatDuration(45.2), '46 s');
    assert.equal(formatDuration(61), '2 min');
    assert.equal(formatDuration(3725), '1 h 3 min');
    assert.equal(formatDownloadProgress(612e6, 1.68e9, 17.8e6), '612 MB of 1.68 GB, 17.8 MB/s, 1 min left');
    assert.equal(formatDownloadProgress(612e6, undefined, 0), '612 MB');
  });
});
