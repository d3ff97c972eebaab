import * as path from 'node:path';

/**
 * The hidden names a run's write gives its files on the way to their final names, all in the final
 * folder and all carrying the run's tag, so that what a killed run left can be found and put right:
 *
 *   `.<final>.<tag>.i3d-tmp`   new content (complete once the journal exists); also `.probe.<tag>.i3d-tmp`
 *   `.<final>.<tag>.i3d-old`   an earlier file at `<final>`, moved aside until the new set is in place
 *   `.<tag>.i3d-journal`       present from just before the first final name changes until the set is committed
 *
 * Nothing else is ever treated as ours: a sweep looks only at names of exactly these shapes.
 */

/** A tag is one file-name-safe word with no dots, so it can be read back out of the names above. */
export const TAG_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const TEMP_SUFFIX = '.i3d-tmp';
const BACKUP_SUFFIX = '.i3d-old';
const JOURNAL_SUFFIX = '.i3d-journal';

const FINAL_LEFTOVER = /^\.(.+)\.([A-Za-z0-9_-]{1,64})\.(i3d-tmp|i3d-old)$/;
const JOURNAL = /^\.([A-Za-z0-9_-]{1,64})\.i3d-journal$/;

export function assertTag(tag: string): void {
  if (!TAG_PATTERN.test(tag)) throw new RangeError(`Invalid temporary-file tag: ${JSON.stringify(tag)}.`);
}

/** The hidden name, in the same folder, where a final file's new content is written first. */
export function temporaryPath(finalPath: string, tag: string): string {
  return path.join(path.dirname(finalPath), temporaryName(path.basename(finalPath), tag));
}

export function temporaryName(finalName: string, tag: string): string {
  return `.${finalName}.${tag}${TEMP_SUFFIX}`;
}

/** Where the file already at `finalName` waits while the new set is put in place. */
export function backupName(finalName: string, tag: string): string {
  return `.${finalName}.${tag}${BACKUP_SUFFIX}`;
}

export function journalName(tag: string): string {
  return `.${tag}${JOURNAL_SUFFIX}`;
}

/** The probe that checks a folder can take new files; shaped like a temporary so a sweep finds it. */
export function probeName(tag: string): string {
  return temporaryName('probe', tag);
}

export type Leftover =
  | { readonly kind: 'temporary' | 'backup'; readonly tag: string; readonly finalName: string }
  | { readonly kind: 'journal'; readonly tag: string };

/** What a folder entry is, when its name is one of the shapes above; undefined for anything else. */
export function parseLeftoverName(name: string): Leftover | undefined {
  const journal = JOURNAL.exec(name);
  if (journal) return { kind: 'journal', tag: journal[1]! };
  const other = FINAL_LEFTOVER.exec(name);
  if (!other || !isPlainName(other[1]!)) return undefined;
  return { kind: other[3] === 'i3d-tmp' ? 'temporary' : 'backup', tag: other[2]!, finalName: other[1]! };
}

/** A single folder entry's name: never a path, `.` or `..`, so a journal cannot steer us elsewhere. */
export function isPlainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[\\/\u0000]/.test(name);
}
