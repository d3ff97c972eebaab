/** The stages of a run, in the order data flows through them. */
export type Stage = 'download' | 'model' | 'convert' | 'image' | 'encode' | 'surface' | 'colour' | 'mesh' | 'write';

export interface Progress {
  readonly stage: Stage;
  /** Fraction of this stage done, in [0, 1]. */
  readonly fraction: number;
  /** A short human-readable line for a progress bar or notification. */
  readonly message: string;
}

export type ProgressSink = (progress: Progress) => void;

/** Thrown when a run is cancelled through its AbortSignal. */
export class CancelledError extends Error {
  constructor() {
    super('Cancelled.');
    this.name = 'CancelledError';
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}
