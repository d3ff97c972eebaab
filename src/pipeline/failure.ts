import { UserError, type Hint, type UserErrorCode, type UserErrorDetails } from './errors.js';
import { CancelledError } from './progress.js';

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
  if (err instanceof UserError) {
    return { kind: 'user', message: err.message, hint: err.hint, code: err.code, details: err.details };
  }
  if (err instanceof Error) return { kind: 'bug', message: err.message, stack: err.stack };
  return { kind: 'bug', message: String(err) };
}
