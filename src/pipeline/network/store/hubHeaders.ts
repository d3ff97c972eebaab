import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { hashFilePrefix } from './fileHash.js';

/**
 * What the Hugging Face hub publishes about a file in the answer to its resolve URL, before any byte
 * of it is sent: for a Git LFS file (model.ckpt) its LFS object id, which is the SHA-256 of its bytes,
 * as `X-Linked-Etag`, and its size as `X-Linked-Size`; for a plain git file (config.yaml) its git blob
 * SHA-1 as `ETag`; for both, the commit that was resolved as `X-Repo-Commit`.
 *
 * Only answers carrying `X-Repo-Commit` or `X-Linked-Etag` are read, so a CDN's or a mirror's own ETag
 * (an MD5, a version tag) is never mistaken for a content hash. A server that sends these headers
 * falsely can only make a download fail: the hashes are checked against the bytes, never trusted instead
 * of them.
 */
export interface HubFacts {
  /** X-Linked-Etag: the LFS object id, the SHA-256 of the file's bytes. */
  sha256?: string;
  /** X-Linked-Size. */
  size?: number;
  /** X-Repo-Commit: the commit the hub resolved the URL to. */
  revision?: string;
  /** ETag of a plain git file: SHA-1 of "blob <size>\0" + its bytes. */
  gitBlobSha1?: string;
}

/** Files the hub serves without LFS are small (it refuses plain files over 10 MB); a 40-hex ETag on a
 * larger answer is not a git blob id, and reading a large file twice for it is not worth it. */
export const GIT_BLOB_CHECK_LIMIT = 64 * 1024 * 1024;

/** Adds what this answer's headers say to `facts` (a download sees several answers: the hub's, then its CDN's). */
export function readHubHeaders(headers: IncomingHttpHeaders, facts: HubFacts): void {
  const linked = etagValue(headers['x-linked-etag']);
  const commit = single(headers['x-repo-commit'])?.trim().toLowerCase();
  if (linked !== undefined && /^[0-9a-f]{64}$/.test(linked)) {
    facts.sha256 = linked;
    const size = single(headers['x-linked-size'])?.trim();
    if (size !== undefined && /^\d+$/.test(size) && Number.isSafeInteger(Number(size))) facts.size = Number(size);
  }
  if (commit === undefined || !/^[0-9a-f]{40}$/.test(commit)) return;
  facts.revision = commit;
  const etag = etagValue(headers.etag);
  if (linked === undefined && etag !== undefined && /^[0-9a-f]{40}$/.test(etag)) facts.gitBlobSha1 = etag;
}

/** git's object id for a file: SHA-1 over "blob <size>\0" and the bytes, as the hub's ETag gives it. */
export async function gitBlobSha1(file: string, size: number, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha1').update(`blob ${size}\0`);
  await hashFilePrefix(file, size, hash, { signal });
  return hash.digest('hex');
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** `W/"abc"` or `"abc"` → `abc`, lower case. */
function etagValue(value: string | string[] | undefined): string | undefined {
  const text = single(value)?.trim();
  if (text === undefined) return undefined;
  return text.replace(/^W\//, '').replace(/^"(.*)"$/, '$1').toLowerCase();
}
