import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { UserError, type Hint } from '../../errors.js';
import { syncDirectory } from '../../files/durable.js';
import { CancelledError, throwIfAborted } from '../../progress.js';
import { hashFilePrefix } from './fileHash.js';
import { formatBytes } from './progressFormat.js';
import { ProgressThrottle, type ByteProgress } from './rateMeter.js';
import { makeFolders } from '../../files/makeFolders.js';

/**
 * Downloads one large file so that a failure at any point costs as little as possible: the bytes go to
 * `<dest>.part`, a later call resumes from there with an HTTP Range request, and the final name appears
 * only once the file is complete and on disk. Whoever holds the final name can therefore trust it is
 * whole; whatever is under `.part` is a resumable prefix.
 *
 * node:http(s) rather than fetch: VS Code's extension host routes these modules through the user's
 * proxy settings, and they give direct control over redirects and the Range header on each hop.
 */

export const PART_SUFFIX = '.part';

export type { ByteProgress } from './rateMeter.js';

export interface DownloadOptions {
  /** Size in bytes when known in advance; a server announcing or sending another size is refused. */
  readonly expectedSize?: number;
  /** Cancels the transfer; the `.part` file stays for a later resume. */
  readonly signal?: AbortSignal;
  /** Received bytes (including those resumed from `.part`), total when known, current rate. */
  readonly onProgress?: ByteProgress;
  /** Longest wait for an answer or for the next bytes of the body, in ms. */
  readonly fetchTimeoutMs?: number;
  /** Redirects followed before giving up (Hugging Face sends one, to its CDN). */
  readonly maxRedirects?: number;
  /** Least time between two progress calls, in ms. */
  readonly progressIntervalMs?: number;
  /** Name used in messages; the destination's file name when left out. */
  readonly label?: string;
  /**
   * Sees every answer's status and headers (redirects included) before any body is taken; throwing
   * refuses the download there. The model store reads the hashes Hugging Face publishes in headers.
   */
  readonly onResponse?: (response: ResponseFacts) => void;
}

export interface ResponseFacts {
  readonly url: string;
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
}

export interface DownloadResult {
  readonly path: string;
  readonly size: number;
  /** Lower-case hex SHA-256 of the whole file, resumed prefix included. */
  readonly sha256: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_REDIRECTS = 10;
const DEFAULT_PROGRESS_INTERVAL_MS = 100;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = 'image-to-3d (VS Code extension; model download)';

const RESUME_HINT =
  'If it keeps stopping, check the network connection and any proxy settings. Each attempt continues from where the last one stopped.';

export function partPathFor(destPath: string): string {
  return destPath + PART_SUFFIX;
}

interface RequestContext {
  readonly label: string;
  /** The address the caller asked for: messages name it rather than a signed CDN address. */
  readonly url: URL;
  readonly signal: AbortSignal | undefined;
  readonly timeoutMs: number;
  readonly maxRedirects: number;
  readonly onResponse: ((response: ResponseFacts) => void) | undefined;
}

interface OpenResponse {
  readonly req: http.ClientRequest;
  readonly res: http.IncomingMessage;
  /** Set when the idle timer, not the network, ended the connection. */
  readonly watch: { timedOut: boolean };
}

type Begun =
  | { readonly kind: 'body'; readonly opened: OpenResponse; readonly start: number; readonly total: number | undefined }
  /** The server says the `.part` already holds the whole file (416 to a Range starting at its end). */
  | { readonly kind: 'complete'; readonly total: number };

export async function downloadFile(url: string, destPath: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const { signal, expectedSize } = options;
  if (expectedSize !== undefined && !(Number.isSafeInteger(expectedSize) && expectedSize >= 0)) {
    throw new RangeError(`expectedSize must be a whole number of bytes, not ${expectedSize}.`);
  }
  const ctx: RequestContext = {
    label: options.label ?? path.basename(destPath),
    url: parseUrl(url),
    signal,
    timeoutMs: options.fetchTimeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxRedirects: options.maxRedirects ?? DEFAULT_MAX_REDIRECTS,
    onResponse: options.onResponse,
  };
  throwIfAborted(signal);

  const dest = path.resolve(destPath);
  const dir = path.dirname(dest);
  const part = partPathFor(dest);
  await makeFolders(dir);

  let existing = await regularFileSize(part);
  // A .part longer than the whole file cannot be a prefix of it.
  if (expectedSize !== undefined && existing > expectedSize) existing = 0;
  if (expectedSize !== undefined) await ensureFreeSpace(dir, expectedSize - existing, ctx.label);

  let hash = createHash('sha256');
  if (existing > 0) await hashFilePrefix(part, existing, hash, { signal });

  const begun = await beginTransfer(existing, ctx);
  if (begun.kind === 'complete') {
    if (expectedSize !== undefined && begun.total !== expectedSize) {
      await fsp.rm(part, { force: true });
      throw sizeMismatch(ctx, `the server gives its size as ${describeSize(begun.total)}`, expectedSize);
    }
    throwIfAborted(signal);
    await commit(part, dest, undefined);
    options.onProgress?.(begun.total, begun.total, 0);
    return { path: dest, size: begun.total, sha256: hash.digest('hex') };
  }

  const { opened, start, total } = begun;
  // The server ignored the Range request and is sending the whole file: the prefix hashed above is moot.
  if (start === 0 && existing > 0) hash = createHash('sha256');

  /** Set when the .part must not survive this call: its bytes are not the file the caller wants. */
  let discardPart = false;
  let handle: FileHandle | undefined;
  const iterator = (opened.res as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let received = start;
  try {
    if (expectedSize !== undefined && total !== undefined && total !== expectedSize) {
      discardPart = true;
      throw sizeMismatch(ctx, `the server announced ${describeSize(total)}`, expectedSize);
    }
    if (total !== undefined) await ensureFreeSpace(dir, total - start, ctx.label);

    try {
      handle = await fsp.open(part, start === 0 ? 'w' : 'r+');
    } catch (err) {
      throw writeFailure(err, ctx, dir, received, total ?? expectedSize);
    }
    const progress = new ProgressThrottle(options.onProgress, total ?? expectedSize, options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS);
    progress.start(received);

    for (;;) {
      let step: IteratorResult<Buffer>;
      try {
        step = await iterator.next();
      } catch (err) {
        if (signal?.aborted) throw new CancelledError();
        throw stoppedError(ctx, received, total ?? expectedSize, networkReason(err, opened.watch.timedOut, ctx.timeoutMs));
      }
      if (step.done) break;
      const chunk = step.value;
      try {
        await writeAll(handle, chunk, received);
      } catch (err) {
        throw writeFailure(err, ctx, dir, received, total ?? expectedSize);
      }
      hash.update(chunk);
      received += chunk.length;
      const limit = total ?? expectedSize;
      if (limit !== undefined && received > limit) {
        discardPart = true;
        throw sizeMismatch(ctx, `the server sent more than ${describeSize(limit)}`, expectedSize ?? limit);
      }
      progress.update(received);
    }
    // Cancelled as the last bytes arrived: the caller has been told nothing will appear, so nothing does.
    if (signal?.aborted) throw new CancelledError();
    // Node reports a body cut short of its Content-Length as an error; this is a 206 whose slice ended
    // before the file did, which a later call can continue.
    if (total !== undefined && received < total) {
      throw stoppedError(ctx, received, total, 'the server ended the transfer early');
    }
    if (expectedSize !== undefined && received !== expectedSize) {
      discardPart = true;
      throw sizeMismatch(ctx, `the server sent ${describeSize(received)}`, expectedSize);
    }
    await commit(part, dest, handle);
    handle = undefined;
    progress.finish(received);
    return { path: dest, size: received, sha256: hash.digest('hex') };
  } finally {
    // Closing before removing: Windows cannot delete an open file.
    await handle?.close().catch(() => undefined);
    await iterator.return?.().catch(() => undefined);
    opened.req.destroy();
    if (discardPart) await fsp.rm(part, { force: true });
  }
}

/** Deletes the `.part` files in a folder (not below it); for a user who wants to start clean. */
export async function sweepPartFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (!entry.name.endsWith(PART_SUFFIX) || entry.isDirectory()) continue;
    const file = path.join(dir, entry.name);
    await fsp.rm(file, { force: true });
    removed.push(file);
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------------

async function beginTransfer(existing: number, ctx: RequestContext): Promise<Begun> {
  const opened = await openResponse(existing, ctx);
  const { res } = opened;
  const status = res.statusCode ?? 0;
  const length = parseLength(res.headers['content-length']);
  if (status === 200) return { kind: 'body', opened, start: 0, total: length };
  if (status === 206) {
    const range = parseContentRange(res.headers['content-range']);
    if (range && range.start === existing) {
      return { kind: 'body', opened, start: existing, total: range.total ?? (length === undefined ? undefined : existing + length) };
    }
    // Some other slice than the one asked for (a confused proxy, or a file that changed under us):
    // nothing in it can be trusted to line up with the .part, so start over from the first byte.
    discard(opened);
    if (existing === 0) throw protocolError(ctx, status, 'a part of the file that was not asked for');
    return beginTransfer(0, ctx);
  }
  if (status === 416 && existing > 0) {
    const total = parseUnsatisfiedRange(res.headers['content-range']);
    discard(opened);
    if (total === existing) return { kind: 'complete', total };
    return beginTransfer(0, ctx);
  }
  discard(opened);
  throw httpStatusError(ctx, status, res.statusMessage);
}

/** Sends the GET, following redirects; resolves with the first answer that is not a redirect. */
async function openResponse(rangeStart: number, ctx: RequestContext): Promise<OpenResponse> {
  let url = ctx.url;
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = {
      'user-agent': USER_AGENT,
      // Sizes and ranges must count the file's own bytes, not those of a compressed encoding.
      'accept-encoding': 'identity',
    };
    if (rangeStart > 0) headers.range = `bytes=${rangeStart}-`;
    const opened = await sendRequest(url, headers, ctx);
    const status = opened.res.statusCode ?? 0;
    try {
      ctx.onResponse?.({ url: url.href, status, headers: opened.res.headers });
    } catch (err) {
      discard(opened);
      throw err;
    }
    if (!REDIRECT_STATUSES.has(status)) return opened;

    const location = opened.res.headers.location;
    discard(opened);
    if (!location) throw protocolError(ctx, status, 'a redirect without a Location');
    if (hop >= ctx.maxRedirects) {
      throw new UserError(
        `Could not download ${ctx.label}: more than ${ctx.maxRedirects} redirects from ${ctx.url.href}.`,
        'The server or a proxy is sending the request round in circles; try again later, or from another network.',
        'download-failed',
      );
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw protocolError(ctx, status, `a redirect to an invalid address (${location})`);
    }
    // The bytes are checked against their pinned hash afterwards, but a file with no pin has only the
    // transport to vouch for it: an https address must not be talked down to plain http on the way.
    if (next.protocol !== 'https:' && next.protocol !== 'http:') {
      throw protocolError(ctx, status, `a redirect to an unsupported address (${next.protocol})`);
    }
    if (url.protocol === 'https:' && next.protocol === 'http:') {
      throw protocolError(ctx, status, 'a redirect from https to unencrypted http');
    }
    url = next;
  }
}

function sendRequest(url: URL, headers: Record<string, string>, ctx: RequestContext): Promise<OpenResponse> {
  return new Promise((resolve, reject) => {
    throwIfAborted(ctx.signal);
    const watch = { timedOut: false };
    const transport = url.protocol === 'https:' ? https : http;
    let settled = false;
    const req = transport.get(url, { headers }, (res) => {
      settled = true;
      resolve({ req, res, watch });
    });
    const onAbort = (): void => {
      req.destroy(new CancelledError());
    };
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => ctx.signal?.removeEventListener('abort', onAbort));
    // An idle timer rather than a total one: a 1.7 GB file legitimately takes an hour on a slow line,
    // but a minute without a byte means the connection is dead.
    req.setTimeout(ctx.timeoutMs, () => {
      watch.timedOut = true;
      req.destroy(new Error('idle timeout'));
    });
    // After the answer has arrived, failures surface on the body stream; this listener only keeps
    // them from becoming uncaught 'error' events on the request.
    req.on('error', (err) => {
      if (settled) return;
      settled = true;
      if (ctx.signal?.aborted) reject(new CancelledError());
      else reject(connectFailure(ctx, url, err, watch.timedOut));
    });
  });
}

function discard(opened: OpenResponse): void {
  opened.res.resume();
  opened.req.destroy();
}

async function writeAll(handle: FileHandle, chunk: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset, position + offset);
    offset += bytesWritten;
  }
}

/** Flushes and closes the .part, then gives it its final name. */
async function commit(part: string, dest: string, handle: FileHandle | undefined): Promise<void> {
  const h = handle ?? (await fsp.open(part, 'r+'));
  try {
    // Without this a crash shortly after the rename can leave a final name over unwritten blocks,
    // which is exactly what the final name promises never to be.
    await h.sync();
  } finally {
    await h.close();
  }
  await fsp.rename(part, dest);
  await syncDirectory(path.dirname(dest));
}

/** Size of the .part when it is a regular file; anything else is not a resumable prefix. */
async function regularFileSize(file: string): Promise<number> {
  try {
    const stats = await fsp.stat(file);
    return stats.isFile() ? stats.size : 0;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return 0;
    throw err;
  }
}

async function ensureFreeSpace(dir: string, needed: number, label: string): Promise<void> {
  if (needed <= 0) return;
  let free: number;
  try {
    const stats = await fsp.statfs(dir);
    free = stats.bavail * stats.bsize;
  } catch {
    // Some file systems cannot report free space; running out is still caught when a write fails.
    return;
  }
  if (free >= needed) return;
  throw new UserError(
    `Not enough disk space to download ${label}: ${dir} has ${formatBytes(free)} free and the download needs ${formatBytes(needed)} more.`,
    `Free at least ${formatBytes(needed - free)} on that drive, then run the download again.`,
    'disk-full',
  );
}

function writeFailure(err: unknown, ctx: RequestContext, dir: string, received: number, total: number | undefined): unknown {
  const code = errorCode(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const more = total === undefined ? '' : ` It needs ${formatBytes(total - received)} more.`;
    return new UserError(
      `The disk holding ${dir} is full: the download of ${ctx.label} stopped at ${describeProgress(received, total)}.${more}`,
      'Free up space on that drive, then run the download again; it continues from where it stopped.',
      'disk-full',
    );
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new UserError(
      `Cannot write ${ctx.label} into ${dir} (${code}).`,
      'Check that the folder exists and is writable, or choose another folder for the model.',
      'download-failed',
    );
  }
  return err;
}

function stoppedError(ctx: RequestContext, received: number, total: number | undefined, reason: string): UserError {
  return new UserError(
    `The download of ${ctx.label} stopped at ${describeProgress(received, total)} (${reason}). Run the download again to resume.`,
    RESUME_HINT,
    'download-failed',
  );
}

/**
 * Failures to reach the server at all: no network, no name service, a firewall, nothing listening. On
 * a first run offline this is the first thing a user sees, so its hint offers ways round the download.
 */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ETIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH']);

/** The server could not be reached; callers that know a way to do without the file add it (withoutNetworkHint). */
export class ServerUnreachableError extends UserError {}

function connectFailure(ctx: RequestContext, url: URL, err: unknown, timedOut: boolean): UserError {
  const message = `Could not download ${ctx.label} from ${url.host} (${networkReason(err, timedOut, ctx.timeoutMs)}).`;
  if (timedOut || UNREACHABLE_CODES.has(errorCode(err) ?? '')) {
    return new ServerUnreachableError(
      message,
      ['Check the internet connection and any proxy settings, then try again, or ', { action: 'download-from-mirror' }, '.'],
      'download-failed',
    );
  }
  return new UserError(message, 'Check the internet connection and any proxy settings, then try again.', 'download-failed');
}

/**
 * `err` with `alternative` (how to do without this download, e.g. another model) added to its hint
 * when it says the server could not be reached; any other error unchanged.
 */
export function withoutNetworkHint(err: unknown, alternative: Hint): unknown {
  if (!(err instanceof ServerUnreachableError)) return err;
  return new ServerUnreachableError(err.message, [...err.hint, ' ', ...alternative], err.code, err.details);
}

function httpStatusError(ctx: RequestContext, status: number, statusText: string | undefined): UserError {
  let hint: string;
  if (status === 404 || status === 410) hint = 'The file is no longer at that address. A newer version of Image to 3D may know where it went.';
  else if (status === 401 || status === 403) hint = 'The server refused access to the file. A proxy or firewall may be blocking it; try from another network.';
  else if (status === 429) hint = 'The server is limiting requests. Wait a few minutes, then try again.';
  else if (status >= 500) hint = 'The server had a problem. Try again in a few minutes.';
  else hint = 'Try again later; if it keeps failing, a proxy may be altering the answer.';
  const answer = `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  return new UserError(`Could not download ${ctx.label}: the server answered ${answer} (${ctx.url.href}).`, hint, 'download-failed');
}

/** An answer that is not an HTTP error but cannot be used (a broken redirect or range). */
function protocolError(ctx: RequestContext, status: number, what: string): UserError {
  return new UserError(
    `Could not download ${ctx.label}: the server answered HTTP ${status} with ${what} (${ctx.url.href}).`,
    'Try again later; if it keeps failing, a proxy may be altering the answer.',
    'download-failed',
  );
}

function sizeMismatch(ctx: RequestContext, what: string, expected: number): UserError {
  return new UserError(
    `The download of ${ctx.label} was refused: ${what}, but it should be ${describeSize(expected)}.`,
    'The file on the server differs from the one this version of Image to 3D expects, or a proxy altered it. Try again later; if it persists, a newer version may be needed.',
    'download-failed',
  );
}

function describeSize(bytes: number): string {
  return `${formatBytes(bytes)} (${bytes} bytes)`;
}

function describeProgress(received: number, total: number | undefined): string {
  return total === undefined ? formatBytes(received) : `${formatBytes(received)} of ${formatBytes(total)}`;
}

function networkReason(err: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `no data for ${formatSeconds(timeoutMs)}`;
  const code = errorCode(err);
  switch (code) {
    case 'ECONNRESET':
      return 'connection reset';
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      // The first thing an offline computer reports: the name cannot be looked up without a network.
      return 'host not found: no network, or a wrong address';
    case 'ETIMEDOUT':
      return 'connection timed out';
    case 'EPIPE':
    case 'ECONNABORTED':
      return 'connection lost';
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      return 'network unreachable';
    case 'CERT_HAS_EXPIRED':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      // Usually a company proxy that re-signs traffic; the code is what its administrator will ask for.
      return `certificate not trusted: ${code}`;
  }
  if (code) return code;
  return err instanceof Error ? err.message : String(err);
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function parseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`Not a URL: ${JSON.stringify(url)}.`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new RangeError(`Only http(s) downloads are supported: ${url}.`);
  return parsed;
}

function parseLength(header: string | undefined): number | undefined {
  if (header === undefined || !/^\d+$/.test(header.trim())) return undefined;
  const value = Number(header.trim());
  return Number.isSafeInteger(value) ? value : undefined;
}

/** `bytes <start>-<end>/<total|*>` */
function parseContentRange(header: string | undefined): { start: number; end: number; total: number | undefined } | undefined {
  const match = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  const total = match[3] === '*' ? undefined : Number(match[3]);
  if (end < start || (total !== undefined && end >= total)) return undefined;
  return { start, end, total };
}

// `bytes */<total>`, as sent with 416.
function parseUnsatisfiedRange(header: string | undefined): number | undefined {
  const match = /^\s*bytes\s+\*\/(\d+)\s*$/i.exec(header ?? '');
  return match ? Number(match[1]) : undefined;
}

/** The `code` of a Node system error, if it has one. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

