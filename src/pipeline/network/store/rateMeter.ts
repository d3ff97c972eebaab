/** Bytes so far, the expected total when known, and the current transfer rate. */
export type ByteProgress = (received: number, total: number | undefined, bytesPerSecond: number) => void;

const DEFAULT_WINDOW_MS = 5_000;

/**
 * Passes byte counts on to a progress callback at most once per interval, with a rate measured over
 * the last few seconds. A download delivers a chunk every few microseconds; calling a VS Code
 * notification for each would cost more than the download, and a rate averaged since the start would
 * still show yesterday's speed after the network slows down.
 */
export class ProgressThrottle {
  /** (time, bytes) at each report, oldest first, trimmed to the rate window. */
  private readonly samples: { t: number; bytes: number }[] = [];
  private lastReport = Number.NEGATIVE_INFINITY;
  private lastBytes = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly callback: ByteProgress | undefined,
    private readonly total: number | undefined,
    private readonly intervalMs = 100,
    private readonly windowMs = DEFAULT_WINDOW_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Marks where counting starts: bytes already on disk do not count towards the rate. */
  start(bytes: number): void {
    this.samples.length = 0;
    this.samples.push({ t: this.now(), bytes });
    this.report(bytes, true);
  }

  update(bytes: number): void {
    this.report(bytes, false);
  }

  /** The last report, always sent, so a listener sees the final count. */
  finish(bytes: number): void {
    this.report(bytes, true);
  }

  bytesPerSecond(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.t <= first.t) return 0;
    return Math.max(0, ((last.bytes - first.bytes) * 1000) / (last.t - first.t));
  }

  private report(bytes: number, force: boolean): void {
    const t = this.now();
    if (!force && t - this.lastReport < this.intervalMs) return;
    // A forced report of an unchanged count (start, then finish of an empty file) says nothing new.
    if (force && bytes === this.lastBytes && t - this.lastReport < this.intervalMs) return;
    this.lastReport = t;
    this.lastBytes = bytes;
    if (this.samples.length > 0) this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[1].t >= this.windowMs) this.samples.shift();
    this.callback?.(bytes, this.total, this.bytesPerSecond());
  }
}
