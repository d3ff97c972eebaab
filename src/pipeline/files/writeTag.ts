import { createHash, randomBytes } from 'node:crypto';
import * as os from 'node:os';

/**
 * Tags that say who is writing: `<pid>-<host>-<random>`. A later run can then tell the leftovers of a
 * process that died (swept) from the files of one still writing (never touched). The host part keeps a
 * folder shared between machines safe: a pid means nothing on another machine, so only tags made on
 * this one are ever judged.
 */

const OWNER_TAG = /^([1-9][0-9]{0,9})-([0-9a-f]{8})-[0-9a-f]{12}$/;

/** This machine's mark: a digest, so the host name itself never lands in file names. */
const HOST_MARK = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);

/**
 * A fresh tag for a write, owned by process `pid` (this one by default). A host that writes through a
 * worker it may kill passes its own pid: the tag stays "alive" as long as the process that will clean
 * up after the worker is.
 */
export function newWriteTag(pid: number = process.pid): string {
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new RangeError(`Invalid process id ${pid}.`);
  return `${pid}-${HOST_MARK}-${randomBytes(6).toString('hex')}`;
}

/** Tags in use in this process right now, with how many writes or probes hold each. */
const heldHere = new Map<string, number>();

/**
 * Marks `tag` as in use by this process until the returned function is called. Needed because a pid is
 * reused: in a container every start may get the same pid, so a tag with our pid that nothing here
 * holds was left by an earlier process.
 */
export function holdWriteTag(tag: string): () => void {
  heldHere.set(tag, (heldHere.get(tag) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const count = (heldHere.get(tag) ?? 1) - 1;
    if (count > 0) heldHere.set(tag, count);
    else heldHere.delete(tag);
  };
}

/**
 * True only when `tag` is one newWriteTag made on this machine and the process it names is gone.
 * Anything else (another machine's tag, a tag of another shape, a live or unknowable process) is false.
 */
export function isWriteAbandoned(tag: string): boolean {
  const match = OWNER_TAG.exec(tag);
  if (!match || match[2] !== HOST_MARK) return false;
  const pid = Number(match[1]);
  if (pid === process.pid) return !heldHere.has(tag);
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ESRCH';
  }
}
