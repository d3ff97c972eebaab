import { createHash } from 'node:crypto';
import { promises as fsp, type Stats } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../errors.js';
import { acquireFolderLock, type LockHolder } from '../../files/folderLock.js';
import { throwIfAborted } from '../../progress.js';
import { downloadFile, errorCode, PART_SUFFIX, sweepPartFiles, withoutNetworkHint } from './download.js';
import type { Hint } from '../../hint.js';
import { hashFilePrefix } from './fileHash.js';
import { GIT_BLOB_CHECK_LIMIT, gitBlobSha1, readHubHeaders, type HubFacts } from './hubHeaders.js';
import type { DownloadableManifestModel, ManifestFile } from './manifest.js';
import { ProgressThrottle } from './rateMeter.js';
import { downloadFraction, formatBytes, formatDownloadProgress } from './progressFormat.js';
import { makeFolders } from '../../files/makeFolders.js';

/**
 * The downloaded copy of a model (TripoSR, or a background-removal network): `<root>/<id>/` holding its
 * files, `files.json` (size and SHA-256 of each file, recorded when it was downloaded) and `.lock` while
 * one process downloads into it.
 *
 * What a download must be, strongest first: the size and SHA-256 pinned in models/manifest.json; the
 * hashes the Hugging Face hub publishes in its answer (hubHeaders.ts); for a file with no pin, the hash
 * recorded at its first download from the publisher (a mirror's first download of such a file is
 * refused, as nothing could vouch for it). A file that fails any of them is deleted and not recorded.
 * The transport is no part of the check: a plain-http mirror serving the published bytes passes, an
 * https one serving others does not. Every later use re-hashes against the record, so a file damaged
 * on disk or replaced afterwards is caught before the network loads it.
 */

export const APP_CACHE_NAME = 'image-to-3d';
const RECORD_NAME = 'files.json';
const LOCK_NAME = '.lock';
const RECORD_VERSION = 1;

export type ModelStatus =
  | { readonly state: 'missing' }
  /** Some bytes are here (finished files or `.part`), not all. */
  | { readonly state: 'partial'; readonly bytes: number }
  /** Every file is here and recorded, but not hashed by this ModelStore since it last changed. */
  | { readonly state: 'complete-unverified'; readonly bytes: number }
  | { readonly state: 'verified'; readonly bytes: number }
  /**
   * Only with a manifest entry: a recorded file is not the one the entry pins (an update moved to new
   * weights, or an earlier version recorded a mirror's bytes). It must be downloaded again.
   */
  | { readonly state: 'outdated'; readonly bytes: number; readonly files: readonly string[] };

export interface StoreProgress {
  /** 'hash' while reading files already on disk (verification, or recording a file found in place). */
  readonly phase: 'download' | 'hash';
  readonly file: string;
  /** Position of `file` in the model's list, from 0, and the list's length. */
  readonly fileIndex: number;
  readonly fileCount: number;
  readonly received: number;
  readonly total: number | undefined;
  readonly bytesPerSecond: number;
}

export interface RecordedFile {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  /** Where it came from (a mirror when the download was redirected by the user). */
  readonly url: string;
  readonly recordedAt: string;
  /** The commit the Hugging Face hub resolved its URL to (X-Repo-Commit), when it said. */
  readonly revision?: string;
}

export interface FilesRecord {
  readonly version: typeof RECORD_VERSION;
  readonly model: string;
  /** Every file the model needs: the record is complete only when each one is in `files`. */
  readonly expected: readonly string[];
  readonly files: readonly RecordedFile[];
}

export interface EnsureOptions {
  /** Replacement URLs by file name: a mirror, or a local server in tests. */
  readonly urlOverrides?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: StoreProgress) => void;
  /**
   * When another window or process is already downloading into this folder: 'fail' (the default)
   * throws a 'model-busy' UserError at once; 'wait' polls until it finishes, then carries on (usually
   * finding the files complete).
   */
  readonly whenBusy?: 'fail' | 'wait';
  readonly fetchTimeoutMs?: number;
  readonly maxRedirects?: number;
  /** How often a waiting call looks at the lock again, in ms. */
  readonly lockPollMs?: number;
}

export interface VerifyOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: StoreProgress) => void;
  /**
   * Hash every file even if this store already did since the file's size and mtime last changed.
   * Off by default: re-reading 1.7 GB before every run in one session buys little.
   */
  readonly force?: boolean;
  /** The model's manifest entry: a recorded file that is not the one it pins is refused. */
  readonly entry?: DownloadableManifestModel;
}

/** What a file must be, and who says so (for the message when it is not). */
interface ExpectedFile {
  readonly sha256: string;
  readonly size: number | null;
  readonly basis: 'pinned' | 'recorded';
}

export class ModelStore {
  readonly dir: string;
  /** Size and mtime of each file when this store last hashed it and found it matching. */
  private readonly verifiedStamps = new Map<string, string>();

  constructor(
    readonly rootDir: string,
    readonly modelId = 'triposr',
  ) {
    this.dir = path.join(path.resolve(rootDir), modelId);
  }

  filePath(name: string): string {
    return path.join(this.dir, name);
  }

  get recordPath(): string {
    return path.join(this.dir, RECORD_NAME);
  }

  get lockPath(): string {
    return path.join(this.dir, LOCK_NAME);
  }

  async status(entry?: DownloadableManifestModel): Promise<ModelStatus> {
    const record = await this.readRecord();
    let complete = record !== undefined;
    let verified = true;
    let bytes = 0;
    const names = new Set<string>(record?.expected ?? []);
    if (!record) {
      // No record: whatever model files or .part files are here count as a partial download.
      for (const name of await this.listFiles()) names.add(name.endsWith(PART_SUFFIX) ? name.slice(0, -PART_SUFFIX.length) : name);
    }
    for (const name of names) {
      const stats = await statFile(this.filePath(name));
      const recorded = record?.files.find((f) => f.name === name);
      if (stats) {
        bytes += stats.size;
        if (!recorded || recorded.size !== stats.size) complete = false;
        if (this.verifiedStamps.get(name) !== stamp(stats)) verified = false;
      } else {
        complete = false;
        bytes += (await statFile(this.filePath(name) + PART_SUFFIX))?.size ?? 0;
      }
    }
    const outdated = record && entry ? record.files.filter((f) => conflictsWithPin(entry, f) !== undefined).map((f) => f.name) : [];
    if (outdated.length > 0) return { state: 'outdated', bytes, files: outdated };
    if (complete) return { state: verified ? 'verified' : 'complete-unverified', bytes };
    if (bytes === 0 && (await this.listFiles()).length === 0) return { state: 'missing' };
    return { state: 'partial', bytes };
  }

  /** The record written at download time, or undefined when there is none (or it is unreadable). */
  async readRecord(): Promise<FilesRecord | undefined> {
    let text: string;
    try {
      text = await fsp.readFile(this.recordPath, 'utf8');
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return parseRecord(JSON.parse(text), this.modelId);
    } catch {
      // A damaged record is as good as none: files found in place get hashed and recorded again.
      return undefined;
    }
  }

  /**
   * Downloads every file of `entry` that is not here yet (resuming `.part` files), checks it against
   * what it must be (see the class comment), then records its size and SHA-256. Files already recorded
   * as the pinned ones are left alone; call verify() before use.
   */
  async ensureDownloaded(entry: DownloadableManifestModel, options: EnsureOptions = {}): Promise<FilesRecord> {
    if (entry.id !== this.modelId) throw new RangeError(`This store holds ${this.modelId}, not ${entry.id}.`);
    throwIfAborted(options.signal);
    await makeFolders(this.dir);
    const release = await this.acquireLock(options);
    try {
      const previous = await this.readRecord();
      const names = entry.files.map((f) => f.name);
      let files = (previous?.files ?? []).filter((f) => names.includes(f.name));
      const save = async (): Promise<FilesRecord> => {
        const record: FilesRecord = { version: RECORD_VERSION, model: this.modelId, expected: names, files };
        await this.writeRecord(record);
        return record;
      };
      let record = await save();

      for (const [fileIndex, file] of entry.files.entries()) {
        const dest = this.filePath(file.name);
        const url = options.urlOverrides?.[file.name] ?? file.url;
        let recorded = files.find((f) => f.name === file.name);
        let stats = await statFile(dest);
        const report = (phase: StoreProgress['phase']) => (received: number, total: number | undefined, bytesPerSecond: number) =>
          options.onProgress?.({ phase, file: file.name, fileIndex, fileCount: entry.files.length, received, total, bytesPerSecond });

        if (recorded && conflictsWithPin(entry, recorded) !== undefined) {
          // The manifest pins another file than the one recorded (an extension update moved to new
          // weights, or an earlier version recorded a mirror's bytes): the old copy is of no further use.
          await fsp.rm(dest, { force: true });
          files = files.filter((f) => f.name !== file.name);
          record = await save();
          recorded = undefined;
          stats = undefined;
        }
        if (stats && recorded) {
          if (stats.size !== recorded.size) throw this.mismatch(file.name, `it is ${stats.size} bytes, the recorded download ${recorded.size}`);
          continue;
        }
        const expected = expectedFile(file, recorded);
        const hub: HubFacts = {};
        let size: number;
        let sha256: string;
        let found: boolean;
        if (stats) {
          // In place but never recorded (the record was lost, or the files were copied in by hand):
          // hash what is there rather than download 1.7 GB again.
          sha256 = await this.hashFile(dest, stats.size, report('hash'), options.signal);
          size = stats.size;
          found = true;
        } else {
          if (expected === undefined && file.md5 === undefined && url !== file.url) throw this.unverifiableMirror(file, url);
          found = false;
          try {
            const result = await downloadFile(url, dest, {
              expectedSize: expected?.size ?? undefined,
              signal: options.signal,
              onProgress: report('download'),
              fetchTimeoutMs: options.fetchTimeoutMs,
              maxRedirects: options.maxRedirects,
              label: file.name,
              onResponse: (response) => {
                readHubHeaders(response.headers, hub);
                this.checkHubAnswer(file, url, hub, expected);
              },
            });
            size = result.size;
            sha256 = result.sha256;
          } catch (err) {
            // Refused on what the hub published: whatever an earlier attempt left is of that file too.
            if (err instanceof UserError && err.code === 'checksum-mismatch') await fsp.rm(dest + PART_SUFFIX, { force: true });
            throw err;
          }
        }
        await this.checkIdentity(file, { url, found, size, sha256, expected, hub }, options.signal);
        const entryRecord: RecordedFile = { name: file.name, size, sha256, url, recordedAt: new Date().toISOString(), ...(hub.revision ? { revision: hub.revision } : {}) };
        files = [...files.filter((f) => f.name !== file.name), entryRecord];
        // Saved after each file so a failure on the next one does not lose this one's record.
        record = await save();
        const now = await statFile(dest);
        if (now) this.verifiedStamps.set(file.name, stamp(now));
      }
      return record;
    } finally {
      await release();
    }
  }

  /**
   * Re-hashes every file against the record written when it was downloaded (skipping files this
   * store has hashed since they last changed, unless `force`). Throws 'model-missing' when the model
   * is not (completely) here, 'checksum-mismatch' when a file changed since or, given `entry`, was
   * recorded as another file than the one it pins.
   */
  async verify(options: VerifyOptions = {}): Promise<FilesRecord> {
    const record = await this.readRecord();
    if (!record) throw this.missing('it has not been downloaded yet');
    for (const [fileIndex, name] of record.expected.entries()) {
      const recorded = record.files.find((f) => f.name === name);
      if (!recorded) throw this.missing(`${name} has not been downloaded yet`);
      const conflict = options.entry ? conflictsWithPin(options.entry, recorded) : undefined;
      if (conflict !== undefined) {
        throw new UserError(
          `${name} in ${this.dir} is not the published file (${conflict}).`,
          'Download the model again: the copy there is replaced by the published file.',
          'checksum-mismatch',
        );
      }
      const file = this.filePath(name);
      const stats = await statFile(file);
      if (!stats) throw this.missing(`${name} is missing`);
      if (stats.size !== recorded.size) throw this.mismatch(name, `it is ${stats.size} bytes, the recorded download ${recorded.size}`);
      if (!options.force && this.verifiedStamps.get(name) === stamp(stats)) continue;
      const onChunk = (received: number, total: number | undefined, bytesPerSecond: number): void =>
        options.onProgress?.({ phase: 'hash', file: name, fileIndex, fileCount: record.expected.length, received, total, bytesPerSecond });
      const sha256 = await this.hashFile(file, stats.size, onChunk, options.signal);
      if (sha256 !== recorded.sha256) throw this.mismatch(name, 'its SHA-256 differs from the one recorded at download');
      this.verifiedStamps.set(name, stamp(stats));
    }
    return record;
  }

  /** Deletes the model's folder. Refused while another window or process downloads into it. */
  async remove(): Promise<void> {
    if ((await statFile(this.dir, true)) === undefined) return;
    const release = await this.acquireLock({});
    try {
      for (const name of await fsp.readdir(this.dir)) {
        if (name !== LOCK_NAME) await fsp.rm(path.join(this.dir, name), { recursive: true, force: true });
      }
      this.verifiedStamps.clear();
    } finally {
      await release();
    }
    await fsp.rmdir(this.dir).catch(() => undefined);
  }

  /** Deletes unfinished downloads (`.part`), keeping finished files; for a user who wants a clean start. */
  async sweep(): Promise<string[]> {
    if ((await statFile(this.dir, true)) === undefined) return [];
    const release = await this.acquireLock({});
    try {
      return await sweepPartFiles(this.dir);
    } finally {
      await release();
    }
  }

  // -------------------------------------------------------------------------------------------------

  private async hashFile(
    file: string,
    size: number,
    onProgress: (received: number, total: number | undefined, bytesPerSecond: number) => void,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const hash = createHash('sha256');
    const throttle = new ProgressThrottle(onProgress, size);
    throttle.start(0);
    const hashed = await hashFilePrefix(file, size, hash, { signal, onChunk: (n) => throttle.update(n) });
    // Shorter than its size a moment ago: it changed while being read.
    if (hashed !== size) throw this.mismatch(path.basename(file), 'it changed while being checked');
    throttle.finish(hashed);
    return hash.digest('hex');
  }

  /**
   * Refuses, before any byte is taken, an answer whose published hash or size differs from what the file
   * must be: 1.7 GB of the wrong file need not be downloaded to be refused.
   */
  private checkHubAnswer(file: ManifestFile, url: string, hub: HubFacts, expected: ExpectedFile | undefined): void {
    if (hub.sha256 !== undefined && expected !== undefined && hub.sha256 !== expected.sha256) {
      throw this.notPublished(
        file,
        `${url} announces a file whose SHA-256 is ${hub.sha256} (X-Linked-Etag), but ${describeExpected(expected)} is ${expected.sha256}. Nothing was downloaded`,
        url !== file.url,
      );
    }
    const size = expected?.size ?? file.size;
    if (hub.size !== undefined && size !== null && hub.size !== size) {
      throw this.notPublished(file, `${url} announces ${hub.size} bytes (X-Linked-Size), the published file has ${size}. Nothing was downloaded`, url !== file.url);
    }
  }

  /**
   * Checks a downloaded (or found) file against everything that says what it must be; deletes it and
   * throws a 'checksum-mismatch' naming both values when it differs, so nothing wrong is ever recorded.
   */
  private async checkIdentity(
    file: ManifestFile,
    got: { url: string; found: boolean; size: number; sha256: string; expected: ExpectedFile | undefined; hub: HubFacts },
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { expected, hub } = got;
    let problem: string | undefined;
    const size = expected?.size ?? file.size;
    if (size !== null && got.size !== size) problem = `it is ${got.size} bytes, the published file ${size}`;
    else if (expected !== undefined && got.sha256 !== expected.sha256) {
      problem = `its SHA-256 is ${got.sha256}, ${describeExpected(expected)} is ${expected.sha256}`;
    } else if (hub.sha256 !== undefined && got.sha256 !== hub.sha256) {
      problem = `its SHA-256 is ${got.sha256}, the one the Hugging Face hub publishes for it (X-Linked-Etag) is ${hub.sha256}`;
    } else if (hub.gitBlobSha1 !== undefined && got.size <= GIT_BLOB_CHECK_LIMIT) {
      const blob = await gitBlobSha1(this.filePath(file.name), got.size, signal);
      if (blob !== hub.gitBlobSha1) problem = `its git blob SHA-1 is ${blob}, the one the Hugging Face hub publishes for it (ETag) is ${hub.gitBlobSha1}`;
    }
    // An MD5 pin costs one more read of the file, once, when it is first recorded; a SHA-256 pin
    // supersedes it.
    if (problem === undefined && file.sha256 === null && file.md5 !== undefined) {
      const md5 = createHash('md5');
      await hashFilePrefix(this.filePath(file.name), got.size, md5, { signal });
      const digest = md5.digest('hex');
      if (digest !== file.md5) problem = `its MD5 is ${digest}, the publisher's is ${file.md5}`;
    }
    if (problem === undefined) return;
    // Not kept: a file known to be wrong must not be found in place and recorded by the next call.
    await fsp.rm(this.filePath(file.name), { force: true });
    const origin = got.found ? `found in ${this.dir}` : `downloaded from ${got.url}`;
    throw this.notPublished(file, `${file.name} ${origin} is not the published file: ${problem}. It was deleted and nothing was recorded`, !got.found && got.url !== file.url);
  }

  private notPublished(file: ManifestFile, what: string, fromMirror: boolean): UserError {
    return new UserError(
      `${what}.`,
      fromMirror
        ? [
            `A mirror must serve exactly the published bytes of ${file.name}: point its entry in `,
            { option: 'downloadUrls' },
            ` at a true copy, or leave ${file.name} out of it to download from ${new URL(file.url).host}.`,
          ]
        : 'Run the download again. If this keeps happening, a proxy may be altering the download, or the published file has changed and a newer version of Image to 3D is needed.',
      'checksum-mismatch',
    );
  }

  private unverifiableMirror(file: ManifestFile, url: string): UserError {
    return new UserError(
      `${file.name} cannot be downloaded from the mirror ${url}: no hash of the published file is known yet to check the mirror's copy against.`,
      [
        `Download it once from its publisher (${new URL(file.url).host}) by leaving ${file.name} out of `,
        { option: 'downloadUrls' },
        '; later downloads, from mirrors too, are held to the hash recorded then.',
      ],
      'checksum-mismatch',
    );
  }

  private mismatch(name: string, why: string): UserError {
    return new UserError(
      `${name} in ${this.dir} does not match the file that was downloaded (${why}): it was changed or damaged.`,
      `Delete the folder ${this.dir} and download the model again.`,
      'checksum-mismatch',
    );
  }

  private missing(why: string): UserError {
    return new UserError(
      `The ${this.modelId} model in ${this.dir} is not complete: ${why}.`,
      'Download the model first; an interrupted download continues from where it stopped.',
      'model-missing',
    );
  }

  private async writeRecord(record: FilesRecord): Promise<void> {
    // Through a temporary and a rename, so a crash mid-write leaves the old record, not half a new one.
    const temp = `${this.recordPath}.${process.pid}.tmp`;
    await fsp.writeFile(temp, `${JSON.stringify(record, null, 2)}\n`);
    await fsp.rename(temp, this.recordPath);
  }

  /** Names in the folder other than the store's own files. */
  private async listFiles(): Promise<string[]> {
    try {
      const names = await fsp.readdir(this.dir);
      return names.filter((n) => n !== RECORD_NAME && n !== LOCK_NAME && !n.endsWith('.tmp'));
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return [];
      throw err;
    }
  }

  private acquireLock(options: Pick<EnsureOptions, 'signal' | 'whenBusy' | 'lockPollMs'>): Promise<() => Promise<void>> {
    return acquireFolderLock(this.lockPath, (holder) => this.busy(holder), {
      signal: options.signal,
      whenBusy: options.whenBusy,
      pollMs: options.lockPollMs,
    });
  }

  private busy(holder: LockHolder | undefined): UserError {
    const who =
      holder === undefined
        ? 'another window or process'
        : holder.pid === process.pid && holder.hostname === os.hostname()
          ? 'another download in this window'
          : `another window or process (pid ${holder.pid}${holder.hostname === os.hostname() ? '' : ` on ${holder.hostname}`})`;
    return new UserError(
      `The ${this.modelId} model is already being downloaded into ${this.dir} by ${who}.`,
      `Wait for that download to finish. If none is running, delete ${this.lockPath} and try again.`,
      'model-busy',
    );
  }
}

/**
 * Where the command line keeps downloaded models, following each platform's convention for caches
 * (data that can be fetched again, so backup tools and cleaners may skip it).
 */
export function defaultCliCacheDir(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = os.homedir(),
): string {
  if (platform === 'win32') {
    const base = env.LOCALAPPDATA || path.win32.join(home, 'AppData', 'Local');
    return path.win32.join(base, APP_CACHE_NAME);
  }
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Caches', APP_CACHE_NAME);
  // The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.posix.isAbsolute(xdg) ? xdg : path.posix.join(home, '.cache');
  return path.posix.join(base, APP_CACHE_NAME);
}

// ---------------------------------------------------------------------------------------------------

function parseRecord(value: unknown, modelId: string): FilesRecord {
  if (typeof value !== 'object' || value === null) throw new Error('not an object');
  const r = value as Record<string, unknown>;
  if (r.version !== RECORD_VERSION || r.model !== modelId) throw new Error('other version or model');
  const expected: unknown = r.expected;
  if (!Array.isArray(expected) || !expected.every((n): n is string => typeof n === 'string')) throw new Error('bad expected');
  if (!Array.isArray(r.files)) throw new Error('bad files');
  const files = r.files.map((f: unknown): RecordedFile => {
    if (typeof f !== 'object' || f === null) throw new Error('bad file');
    const { name, size, sha256, url, recordedAt, revision } = f as Record<string, unknown>;
    if (typeof name !== 'string' || !expected.includes(name)) throw new Error('bad name');
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new Error('bad size');
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) throw new Error('bad sha256');
    return {
      name,
      size,
      sha256,
      url: typeof url === 'string' ? url : '',
      recordedAt: typeof recordedAt === 'string' ? recordedAt : '',
      ...(typeof revision === 'string' && /^[0-9a-f]{40}$/.test(revision) ? { revision } : {}),
    };
  });
  return { version: RECORD_VERSION, model: modelId, expected, files };
}

/** What the manifest pins for a file, else what its first download recorded, else nothing. */
function expectedFile(file: ManifestFile, recorded: RecordedFile | undefined): ExpectedFile | undefined {
  if (file.sha256 !== null) return { sha256: file.sha256, size: file.size, basis: 'pinned' };
  if (recorded) return { sha256: recorded.sha256, size: recorded.size, basis: 'recorded' };
  return undefined;
}

function describeExpected(expected: ExpectedFile): string {
  return expected.basis === 'pinned' ? "the published file's (pinned in Image to 3D's model list)" : "the one recorded at this file's first download";
}

/** Why a recorded file is not the one the entry pins, or undefined when it is (or nothing is pinned). */
function conflictsWithPin(entry: DownloadableManifestModel, recorded: RecordedFile): string | undefined {
  const file = entry.files.find((f) => f.name === recorded.name);
  if (!file) return undefined;
  if (file.size !== null && file.size !== recorded.size) return `it is ${recorded.size} bytes, the published file ${file.size}`;
  if (file.sha256 !== null && file.sha256 !== recorded.sha256) return `its SHA-256 is ${recorded.sha256}, the published file's ${file.sha256}`;
  return undefined;
}

function stamp(stats: Stats): string {
  return `${stats.size}:${stats.mtimeMs}`;
}

/** The file's stats, or undefined when it does not exist (or, unless `anyKind`, is not a regular file). */
async function statFile(file: string, anyKind = false): Promise<Stats | undefined> {
  try {
    const stats = await fsp.stat(file);
    return anyKind || stats.isFile() ? stats : undefined;
  } catch (err) {
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** One store per folder and model for the process's life: it remembers which files it has already hashed. */
const stores = new Map<string, ModelStore>();

export function storeFor(storeDir: string, modelId: string): ModelStore {
  const key = JSON.stringify([path.resolve(storeDir), modelId]);
  const store = stores.get(key) ?? new ModelStore(storeDir, modelId);
  stores.set(key, store);
  return store;
}

/**
 * Fetches what a run needs that is not here yet, reporting it as pipeline progress, and waiting for
 * another run that is downloading into the same store. When no server could be reached, `offline` (what
 * works without a network for this model) is added to the error's hint.
 */
export async function downloadForRun(
  store: ModelStore,
  entry: DownloadableManifestModel,
  options: { readonly urlOverrides?: Readonly<Record<string, string>>; readonly signal?: AbortSignal; readonly report: (p: ReturnType<typeof storeProgress>) => void },
  offline: Hint,
): Promise<FilesRecord> {
  try {
    return await store.ensureDownloaded(entry, {
      urlOverrides: options.urlOverrides,
      signal: options.signal,
      whenBusy: 'wait',
      onProgress: (p) => options.report(storeProgress(p)),
    });
  } catch (err) {
    throw withoutNetworkHint(err, offline);
  }
}

/** A store event as a pipeline progress line: downloading, or verifying what is on disk. */
export function storeProgress(p: StoreProgress): { stage: 'download' | 'model'; fraction: number; message: string } {
  const fraction = downloadFraction(p.received, p.total) ?? 0;
  if (p.phase === 'hash') {
    return { stage: 'model', fraction, message: `Verifying ${p.file} (${formatBytes(p.received)}${p.total ? ` of ${formatBytes(p.total)}` : ''})` };
  }
  return { stage: 'download', fraction, message: `Downloading ${p.file}: ${formatDownloadProgress(p.received, p.total, p.bytesPerSecond)}` };
}
