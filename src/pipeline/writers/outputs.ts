import * as path from 'node:path';
import { isSameFile } from '../files/fileIdentity.js';
import { isOutputFormat, OUTPUT_FORMAT_IDS, OUTPUT_FORMATS, type OutputFormat } from './outputFormats.js';

/** How DXF files hold the mesh: R12 3DFACEs, an R12 polyface mesh, or an R2010 MESH entity. */
export type DxfEntityKind = '3dface' | 'polyface' | 'mesh';

export const DXF_ENTITY_KINDS: readonly DxfEntityKind[] = Object.freeze(['3dface', 'polyface', 'mesh'] as const);

/** Parses a comma-separated list of formats, naming any it does not know. */
export function parseOutputFormats(text: string): OutputFormat[] {
  const names = text
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '');
  const unknown = names.filter((n) => !isOutputFormat(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new RangeError(`Unknown format(s) ${unknown.join(', ') || '(none given)'}; choose from ${OUTPUT_FORMAT_IDS.join(', ')}.`);
  }
  return [...new Set(names.filter(isOutputFormat))];
}

/**
 * Bound in UTF-8 bytes, not characters: file systems limit names in bytes (255 on most), and the
 * name still has to fit an extension, a " (n)" suffix and the temporary-file decoration.
 */
const MAX_BASE_BYTES = 120;
const FALLBACK_BASE = 'model';

/** Names Windows maps to devices whatever the extension ("CON.glb" opens the console). */
const WINDOWS_RESERVED = /^(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|COM[0-9¹²³]|LPT[0-9¹²³])$/i;

/**
 * The source's file name without its extension, made safe to use as the stem of output files on any
 * platform. Only the last path component is looked at, under both separators, so a crafted path
 * cannot steer the output elsewhere.
 */
export function outputBaseName(sourcePath: string): string {
  const fileName = sourcePath.split(/[\\/]/).pop() ?? '';
  const dot = fileName.lastIndexOf('.');
  let base = dot > 0 ? fileName.slice(0, dot) : fileName;

  // Control characters (C0, DEL, C1) and what Windows forbids in names.
  base = base.replace(/[\u0000-\u001f\u007f-\u009f<>:"/\\|?*]/g, '_');
  // Unpaired surrogates have no UTF-8 form; the file system would store something else.
  base = base.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '_');
  // A leading dot would hide the outputs on Unix; trailing dots and spaces are stripped by Windows,
  // which would make the written name differ from the one reported.
  base = base.replace(/^[.\s]+/, '');
  base = truncateUtf8(base, MAX_BASE_BYTES).replace(/[.\s]+$/, '');

  if (base === '') return FALLBACK_BASE;
  const firstPart = base.split('.')[0]!.trimEnd();
  if (WINDOWS_RESERVED.test(firstPart)) base = `_${base}`;
  return base;
}

/**
 * `<folder>/<base>.<ext>` for each format, one path per entry and in the same order, so callers can
 * pair paths with formats by index. The folder is the source's own unless `outDir` is given.
 */
export function plannedOutputPaths(sourcePath: string, formats: readonly OutputFormat[], outDir?: string): string[] {
  const folder = outDir ?? path.dirname(sourcePath);
  const base = outputBaseName(sourcePath);
  return formats.map((format) => path.join(folder, `${base}.${OUTPUT_FORMATS[format].extension}`));
}

/** What `--save-input` adds: the 512² image the encoder took, and the object's mask at the source's size. */
export const INPUT_IMAGE_SUFFIXES = Object.freeze({ input: 'input.png', mask: 'mask.png' } as const);

/** `<folder>/<base>.input.png` and `<folder>/<base>.mask.png`, beside the model files. */
export function inputImagePaths(sourcePath: string, outDir?: string): { input: string; mask: string } {
  const folder = outDir ?? path.dirname(sourcePath);
  const base = outputBaseName(sourcePath);
  return {
    input: path.join(folder, `${base}.${INPUT_IMAGE_SUFFIXES.input}`),
    mask: path.join(folder, `${base}.${INPUT_IMAGE_SUFFIXES.mask}`),
  };
}

/** Every file a generation writes: one per format, then the input images when they are asked for. */
export function plannedRunPaths(sourcePath: string, formats: readonly OutputFormat[], outDir?: string, saveInput = false): string[] {
  const paths = plannedOutputPaths(sourcePath, formats, outDir);
  if (!saveInput) return paths;
  const images = inputImagePaths(sourcePath, outDir);
  return [...paths, images.input, images.mask];
}

/**
 * The chosen formats minus any whose output would land on the source itself (converting a.stl to STL
 * next to it): no policy, "overwrite" included, may replace the file being converted. "Itself" is
 * judged on disk, not by spelling: an output folder that is a symlink to the source's folder, or an
 * output name that is a hard link to the source, count too.
 */
export async function formatsOtherThanSource(
  meshPath: string,
  formats: readonly OutputFormat[],
  outDir?: string,
): Promise<{ formats: OutputFormat[]; skipped: OutputFormat[] }> {
  const planned = plannedOutputPaths(meshPath, formats, outDir);
  const kept: OutputFormat[] = [];
  const skipped: OutputFormat[] = [];
  for (let i = 0; i < formats.length; i++) (await isSameFile(planned[i]!, meshPath) ? skipped : kept).push(formats[i]!);
  return { formats: kept, skipped };
}

/** The longest prefix of `text` that fits in `maxBytes` of UTF-8, never splitting a character. */
function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += ch.length;
  }
  return text.slice(0, end);
}
