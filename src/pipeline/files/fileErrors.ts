/**
 * What a failed file operation means, in words a user reads. Node reports these as "EISDIR: illegal
 * operation on a directory, rename '…' -> '…'", which names the operating system's call rather than
 * the problem; every place that shows a file error words it through this one table, so the same errno
 * reads the same everywhere ("is a folder", "the disk is full").
 */
import { UserError, type Hint, type UserErrorCode } from '../errors.js';

interface ErrnoWords {
  /** Follows a colon after what could not be done: "Cannot write x.glb: it is a folder." */
  readonly reason: string;
  /** What to do, for when the caller has nothing more specific to say. */
  readonly hint: string;
}

const PERMISSION_HINT = 'Check the permissions of the file and of its folder, or use a place you can write to.';
const IN_USE_HINT = 'Close the program that has it open, then try again.';
const OPEN_FILES_HINT = 'Close other programs, or raise the limit on open files (ulimit -n), then try again.';
const SPACE_HINT = 'Free up space on that drive, or use another drive.';

/** The errnos a user's machine or choices cause, rather than a mistake in this program. */
const ERRNO_WORDS: Readonly<Record<string, ErrnoWords>> = {
  EISDIR: { reason: 'it is a folder', hint: 'Move or rename that folder, or use another name or place.' },
  ENOTDIR: { reason: 'part of its path is a file, not a folder', hint: 'Check the path: one of the folders in it is a file.' },
  EACCES: { reason: 'permission denied', hint: PERMISSION_HINT },
  EPERM: { reason: 'the operation is not permitted', hint: PERMISSION_HINT },
  EROFS: { reason: 'the drive is read-only', hint: 'Use a folder on a drive you can write to.' },
  ENOSPC: { reason: 'the disk is full', hint: SPACE_HINT },
  EDQUOT: { reason: 'the disk quota is used up', hint: SPACE_HINT },
  EFBIG: { reason: 'the file is too large for this drive', hint: 'Use a drive whose file system holds large files (not FAT32).' },
  ENAMETOOLONG: { reason: 'the name or path is too long', hint: 'Use a shorter name, or a folder nearer the top of the drive.' },
  EMFILE: { reason: 'too many files are open', hint: OPEN_FILES_HINT },
  ENFILE: { reason: 'too many files are open on this system', hint: OPEN_FILES_HINT },
  EBUSY: { reason: 'it is in use by another program', hint: IN_USE_HINT },
  ETXTBSY: { reason: 'it is in use by another program', hint: IN_USE_HINT },
  ENOTEMPTY: { reason: 'it is a folder that is not empty', hint: 'Move or empty that folder, or use another name or place.' },
  ELOOP: { reason: 'its path has a loop of symbolic links', hint: 'Check the symbolic links along the path.' },
  EIO: { reason: 'the drive reported a read or write error', hint: 'The drive may be failing or disconnected; check it, then try again.' },
  ENOENT: { reason: 'it does not exist', hint: 'Check that it exists and that the path is spelled right.' },
  // From mkdir, a file where the folder should be; from an exclusive create, a file under the name.
  EEXIST: { reason: 'a file of that name is already there', hint: 'Move or rename that file, or use another name.' },
};

/**
 * Errnos that, escaping with a path, are the machine's doing whatever the operation: the safety net in
 * toFailure reports these to the user. ENOENT and EEXIST are left out: this program's own files going
 * missing or colliding is more often a bug than the user's doing.
 */
const ENVIRONMENT_ERRNOS: ReadonlySet<string> = new Set(Object.keys(ERRNO_WORDS).filter((code) => code !== 'ENOENT' && code !== 'EEXIST'));

/** The `code` of a Node system error ("EISDIR"), if it has one. */
export function errnoOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** "it is a folder", "the disk is full", …; undefined for an error the table does not word. */
export function fileErrorReason(err: unknown): string | undefined {
  const code = errnoOf(err);
  return code === undefined ? undefined : ERRNO_WORDS[code]?.reason;
}

/**
 * A user error for a failed file operation: `what` says what could not be done ("Cannot write
 * \"x.glb\""), the reason follows from the table. Undefined when the errno is not one the table words,
 * so the caller can rethrow the original (most likely a bug). `hint` replaces the table's advice when the
 * caller knows better (e.g. the choose-output-folder action); ENOSPC and EDQUOT default to 'disk-full'.
 */
export function fileUserError(err: unknown, what: string, options: { readonly code?: UserErrorCode; readonly hint?: string | Hint } = {}): UserError | undefined {
  const code = errnoOf(err);
  const words = code === undefined ? undefined : ERRNO_WORDS[code];
  if (words === undefined) return undefined;
  const fallbackCode: UserErrorCode = code === 'ENOSPC' || code === 'EDQUOT' ? 'disk-full' : 'file-access-failed';
  return new UserError(`${what}: ${words.reason}.`, options.hint ?? words.hint, options.code ?? fallbackCode);
}

/** What the failed system call was doing, as a verb for "Could not … <path>". */
const SYSCALL_VERBS: Readonly<Record<string, string>> = {
  open: 'open',
  read: 'read',
  write: 'write',
  rename: 'write',
  link: 'write',
  copyfile: 'write',
  mkdir: 'create the folder',
  unlink: 'remove',
  rmdir: 'remove',
  rm: 'remove',
  scandir: 'list the folder',
  opendir: 'list the folder',
  stat: 'reach',
  lstat: 'reach',
  access: 'reach',
  fsync: 'save',
  utime: 'update',
  chmod: 'change the permissions of',
};

/**
 * The safety net for a file error nobody caught on the way (toFailure uses it): a Node system error
 * with a path and an errno the user can act on becomes a user error naming the file and the reason.
 * A rename or copy names its destination, the name the user knows.
 */
export function escapedFileError(err: unknown): UserError | undefined {
  const code = errnoOf(err);
  if (code === undefined || !ENVIRONMENT_ERRNOS.has(code) || typeof err !== 'object' || err === null) return undefined;
  const { path, dest, syscall } = err as { path?: unknown; dest?: unknown; syscall?: unknown };
  const file = typeof dest === 'string' ? dest : typeof path === 'string' ? path : undefined;
  if (file === undefined) return undefined;
  const verb = (typeof syscall === 'string' ? SYSCALL_VERBS[syscall] : undefined) ?? 'use';
  return fileUserError(err, `Could not ${verb} "${file}"`);
}
