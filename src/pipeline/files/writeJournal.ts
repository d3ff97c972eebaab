import { promises as fsp, type BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { syncDirectory } from './durable.js';
import { backupName, isPlainName, journalName, parseLeftoverName } from './writeNames.js';

/**
 * The journal of one write's commit: every change to a final name is recorded (and flushed) before it
 * is made, so whoever finds the journal can undo exactly what was done, and nothing else. Its presence
 * means "not committed": removing it is the commit point. Names are folder entries, never paths, so a
 * journal can only ever act inside its own folder.
 */

export type JournalEntry =
  /** The file at `name` was (about to be) renamed to `backup`. */
  | { readonly op: 'aside'; readonly name: string; readonly backup: string }
  /** `temp` was (about to be) given the name `name`: as a second name ('link'), or by copying it ('copy'). */
  | { readonly op: 'link' | 'copy'; readonly name: string; readonly temp: string };

/** How an undo went. */
export interface UndoOutcome {
  /** Every change was undone (or accounted for): the journal may go. */
  readonly complete: boolean;
  /** Earlier files still under their backup names, because a step failed; the journal stays. */
  readonly unrestored: readonly string[];
  /** Earlier files whose name another program took meanwhile, now under a visible name beside it. */
  readonly keptBeside: readonly { readonly name: string; readonly keptAs: string }[];
}

/** How many "(earlier n)" names are tried before an earlier file is left under its backup name. */
const MAX_EARLIER = 99;

export class WriteJournal {
  private handle: FileHandle | undefined;
  private readonly recorded: JournalEntry[] = [];
  /** Set once the journal is gone on purpose: committed, or fully rolled back. */
  private closed = false;

  constructor(
    readonly dir: string,
    readonly tag: string,
  ) {}

  get entries(): readonly JournalEntry[] {
    return this.recorded;
  }

  /** Writes `entry` to disk; only then may the caller make the change. Opens the journal on first use. */
  async record(entry: JournalEntry): Promise<void> {
    if (this.closed) throw new Error('The write journal is closed.');
    if (!this.handle) {
      // Exclusive: a journal with this tag already there belongs to an attempt that must be recovered first.
      this.handle = await fsp.open(this.file(), 'wx');
      // The journal's own name must be on disk before anything it guards happens.
      await syncDirectory(this.dir);
    }
    await this.handle.write(`${JSON.stringify(entry)}\n`);
    await this.handle.datasync();
    this.recorded.push(entry);
  }

  /**
   * The commit point: with the new names on disk, the journal goes. From here a recovery keeps the new
   * set and only clears the backups and temporaries away.
   */
  async commit(): Promise<void> {
    this.closed = true;
    if (!this.handle) return;
    await syncDirectory(this.dir);
    await this.handle.close();
    await fsp.unlink(this.file());
    await syncDirectory(this.dir);
  }

  /**
   * Undoes every recorded change, newest first; then removes `temporaries` (paths) and the
   * journal. When something cannot be undone, everything is kept for a later sweep to try again: the
   * temporaries are what tells our files from others', and the journal is what keeps the backups from
   * being taken for leftovers of a committed write.
   */
  async rollBack(temporaries: readonly string[]): Promise<UndoOutcome> {
    this.closed = true;
    await this.handle?.close().catch(() => undefined);
    const outcome = await undoEntries(this.dir, this.recorded);
    if (!outcome.complete) return outcome;
    // Left behind if they will not go: without the journal, a later sweep takes them for what they are.
    for (const temp of temporaries) await removeQuietly(temp);
    if (this.handle) await removeQuietly(this.file());
    return outcome;
  }

  private file(): string {
    return path.join(this.dir, journalName(this.tag));
  }
}

/**
 * The entries of the journal `tag` left in `dir`, or undefined when there is none. A line cut short by
 * a crash is dropped: its change was never made, since every line is flushed before its change.
 */
export async function readJournal(dir: string, tag: string): Promise<JournalEntry[] | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(path.join(dir, journalName(tag)), 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
  const entries: JournalEntry[] = [];
  for (const line of text.split('\n')) {
    const entry = parseEntry(line, tag);
    if (entry) entries.push(entry);
  }
  return entries;
}

/** Undoes `entries` in `dir`, newest first. Each step is safe to repeat, so an undo cut short can run again. */
export async function undoEntries(dir: string, entries: readonly JournalEntry[]): Promise<UndoOutcome> {
  const unrestored: string[] = [];
  const keptBeside: { name: string; keptAs: string }[] = [];
  let complete = true;
  for (const entry of [...entries].reverse()) {
    const final = path.join(dir, entry.name);
    try {
      if (entry.op === 'aside') {
        const backup = path.join(dir, entry.backup);
        // Never moved aside, or already put back.
        if (!(await lstatOrUndefined(backup))) continue;
        // Our own new file was taken away by the newer entries, so whatever holds the name now came
        // from someone else after the write began. Neither may be lost: the earlier file goes beside
        // it under a name the user can see.
        if (await lstatOrUndefined(final)) {
          keptBeside.push({ name: final, keptAs: await keepBeside(backup, final) });
          continue;
        }
        await fsp.rename(backup, final);
      } else if (await isOurPlacement(final, path.join(dir, entry.temp), entry.op === 'copy')) {
        await fsp.unlink(final);
      }
    } catch (err) {
      // Gone already: undone by an earlier attempt, or the change was never made.
      if (errorCode(err) === 'ENOENT') continue;
      complete = false;
      if (entry.op === 'aside') unrestored.push(path.join(dir, entry.backup));
    }
  }
  return { complete, unrestored, keptBeside };
}

/** Gives `backup` the first free name "<stem> (earlier n).<ext>" beside `final`, never replacing one. */
async function keepBeside(backup: string, final: string): Promise<string> {
  const ext = path.extname(final);
  const stem = final.slice(0, final.length - ext.length);
  for (let n = 1; n <= MAX_EARLIER; n++) {
    const candidate = `${stem} (earlier${n === 1 ? '' : ` ${n}`})${ext}`;
    if (await lstatOrUndefined(candidate)) continue;
    try {
      // A second name first, so a name taken in a race is never replaced.
      await fsp.link(backup, candidate);
      await fsp.unlink(backup);
    } catch (err) {
      if (errorCode(err) === 'EEXIST') continue;
      // No hard links here: a rename, just after the name was seen free.
      await fsp.rename(backup, candidate);
    }
    return candidate;
  }
  throw Object.assign(new Error(`No free name beside ${final}.`), { code: 'EEXIST' });
}

/**
 * Whether `final` holds what this write put there: the temporary's own file under a second name, or,
 * where the file system had no hard links, a copy of it (complete or cut short) — never a file someone
 * else made meanwhile.
 */
export async function isOurPlacement(final: string, temp: string, copied: boolean): Promise<boolean> {
  const [placed, source] = await Promise.all([lstatOrUndefined(final), lstatOrUndefined(temp)]);
  if (!placed?.isFile() || !source?.isFile()) return false;
  if (placed.dev === source.dev && placed.ino === source.ino) return true;
  if (!copied || placed.size > source.size) return false;
  const [a, b] = await Promise.all([fsp.readFile(final), fsp.readFile(temp)]);
  return a.equals(b.subarray(0, a.length));
}

function parseEntry(line: string, tag: string): JournalEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { op, name, backup, temp } = value as Record<string, unknown>;
  if (typeof name !== 'string' || !isPlainName(name)) return undefined;
  if (op === 'aside') {
    return backup === backupName(name, tag) ? { op, name, backup } : undefined;
  }
  if (op === 'link' || op === 'copy') {
    if (typeof temp !== 'string') return undefined;
    const leftover = parseLeftoverName(temp);
    return leftover?.kind === 'temporary' && leftover.tag === tag ? { op, name, temp } : undefined;
  }
  return undefined;
}

async function lstatOrUndefined(file: string): Promise<BigIntStats | undefined> {
  try {
    return await fsp.lstat(file, { bigint: true });
  } catch (err) {
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

async function removeQuietly(file: string): Promise<void> {
  await fsp.unlink(file).catch(() => undefined);
}

export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
