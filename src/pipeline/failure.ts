import { UserError, type Hint, type UserErrorCode, type UserErrorDetails } from './errors.js';
import { CancelledError } from './progress.js';
import { escapedFileError } from './files/fileErrors.js';
import { isAllocationFailure } from './memory.js';

/**
 * How a job ended when it did not succeed, as plain data: it crosses from the worker to the extension
 * host by structured clone, which keeps no classes. Front ends render `hint` in their own words.
 */
export type JobFailure =
  | { readonly kind: 'cancelled' }
  | {
      readonly kind: 'user';
      readonly message: string;
      readonly hint: Hint;
      readonly code: UserErrorCode;
      readonly details: UserErrorDetails;
    }
  | { readonly kind: 'bug'; readonly message: string; readonly stack?: string };

/** Sorts whatever a job threw: a cancel, a problem the user can fix, or a bug. */
export function toFailure(err: unknown): JobFailure {
  if (err instanceof CancelledError) return { kind: 'cancelled' };
  const user = err instanceof UserError ? err : userErrorEscaped(err);
  if (user) return { kind: 'user', message: user.message, hint: user.hint, code: user.code, details: user.details };
  if (err instanceof Error) return { kind: 'bug', message: err.message, stack: err.stack };
  return { kind: 'bug', message: String(err) };
}

/**
 * The safety net for the machine's failures that no stage caught and worded: a file error with a path
 * (a folder where a file should go, a full disk) or memory running out. The user can act on these, so
 * they are not reported as bugs; the stages that can say more (which file, which option) still should.
 */
function userErrorEscaped(err: unknown): UserError | undefined {
  const fileError = escapedFileError(err);
  if (fileError) return fileError;
  if (isAllocationFailure(err)) {
    return new UserError(
      'There is not enough memory for this job.',
      ['Close other programs and try again; a lower resolution (', { option: 'resolution' }, ') or a smaller input needs less.'],
      'out-of-memory',
    );
  }
  return undefined;
}
