import { toHint, type Hint } from './hint.js';

export { ACTION_IDS, hintText, NEUTRAL_HINT_WORDS, OPTION_IDS } from './hint.js';
export type { ActionId, ActionRef, Hint, HintPart, HintWords, OptionId, OptionRef } from './hint.js';

/** Facts about the failure that a front end acts on, beyond the words it shows. */
export interface UserErrorDetails {
  /** output-exists: every planned output already there, so a front end can offer to replace or keep them. */
  readonly existingFiles?: readonly string[];
}

/**
 * An error meant for the user: `message` says what happened, `hint` what to do about it (rendered by
 * each front end with hintText, in its own words). Anything else that escapes the pipeline is a bug
 * and is reported as such.
 */
export class UserError extends Error {
  readonly hint: Hint;

  constructor(
    message: string,
    hint: string | Hint,
    readonly code: UserErrorCode,
    readonly details: UserErrorDetails = {},
  ) {
    super(message);
    this.name = 'UserError';
    this.hint = toHint(hint);
  }
}

export type UserErrorCode =
  | 'image-unreadable'
  | 'image-too-large'
  | 'image-empty'
  | 'model-missing'
  /** Background removal needs a network that is not downloaded, and downloading was not allowed. */
  | 'background-model-missing'
  | 'model-invalid'
  | 'output-exists'
  | 'output-not-writable'
  | 'no-surface'
  | 'mesh-unreadable'
  | 'invalid-option'
  | 'mesh-too-large'
  | 'download-failed'
  | 'disk-full'
  /** A file or folder could not be read or written for a reason of the machine's (files/fileErrors.ts words it). */
  | 'file-access-failed'
  /** The job needs more memory than there is, by a choice the hint names (a resolution, a file's size). */
  | 'out-of-memory'
  | 'checksum-mismatch'
  | 'model-busy'
  /** The CUDA provider could not be installed or removed (folder not writable, package not as expected, another install running). */
  | 'provider-install-failed';
