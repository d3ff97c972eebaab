import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { CancelledError, throwIfAborted } from '../../progress.js';

export interface HashFileOptions {
  readonly signal?: AbortSignal;
  /** Bytes hashed so far; called after every chunk (callers throttle if they need to). */
  readonly onChunk?: (hashed: number) => void;
}

/**
 * Feeds the first `length` bytes of a file into `hash`. Reading exactly `length` bytes, rather than
 * "to the end", keeps the result tied to a size the caller checked: a file that grows while it is read,
 * or a path that turns out to be a device, cannot feed in more than was asked for.
 */
export async function hashFilePrefix(file: string, length: number, hash: Hash, options: HashFileOptions = {}): Promise<number> {
  throwIfAborted(options.signal);
  if (length <= 0) return 0;
  const stream = createReadStream(file, { start: 0, end: length - 1, highWaterMark: 1 << 20 });
  let hashed = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      throwIfAborted(options.signal);
      hash.update(chunk);
      hashed += chunk.length;
      options.onChunk?.(hashed);
    }
  } catch (err) {
    if (options.signal?.aborted) throw new CancelledError();
    throw err;
  } finally {
    stream.destroy();
  }
  return hashed;
}
