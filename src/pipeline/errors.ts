/**
 * An error meant for the user: `message` says what happened, `hint` what to do about it. Anything else
 * that escapes the pipeline is a bug and is reported as such.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    readonly code: UserErrorCode,
  ) {
    super(message);
    this.name = 'UserError';
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
  | 'checksum-mismatch'
  | 'model-busy'
  /** The CUDA provider could not be installed or removed (folder not writable, package not as expected, another install running). */
  | 'provider-install-failed';
