/**
 * The list of files a converted model folder holds (name, size, SHA-256, written into model.json when
 * the conversion finishes) and the check of a folder against it before each use.
 *
 * How much is checked each time: every file's presence and size, always (a stat; it catches what was
 * actually seen to break: a truncated encoder.onnx.data, a deleted decoder.onnx). The SHA-256 of files
 * under SMALL_FILE_BYTES (the graphs, a few MB) every time, as that costs milliseconds. The SHA-256 of
 * encoder.onnx.data (about 1.6 GB in fp32) only when its size or modification time differs from when it
 * was last hashed and found right (`.verified.json` beside it): hashing it before every run would add
 * seconds to each generation (1.6 GB at the 0.5–1 GB/s SHA-256 runs at on a laptop), while a change of
 * content that leaves both size and mtime alone (silent disk corruption, a tool that restores mtimes)
 * is rare and gives wrong numbers rather than a crash: ONNX Runtime reads external data unchecked either
 * way. A folder copied elsewhere gets new mtimes, so it is hashed once there.
 */
import { createHash } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import * as path from 'node:path';
import { hashFilePrefix } from '../store/fileHash.js';
import { formatBytes } from '../store/progressFormat.js';

export interface ConvertedFile {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

/** Files under this size are hashed at every check. */
export const SMALL_FILE_BYTES = 64 * 1024 * 1024;

/** Size and mtime of each file when it was last hashed and matched; absent or stale means hash again. */
export const VERIFIED_STAMPS_FILE = '.verified.json';

export type FolderCheck =
  | { readonly ok: true }
  /** `reason` completes "The converted model in DIR was damaged (…)". */
  | { readonly ok: false; readonly reason: string };

export interface CheckOptions {
  readonly signal?: AbortSignal;
  /** Bytes hashed so far of the large files being hashed, and their total. */
  readonly onHashProgress?: (done: number, total: number) => void;
  /** Files under this many bytes are hashed at every check (SMALL_FILE_BYTES; tests lower it). */
  readonly hashEveryTimeBelow?: number;
}

/** Hashes the named files in `dir` (just written) and records them as verified; returns the list for model.json. */
export async function recordFiles(dir: string, names: readonly string[], signal?: AbortSignal): Promise<ConvertedFile[]> {
  const files: ConvertedFile[] = [];
  const stamps: Record<string, string> = {};
  for (const name of names) {
    const file = path.join(dir, name);
    const stats = await fs.stat(file);
    files.push({ name, size: stats.size, sha256: await sha256Of(file, stats.size, signal) });
    stamps[name] = stamp(stats);
  }
  await writeStamps(dir, stamps);
  return files;
}

/** Checks `files` in `dir` as the module comment says. Never throws for a damaged folder; only for cancellation. */
export async function checkFiles(dir: string, files: readonly ConvertedFile[], options: CheckOptions = {}): Promise<FolderCheck> {
  const stats = new Map<string, Stats>();
  for (const file of files) {
    const found = await fs.stat(path.join(dir, file.name)).catch(() => undefined);
    if (!found?.isFile()) return { ok: false, reason: `${file.name} is missing` };
    if (found.size !== file.size) return { ok: false, reason: `${file.name} is ${sizeText(found.size, file.size)}, expected ${sizeText(file.size, found.size)}` };
    stats.set(file.name, found);
  }
  const stamps = await readStamps(dir);
  const small = options.hashEveryTimeBelow ?? SMALL_FILE_BYTES;
  const toHash = files.filter((f) => f.size < small || stamps[f.name] !== stamp(stats.get(f.name)!));
  const largeTotal = toHash.filter((f) => f.size >= small).reduce((sum, f) => sum + f.size, 0);
  let largeDone = 0;
  let changed = false;
  for (const file of toHash) {
    const large = file.size >= small;
    const before = largeDone;
    const sha256 = await sha256Of(path.join(dir, file.name), file.size, options.signal, large ? (n) => options.onHashProgress?.(before + n, largeTotal) : undefined);
    if (large) largeDone += file.size;
    if (sha256 !== file.sha256) return { ok: false, reason: `${file.name}'s SHA-256 differs from the one recorded when it was converted` };
    const now = stamp(stats.get(file.name)!);
    if (stamps[file.name] !== now) {
      stamps[file.name] = now;
      changed = true;
    }
  }
  // A folder the user cannot write to is still usable; it is just hashed again next time.
  if (changed) await writeStamps(dir, stamps).catch(() => undefined);
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------------

async function sha256Of(file: string, size: number, signal: AbortSignal | undefined, onChunk?: (hashed: number) => void): Promise<string> {
  const hash = createHash('sha256');
  const hashed = await hashFilePrefix(file, size, hash, { signal, onChunk });
  // Shorter than its size a moment ago: it changed while being read, which is no match either.
  return hashed === size ? hash.digest('hex') : '';
}

/** "1.2 GB", or the exact bytes when the rounded sizes would read the same. */
function sizeText(bytes: number, other: number): string {
  return formatBytes(bytes) === formatBytes(other) ? `${bytes.toLocaleString('en-US')} bytes` : formatBytes(bytes);
}

function stamp(stats: Stats): string {
  return `${stats.size}:${stats.mtimeMs}`;
}

async function readStamps(dir: string): Promise<Record<string, string>> {
  try {
    const parsed: unknown = JSON.parse(await fs.readFile(path.join(dir, VERIFIED_STAMPS_FILE), 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}

async function writeStamps(dir: string, stamps: Record<string, string>): Promise<void> {
  // Through a temporary and a rename: a torn write would only cost a hash, but need not happen.
  const file = path.join(dir, VERIFIED_STAMPS_FILE);
  const temp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temp, `${JSON.stringify(stamps, null, 2)}\n`);
  await fs.rename(temp, file);
}
