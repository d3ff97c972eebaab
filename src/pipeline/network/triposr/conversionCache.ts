/**
 * Where a conversion is cached, and whether a cached one can be used.
 *
 * The folder is named by a hash of everything that shapes the graphs: the checkpoint's SHA-256, the
 * config as the builder reads it (parsed and normalised: an edited comment or a re-indented file gives
 * the same graphs, an edited radius does not), the builder's version and the precision. model.json in
 * the folder records the same inputs and the files with their sizes and hashes (convertedFiles.ts), and
 * both are checked before use: a folder made from other inputs, or damaged since, is converted again.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseConfig } from './config.js';
import { checkFiles, type CheckOptions, type ConvertedFile } from './convertedFiles.js';
import { BUILDER_VERSION, DECODER_FILE, ENCODER_FILE, MANIFEST_FILE, type ConversionSource, type Precision } from './convert.js';

export interface ConversionKey {
  /** The cache folder's name: `<16 hex of the key>-b<builder version>-<precision>`. */
  readonly folderName: string;
  /** What model.json must record for the folder to be used. */
  readonly source: ConversionSource;
}

/**
 * The cache key of converting this checkpoint with this config. Parses the config, so a config.yaml
 * the builder cannot use is refused here (a 'model-invalid' UserError), before any cache is consulted.
 */
export function conversionKey(checkpointSha256: string, configText: string, precision: Precision): ConversionKey {
  const configSha256 = sha256Hex(canonicalJson(parseConfig(configText)));
  const source: ConversionSource = { checkpointSha256, configSha256, builderVersion: BUILDER_VERSION, precision };
  const key = sha256Hex(canonicalJson(source));
  return { folderName: `${key.slice(0, 16)}-b${BUILDER_VERSION}-${precision}`, source };
}

export type CachedConversion =
  | { readonly state: 'absent' }
  | { readonly state: 'ready' }
  /** `reason` completes "The converted model in DIR was damaged (…)". */
  | { readonly state: 'damaged'; readonly reason: string };

/** Whether `dir` holds a complete, undamaged conversion of `source`. */
export async function inspectConversion(dir: string, source: ConversionSource, options: CheckOptions = {}): Promise<CachedConversion> {
  if (!(await fs.stat(dir).catch(() => undefined))?.isDirectory()) return { state: 'absent' };
  let manifest: unknown;
  try {
    manifest = JSON.parse(await fs.readFile(path.join(dir, MANIFEST_FILE), 'utf8'));
  } catch (e) {
    return { state: 'damaged', reason: (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${MANIFEST_FILE} is missing` : `${MANIFEST_FILE} is unreadable` };
  }
  const recorded = manifest as { convertedFrom?: unknown; files?: unknown };
  if (canonicalJson(recorded.convertedFrom ?? null) !== canonicalJson(source)) {
    return { state: 'damaged', reason: `${MANIFEST_FILE} says it was converted from another checkpoint, config, builder or precision` };
  }
  const files = parseFiles(recorded.files);
  if (!files || !files.some((f) => f.name === ENCODER_FILE) || !files.some((f) => f.name === DECODER_FILE)) {
    return { state: 'damaged', reason: `${MANIFEST_FILE} does not list the model's files` };
  }
  const check = await checkFiles(dir, files, options);
  return check.ok ? { state: 'ready' } : { state: 'damaged', reason: check.reason };
}

/**
 * Deletes the conversions in `cacheRoot` that `kept` replaces: the same checkpoint and precision made
 * from another config or by another builder version (each about as large as the checkpoint), and
 * folders an earlier version of this program named by the checkpoint's hash alone. Conversions of
 * other checkpoints or the other precision stay. Returns the folders removed; failures (a file held
 * open on Windows) leave a folder for next time.
 */
export async function removeSuperseded(cacheRoot: string, kept: string, source: ConversionSource): Promise<string[]> {
  const removed: string[] = [];
  const legacyName = new RegExp(`^${source.checkpointSha256.slice(0, 16)}-b\\d+-${source.precision}$`);
  const entries = await fs.readdir(cacheRoot, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const dir = path.join(cacheRoot, entry.name);
    if (!entry.isDirectory() || entry.name.startsWith('.') || path.resolve(dir) === path.resolve(kept)) continue;
    let recorded: { convertedFrom?: Partial<ConversionSource>; precision?: unknown } | undefined;
    try {
      recorded = JSON.parse(await fs.readFile(path.join(dir, MANIFEST_FILE), 'utf8')) as typeof recorded;
    } catch {
      continue; // not a conversion, or not ours to judge
    }
    const sameWeights = recorded?.convertedFrom
      ? recorded.convertedFrom.checkpointSha256 === source.checkpointSha256 && recorded.convertedFrom.precision === source.precision
      : legacyName.test(entry.name) && recorded?.precision === source.precision;
    if (!sameWeights) continue;
    try {
      await fs.rm(dir, { recursive: true });
      removed.push(dir);
    } catch {
      // In use or not ours to delete: left for a later run.
    }
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------------

function parseFiles(value: unknown): ConvertedFile[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const files: ConvertedFile[] = [];
  for (const item of value) {
    const { name, size, sha256 } = (item ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || name !== path.basename(name) || name.startsWith('.')) return undefined;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) return undefined;
    files.push({ name, size, sha256 });
  }
  return files;
}

/** JSON with object keys sorted, so equal values always give equal text. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
