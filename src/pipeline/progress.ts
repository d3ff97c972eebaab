/** The stages of a run, in the order data flows through them. */
export type Stage = 'download' | 'model' | 'convert' | 'image' | 'background' | 'encode' | 'surface' | 'read' | 'colour' | 'mesh' | 'write';

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

/** Runs stages of work, adding up the time each stage takes and stopping between them on a cancel. */
export interface StageTimer {
  readonly timings: Partial<Record<Stage, number>>;
  timed<T>(stage: Stage, work: () => Promise<T> | T): Promise<T>;
}

export function stageTimer(signal: AbortSignal | undefined): StageTimer {
  const timings: Partial<Record<Stage, number>> = {};
  return {
    timings,
    async timed<T>(stage: Stage, work: () => Promise<T> | T): Promise<T> {
      throwIfAborted(signal);
      const start = performance.now();
      const value = await work();
      timings[stage] = (timings[stage] ?? 0) + performance.now() - start;
      throwIfAborted(signal);
      return value;
    },
  };
}
