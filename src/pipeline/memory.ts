/**
 * Running out of memory, in words a user can act on. V8 reports a buffer it cannot allocate as
 * "RangeError: Array buffer allocation failed" or "Invalid typed array length: 12000000000", which says
 * nothing about which choice made it that large; the places that allocate by the user's choice (a
 * resolution, a file's announced size) catch it and say what needed the memory and how to need less.
 */
import { UserError, type Hint } from './errors.js';
import { formatBytes } from './network/store/progressFormat.js';

const ORT_ALLOCATION_FAILURE = /Failed to allocate memory for requested buffer|CUDA failure 2: out of memory/;

/** Lengths V8 refuses outright are this large or larger; a smaller "invalid length" is a miscount, a bug. */
const HUGE_LENGTH = 2 ** 31;

/** Whether `err` is V8 or Node failing to allocate a buffer, array or string (not a negative or NaN length). */
export function isAllocationFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (code === 'ERR_MEMORY_ALLOCATION_FAILED' || code === 'ERR_BUFFER_TOO_LARGE' || code === 'ERR_STRING_TOO_LONG') return true;
  // ONNX Runtime's arena (main or GPU memory) refusing a tensor, as the decoder reports it from a run.
  if (ORT_ALLOCATION_FAILURE.test(err.message)) return true;
  if (!(err instanceof RangeError)) return false;
  if (/allocation failed/i.test(err.message)) return true;
  if (/^Invalid string length$/.test(err.message)) return true;
  const length = /^Invalid (?:typed )?array (?:buffer )?length: (\d+)/.exec(err.message);
  return length !== null && Number(length[1]) >= HUGE_LENGTH;
}

/** The length V8 refused ("Invalid typed array length: N"), when its message gives one. */
export function refusedLength(err: unknown): number | undefined {
  const match = err instanceof Error ? /length: (\d+)/.exec(err.message) : null;
  return match ? Number(match[1]) : undefined;
}

/**
 * Runs `work`; an allocation failure inside becomes an 'out-of-memory' user error saying that `what`
 * needs about `bytes` and, through `hint`, how to need less. Other errors pass through.
 */
export async function explainOutOfMemory<T>(work: () => Promise<T>, what: string, bytes: number, hint: string | Hint): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!isAllocationFailure(err)) throw err;
    throw outOfMemory(what, bytes, hint);
  }
}

export function outOfMemory(what: string, bytes: number, hint: string | Hint): UserError {
  return new UserError(`There is not enough memory for ${what}: it needs about ${formatBytes(bytes)}.`, hint, 'out-of-memory');
}
