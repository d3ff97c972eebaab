import { readFile } from 'node:fs/promises';

/**
 * models/manifest.json: where each model comes from. The file ships with the extension, so a manifest
 * that fails these checks is a bug in the build, reported as a plain Error rather than a UserError.
 * The checks are strict because file names become paths inside the model folder and URLs become
 * requests: a malformed entry must stop here, not halfway through a 1.7 GB download.
 */

export interface ManifestFile {
  /** Plain file name inside the model's folder. */
  readonly name: string;
  readonly url: string;
  /** Bytes, when known before downloading. */
  readonly size: number | null;
  /** Lower-case hex SHA-256, when known before downloading; otherwise recorded at the first download. */
  readonly sha256: string | null;
  /**
   * Lower-case hex MD5, where the publisher pins the file only by that (rembg does, in its own code): not
   * a defence against a forger, but it catches a mirror serving another file or a truncated one.
   */
  readonly md5?: string;
  /**
   * The publisher's git commit the file is pinned to (Hugging Face: 40 hex digits), when it has one. The
   * URL must name it (`/resolve/<revision>/`), so a later push to the branch cannot change what is fetched.
   */
  readonly revision?: string;
}

export interface StandinManifestModel {
  readonly id: string;
  readonly kind: 'standin';
  readonly description: string;
  readonly source: 'generated';
}

/** Models fetched from the network: TripoSR, and the background-removal (segmentation) networks. */
export type DownloadableKind = 'triposr' | 'segmentation';

export interface DownloadableManifestModel {
  readonly id: string;
  readonly kind: DownloadableKind;
  readonly description: string;
  readonly files: readonly ManifestFile[];
}

export type ManifestModel = StandinManifestModel | DownloadableManifestModel;

export interface Manifest {
  readonly models: readonly ManifestModel[];
}

const SHA256_PATTERN = /^[0-9a-f]{64}$/;
const MD5_PATTERN = /^[0-9a-f]{32}$/;
const REVISION_PATTERN = /^[0-9a-f]{40}$/;
const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/**
 * Names the store keeps for itself (its record, lock and temporaries); a model file with one of these
 * names would be overwritten by, or mistaken for, the store's own files.
 */
const RESERVED_NAME = /^(files\.json|\.lock)$|\.(part|tmp)$/i;

export class ManifestError extends Error {
  constructor(message: string) {
    super(`Invalid model manifest: ${message}`);
    this.name = 'ManifestError';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireString(obj: Record<string, unknown>, key: string, where: string): string {
  const value = obj[key];
  if (typeof value !== 'string' || value.length === 0) throw new ManifestError(`${where}.${key} must be a non-empty string.`);
  return value;
}

/** True for a name that stays inside its folder on every platform the extension runs on. */
export function isPlainFileName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 255 &&
    name !== '.' &&
    name !== '..' &&
    // Windows forbids these and would otherwise read "a:b" as an alternate data stream.
    !/[\\/:*?"<>|\u0000-\u001f]/.test(name) &&
    !/[. ]$/.test(name)
  );
}

function parseFile(value: unknown, where: string): ManifestFile {
  if (!isRecord(value)) throw new ManifestError(`${where} must be an object.`);
  const name = requireString(value, 'name', where);
  if (!isPlainFileName(name)) throw new ManifestError(`${where}.name ${JSON.stringify(name)} is not a plain file name.`);
  if (RESERVED_NAME.test(name)) throw new ManifestError(`${where}.name ${JSON.stringify(name)} is reserved for the model store.`);
  const url = requireString(value, 'url', where);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ManifestError(`${where}.url ${JSON.stringify(url)} is not a URL.`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new ManifestError(`${where}.url must be http(s), not ${parsed.protocol}`);
  }
  // Both keys must be present, even as null, so an omission reads as a mistake rather than "unknown".
  if (!('size' in value)) throw new ManifestError(`${where}.size is missing (use null when unknown).`);
  if (!('sha256' in value)) throw new ManifestError(`${where}.sha256 is missing (use null when unknown).`);
  const size = value.size;
  if (size !== null && !(typeof size === 'number' && Number.isSafeInteger(size) && size >= 0)) {
    throw new ManifestError(`${where}.size must be a whole number of bytes or null.`);
  }
  const sha256 = value.sha256;
  if (sha256 !== null && !(typeof sha256 === 'string' && SHA256_PATTERN.test(sha256))) {
    throw new ManifestError(`${where}.sha256 must be 64 lower-case hex digits or null.`);
  }
  const file: { -readonly [K in keyof ManifestFile]: ManifestFile[K] } = { name, url, size, sha256 };
  if ('md5' in value) {
    const md5 = value.md5;
    if (!(typeof md5 === 'string' && MD5_PATTERN.test(md5))) throw new ManifestError(`${where}.md5 must be 32 lower-case hex digits when present.`);
    file.md5 = md5;
  }
  if ('revision' in value) {
    const revision = value.revision;
    if (!(typeof revision === 'string' && REVISION_PATTERN.test(revision))) {
      throw new ManifestError(`${where}.revision must be a full commit id (40 lower-case hex digits) when present.`);
    }
    // A revision the URL does not name pins nothing: the download would still follow the branch.
    if (!parsed.pathname.split('/').includes(revision)) throw new ManifestError(`${where}.url must name its revision ${revision}.`);
    file.revision = revision;
  }
  return file;
}

function parseModel(value: unknown, where: string): ManifestModel {
  if (!isRecord(value)) throw new ManifestError(`${where} must be an object.`);
  const id = requireString(value, 'id', where);
  if (!ID_PATTERN.test(id)) throw new ManifestError(`${where}.id ${JSON.stringify(id)} must be lower-case letters, digits, - or _.`);
  const description = requireString(value, 'description', where);
  const kind = value.kind;
  if (kind === 'standin') {
    if (value.source !== 'generated') throw new ManifestError(`${where}.source must be "generated" for the stand-in.`);
    return { id, kind, description, source: 'generated' };
  }
  if (kind === 'triposr' || kind === 'segmentation') {
    if (!Array.isArray(value.files) || value.files.length === 0) throw new ManifestError(`${where}.files must be a non-empty array.`);
    const files = value.files.map((f: unknown, i: number) => parseFile(f, `${where}.files[${i}]`));
    // Case-insensitive because macOS and Windows folders are.
    const names = new Set(files.map((f) => f.name.toLowerCase()));
    if (names.size !== files.length) throw new ManifestError(`${where}.files lists the same name twice.`);
    return { id, kind, description, files };
  }
  throw new ManifestError(`${where}.kind ${JSON.stringify(kind)} is not one of "standin", "triposr", "segmentation".`);
}

export function parseManifest(json: unknown): Manifest {
  if (!isRecord(json)) throw new ManifestError('the top level must be an object.');
  if (!Array.isArray(json.models)) throw new ManifestError('"models" must be an array.');
  const models = json.models.map((m: unknown, i: number) => parseModel(m, `models[${i}]`));
  const ids = new Set(models.map((m) => m.id));
  if (ids.size !== models.length) throw new ManifestError('two models share an id.');
  return { models };
}

export async function loadManifest(file: string): Promise<Manifest> {
  const text = await readFile(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(`${file} is not JSON (${err instanceof Error ? err.message : String(err)}).`);
  }
  return parseManifest(json);
}

/** The downloadable model with this id; throws when the manifest has none (a build bug). */
export function downloadableModel(manifest: Manifest, id: string): DownloadableManifestModel {
  const model = manifest.models.find((m) => m.id === id);
  if (!model) throw new ManifestError(`no model with id ${JSON.stringify(id)}.`);
  if (model.kind === 'standin') throw new ManifestError(`model ${JSON.stringify(id)} is generated, not downloaded.`);
  return model;
}
