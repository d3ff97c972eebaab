import type { Progress, Stage } from '../pipeline/progress.js';

const STAGE_LABEL: Record<Stage, string> = {
  download: 'download',
  model: 'model',
  convert: 'convert',
  image: 'image',
  background: 'background',
  encode: 'encoder',
  surface: 'surface',
  read: 'read',
  mesh: 'mesh',
  colour: 'colour',
  write: 'write',
};

/**
 * One redrawn line on a terminal; on a pipe or a log file, one line per stage (a bar redrawn with
 * carriage returns would fill a log with noise).
 */
export class ProgressBar {
  private readonly interactive: boolean;
  private lastStage: Stage | undefined;
  private lastTenth = 0;
  private drawn = false;
  private lastDraw = 0;

  constructor(private readonly stream: NodeJS.WriteStream) {
    this.interactive = Boolean(stream.isTTY);
  }

  update(progress: Progress): void {
    if (!this.interactive) {
      // Long stages (a 1.7 GB download, the conversion) also get a line every tenth.
      // A fraction that falls back starts a new part of the stage (the next file of a download).
      const tenth = Math.floor(Math.min(1, Math.max(0, progress.fraction)) * 10);
      if (progress.stage !== this.lastStage || tenth !== this.lastTenth) {
        this.stream.write(`[${STAGE_LABEL[progress.stage]}] ${progress.message}\n`);
        this.lastTenth = tenth;
      }
      this.lastStage = progress.stage;
      return;
    }
    const now = Date.now();
    if (progress.stage === this.lastStage && now - this.lastDraw < 100 && progress.fraction < 1) return;
    this.lastStage = progress.stage;
    this.lastDraw = now;
    const width = 24;
    const filled = Math.round(Math.min(1, Math.max(0, progress.fraction)) * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const columns = this.stream.columns ?? 80;
    const line = `${bar} ${STAGE_LABEL[progress.stage].padEnd(8)} ${progress.message}`.slice(0, columns - 1);
    this.stream.write(`\r\x1b[2K${line}`);
    this.drawn = true;
  }

  /** Prints a message above the bar. */
  log(line: string): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.stream.write(`${line}\n`);
    this.drawn = false;
  }

  done(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}
