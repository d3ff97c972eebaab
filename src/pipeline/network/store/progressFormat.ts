/**
 * Wording for download progress, shared by the CLI bar and the VS Code notification so both say the
 * same thing. Sizes use decimal units (1 MB = 1,000,000 bytes) because that is what Hugging Face and
 * operating-system file managers show; a user comparing "1.68 GB" here with the model page should see
 * the same number.
 */

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'] as const;

/** "512 B", "23.4 MB", "612 MB", "1.68 GB": three significant digits, trailing zeros dropped. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '? B';
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  let unit = 0;
  let value = bytes;
  // Promote on the rounded value, otherwise 999.7 kB would print as "1000 kB".
  while (unit < UNITS.length - 1 && Number(value.toPrecision(3)) >= 1000) {
    value /= 1000;
    unit++;
  }
  const decimals = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${Number(value.toFixed(decimals))} ${UNITS[unit]}`;
}

/** "23.4 MB/s"; empty when there is no meaningful rate yet. */
export function formatRate(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '';
  return `${formatBytes(bytesPerSecond)}/s`;
}

/**
 * A coarse, rounded-up duration ("12 s", "3 min", "1 h 5 min"): a countdown that ticks every second
 * while the rate wobbles reads as noise, and rounding up avoids promising "0 min" while work remains.
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 60) return `${Math.max(1, Math.ceil(seconds))} s`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

/** Seconds left at the given rate, or undefined when the total or the rate is unknown. */
export function secondsLeft(received: number, total: number | undefined, bytesPerSecond: number): number | undefined {
  if (total === undefined || !(bytesPerSecond > 0) || received >= total) return undefined;
  return (total - received) / bytesPerSecond;
}

/** "612 MB of 1.68 GB, 23.4 MB/s, 1 min left", leaving out whatever is not known yet. */
export function formatDownloadProgress(received: number, total: number | undefined, bytesPerSecond: number): string {
  const parts = [total === undefined ? formatBytes(received) : `${formatBytes(received)} of ${formatBytes(total)}`];
  const rate = formatRate(bytesPerSecond);
  if (rate) parts.push(rate);
  const left = secondsLeft(received, total, bytesPerSecond);
  if (left !== undefined) parts.push(`${formatDuration(left)} left`);
  return parts.join(', ');
}

/** Fraction done in [0, 1] for a progress bar; undefined when the total is unknown. */
export function downloadFraction(received: number, total: number | undefined): number | undefined {
  if (total === undefined) return undefined;
  if (total <= 0) return 1;
  return Math.min(1, Math.max(0, received / total));
}
