/**
 * A read-only zip reader over an open file handle, enough for the archives torch.save writes and for
 * NuGet packages. Nothing is read until asked for: opening reads the end-of-central-directory records and
 * the central directory, and entry data is read by byte range with positioned reads, so a 1.7 GB
 * checkpoint costs only its directory to open. Large deflated entries (a NuGet package's native
 * libraries) are streamed out to a file rather than unpacked in memory.
 *
 * Format facts come from PKWARE's APPNOTE.TXT (sections 4.3.7 local header, 4.3.12 central directory
 * header, 4.3.14-4.3.16 zip64 and classic end records, 4.5.3 zip64 extra field).
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { UserError } from '../../errors.js';
import { CancelledError, throwIfAborted } from '../../progress.js';

export const METHOD_STORED = 0;
export const METHOD_DEFLATED = 8;

/** Deflated entries are unpacked whole in memory, so only small ones are accepted (extractToFile streams any size). */
export const MAX_INFLATED_BYTES = 64 * 1024 * 1024;

/** A torch checkpoint's directory is a few hundred entries; this bounds what a hostile file can make us allocate. */
const MAX_CENTRAL_DIRECTORY_BYTES = 64 * 1024 * 1024;

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const EOCD64_LOCATOR_SIZE = 20;
const EOCD64_MIN_SIZE = 56;
const CENTRAL_HEADER_SIZE = 46;
const LOCAL_HEADER_SIZE = 30;
const MAX_COMMENT = 0xffff;
const ZIP64_EXTRA_ID = 0x0001;
const FLAG_ENCRYPTED = 0x0001;
const FLAG_UTF8 = 0x0800;

export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflated; anything else is refused when read. */
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  /** Uncompressed size in bytes. */
  readonly size: number;
  readonly localHeaderOffset: number;
}

/** Compressed bytes read per step when streaming an entry out: large enough for throughput, small enough for memory. */
const EXTRACT_READ_BYTES = 1 << 20;

const TRUNCATED_HINT = 'The file is incomplete, probably from an interrupted download. Download it again.';
const CORRUPT_HINT = 'The file is damaged. Download it again.';

function truncated(label: string, what: string): UserError {
  return new UserError(`${label} is truncated: ${what}.`, TRUNCATED_HINT, 'model-invalid');
}

function corrupt(label: string, what: string): UserError {
  return new UserError(`${label} is not a valid zip archive: ${what}.`, CORRUPT_HINT, 'model-invalid');
}

/**
 * An entry whose data does not match what the zip directory says about it (CRC-32, size, or deflate
 * stream). A UserError like the reader's others; its own class so that a caller can tell "this archive
 * is damaged, fetch it again" from "this archive is not what I expected".
 */
export class ZipIntegrityError extends UserError {
  constructor(
    label: string,
    readonly entryName: string,
    what: string,
  ) {
    super(`${label} is not a valid zip archive: ${what}.`, CORRUPT_HINT, 'model-invalid');
    this.name = 'ZipIntegrityError';
  }
}

export interface ExtractOptions {
  readonly signal?: AbortSignal;
  /** Every uncompressed chunk, in order, before it is written (to hash it, for example). */
  readonly onData?: (chunk: Uint8Array) => void;
  /** Uncompressed bytes written so far; called after every chunk, so callers throttle. */
  readonly onProgress?: (written: number) => void;
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** A 64-bit little-endian field as a number; offsets past 2^53 cannot describe a real file. */
function readU64(buf: Buffer, at: number, label: string): number {
  const value = buf.readBigUInt64LE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(label, 'a 64-bit size or offset is impossibly large');
  return Number(value);
}

let crcTable: Uint32Array | undefined;

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 (ISO-HDLC, the zip checksum). zlib.crc32 is missing from some Node 20 builds VS Code ships. */
export function crc32(data: Uint8Array, seed = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const table = crcTable;
  let crc = ~seed >>> 0;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** crc32, through zlib's native version where this Node has one: streaming hundreds of MB through the JS loop costs seconds. */
function crc32Fast(data: Uint8Array, seed: number): number {
  return nativeCrc32 ? nativeCrc32(data, seed) : crc32(data, seed);
}

/**
 * Reads exactly `target.length` bytes at `position`. A short read means the file ended early, i.e. it
 * shrank or lied about its sizes: reported as truncation of `what`.
 */
export async function readExactly(
  handle: FileHandle,
  target: Uint8Array,
  position: number,
  label: string,
  what: string,
): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, target.length - done, position + done);
    if (bytesRead === 0) throw truncated(label, `${what} runs past the end of the file`);
    done += bytesRead;
  }
}

interface EndRecord {
  readonly entryCount: number;
  readonly directorySize: number;
  readonly directoryOffset: number;
  /** Where the end records start: the central directory must end at or before it. */
  readonly endStart: number;
}

export class ZipReader {
  private readonly byName = new Map<string, ZipEntry>();
  private readonly dataOffsets = new Map<ZipEntry, number>();

  private constructor(
    private readonly handle: FileHandle,
    /** The file's name as the user knows it, for messages. */
    readonly label: string,
    readonly fileSize: number,
    readonly entries: readonly ZipEntry[],
    /** Entry data lies before the directory; anything claiming otherwise is corrupt. */
    private readonly directoryOffset: number,
  ) {
    for (const entry of entries) this.byName.set(entry.name, entry);
  }

  /**
   * Reads the directory of the zip archive open as `handle` (the caller keeps ownership of the handle
   * and closes it). `label` names the file in error messages.
   */
  static async open(handle: FileHandle, fileSize: number, label: string): Promise<ZipReader> {
    const end = await readEndRecord(handle, fileSize, label);
    const entries = await readCentralDirectory(handle, end, label);
    return new ZipReader(handle, label, fileSize, entries, end.directoryOffset);
  }

  find(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  /** Where the entry's bytes start in the file, from its local header (which may carry padding the directory does not mention). */
  async dataOffset(entry: ZipEntry): Promise<number> {
    const known = this.dataOffsets.get(entry);
    if (known !== undefined) return known;
    const label = this.label;
    if (entry.localHeaderOffset + LOCAL_HEADER_SIZE > this.directoryOffset) {
      throw corrupt(label, `the local header of ${entry.name} lies outside the archive's data`);
    }
    const header = Buffer.alloc(LOCAL_HEADER_SIZE);
    await readExactly(this.handle, header, entry.localHeaderOffset, label, `the header of ${entry.name}`);
    if (header.readUInt32LE(0) !== SIG_LOCAL) throw corrupt(label, `the local header of ${entry.name} is missing`);
    const nameLength = header.readUInt16LE(26);
    const extraLength = header.readUInt16LE(28);
    const localName = Buffer.alloc(nameLength);
    await readExactly(this.handle, localName, entry.localHeaderOffset + LOCAL_HEADER_SIZE, label, `the header of ${entry.name}`);
    if (decodeName(localName, entry.flags) !== entry.name) {
      throw corrupt(label, `the local header of ${entry.name} names a different file`);
    }
    const offset = entry.localHeaderOffset + LOCAL_HEADER_SIZE + nameLength + extraLength;
    // Sizes come from the central directory: torch sets the data-descriptor flag and leaves the local sizes zero.
    if (offset + entry.compressedSize > this.directoryOffset) {
      if (offset + entry.compressedSize > this.fileSize) throw truncated(label, `the data of ${entry.name} runs past the end of the file`);
      throw corrupt(label, `the data of ${entry.name} overlaps the zip directory`);
    }
    this.dataOffsets.set(entry, offset);
    return offset;
  }

  /** Copies `target.length` bytes of the entry's uncompressed data, starting at `start`, into `target`. */
  async readInto(entry: ZipEntry, start: number, target: Uint8Array): Promise<void> {
    if (!Number.isSafeInteger(start) || start < 0 || start + target.length > entry.size) {
      throw new RangeError(`Zip read of ${target.length} bytes at ${start} is outside ${entry.name} (${entry.size} bytes)`);
    }
    this.checkReadable(entry);
    if (target.length === 0) return;
    if (entry.method === METHOD_STORED) {
      const offset = await this.dataOffset(entry);
      await readExactly(this.handle, target, offset + start, this.label, `the data of ${entry.name}`);
      return;
    }
    const whole = await this.inflate(entry);
    target.set(whole.subarray(start, start + target.length));
  }

  /** A byte range of the entry's uncompressed data in a new buffer of its own (offset 0, so typed views align). */
  async read(entry: ZipEntry, start: number, length: number): Promise<Uint8Array> {
    const target = new Uint8Array(length);
    await this.readInto(entry, start, target);
    return target;
  }

  /**
   * The whole entry, CRC-checked, refusing entries over `maxBytes`. For small metadata records such as
   * data.pkl; tensor storages are read by range instead.
   */
  async readAll(entry: ZipEntry, maxBytes: number): Promise<Uint8Array> {
    this.checkReadable(entry);
    if (entry.size > maxBytes) {
      throw new UserError(
        `${this.label} is not a usable checkpoint: ${entry.name} is ${mib(entry.size)}, more than the ${mib(maxBytes)} it can plausibly need.`,
        CORRUPT_HINT,
        'model-invalid',
      );
    }
    const data = entry.method === METHOD_STORED ? await this.read(entry, 0, entry.size) : await this.inflate(entry);
    if (crc32(data) !== entry.crc32) throw corrupt(this.label, `the checksum of ${entry.name} does not match its contents`);
    return data;
  }

  /**
   * Streams the whole entry into a new file at `destPath` (refused if something is already there),
   * checking its size and CRC-32 against the zip directory as it goes. Memory stays bounded whatever the
   * entry's size, so this is the way to unpack large deflated entries. On any failure, cancellation
   * included, the file is removed again: whoever finds it can trust it is whole. Damage to the entry's
   * data is reported as a ZipIntegrityError.
   */
  async extractToFile(entry: ZipEntry, destPath: string, options: ExtractOptions = {}): Promise<void> {
    const { signal } = options;
    this.checkMethod(entry);
    throwIfAborted(signal);
    const offset = await this.dataOffset(entry);
    const label = this.label;
    let written = 0;
    let crc = 0;
    const sink = async (source: AsyncIterable<Buffer>): Promise<void> => {
      for await (const chunk of source) {
        // Checked before writing, so a bomb never costs more disk than the entry admits to.
        if (written + chunk.length > entry.size) throw new ZipIntegrityError(label, entry.name, `${entry.name} unpacks to more than the ${entry.size} bytes its directory entry says`);
        crc = crc32Fast(chunk, crc);
        options.onData?.(chunk);
        await writeAll(out, chunk, written);
        written += chunk.length;
        options.onProgress?.(written);
      }
    };

    const out = await fsp.open(destPath, 'wx');
    let ok = false;
    try {
      const source = this.rawChunks(entry, offset, signal);
      try {
        if (entry.method === METHOD_STORED) await pipeline(source, sink, { signal });
        else await pipeline(source, zlib.createInflateRaw({ chunkSize: 1 << 18 }), sink, { signal });
      } catch (err) {
        if (signal?.aborted) throw new CancelledError();
        if (isZlibError(err)) throw new ZipIntegrityError(label, entry.name, `the compressed data of ${entry.name} is damaged`);
        throw err;
      }
      throwIfAborted(signal);
      if (written !== entry.size) throw new ZipIntegrityError(label, entry.name, `${entry.name} unpacks to ${written} bytes, not the ${entry.size} its directory entry says`);
      if (crc !== entry.crc32) throw new ZipIntegrityError(label, entry.name, `the checksum of ${entry.name} does not match its contents`);
      ok = true;
    } finally {
      await out.close().catch(() => undefined);
      if (!ok) await fsp.rm(destPath, { force: true });
    }
  }

  private async *rawChunks(entry: ZipEntry, offset: number, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
    for (let done = 0; done < entry.compressedSize; ) {
      throwIfAborted(signal);
      const length = Math.min(EXTRACT_READ_BYTES, entry.compressedSize - done);
      // A fresh buffer each step: the consumer may still hold the previous one.
      const chunk = Buffer.allocUnsafe(length);
      await readExactly(this.handle, chunk, offset + done, this.label, `the data of ${entry.name}`);
      done += length;
      yield chunk;
    }
  }

  private checkReadable(entry: ZipEntry): void {
    this.checkMethod(entry);
    if (entry.method === METHOD_DEFLATED && (entry.size > MAX_INFLATED_BYTES || entry.compressedSize > MAX_INFLATED_BYTES)) {
      throw new UserError(
        `${this.label} has ${entry.name} compressed (${mib(entry.size)}); compressed entries over ${mib(MAX_INFLATED_BYTES)} are not unpacked.`,
        'PyTorch writes checkpoints uncompressed. Use the checkpoint as torch.save wrote it, not a re-compressed copy.',
        'model-invalid',
      );
    }
  }

  private checkMethod(entry: ZipEntry): void {
    if (entry.flags & FLAG_ENCRYPTED) throw corrupt(this.label, `${entry.name} is encrypted`);
    if (entry.method === METHOD_STORED) {
      if (entry.compressedSize !== entry.size) throw corrupt(this.label, `${entry.name} is stored uncompressed but its two sizes differ`);
      return;
    }
    if (entry.method !== METHOD_DEFLATED) {
      throw new UserError(
        `${this.label} uses zip compression method ${entry.method} for ${entry.name}; only stored and deflated entries can be read.`,
        'PyTorch writes checkpoints uncompressed. Use the checkpoint as torch.save wrote it, not a re-compressed copy.',
        'model-invalid',
      );
    }
  }

  private async inflate(entry: ZipEntry): Promise<Uint8Array> {
    const offset = await this.dataOffset(entry);
    const raw = new Uint8Array(entry.compressedSize);
    await readExactly(this.handle, raw, offset, this.label, `the data of ${entry.name}`);
    let out: Buffer;
    try {
      // maxOutputLength makes zlib stop instead of expanding a bomb; one byte over the declared size is
      // enough to tell "larger than declared".
      out = zlib.inflateRawSync(raw, { maxOutputLength: entry.size + 1 });
    } catch {
      throw corrupt(this.label, `the compressed data of ${entry.name} is damaged or larger than declared`);
    }
    if (out.length !== entry.size) throw corrupt(this.label, `${entry.name} unpacks to ${out.length} bytes, not the ${entry.size} its header says`);
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }
}

async function writeAll(handle: FileHandle, chunk: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < chunk.length; ) {
    const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, position + done);
    done += bytesWritten;
  }
}

/** Errors node:zlib raises for bad input carry a Z_* code (Z_DATA_ERROR, Z_BUF_ERROR for a cut-off stream). */
function isZlibError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || !('code' in err)) return false;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' && code.startsWith('Z_');
}

function decodeName(bytes: Uint8Array, flags: number): string {
  // Without the UTF-8 flag the spec says CP437; torch's names are ASCII, where the two agree, so latin1
  // is close enough for names we only compare against ASCII ones.
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString(flags & FLAG_UTF8 ? 'utf8' : 'latin1');
}

async function readEndRecord(handle: FileHandle, fileSize: number, label: string): Promise<EndRecord> {
  const missing = truncated(label, 'the zip directory is missing (expected at the end of the file)');
  if (fileSize < EOCD_SIZE) throw missing;
  const tailLength = Math.min(fileSize, EOCD_SIZE + MAX_COMMENT + EOCD64_LOCATOR_SIZE);
  const tailStart = fileSize - tailLength;
  const tail = Buffer.alloc(tailLength);
  await readExactly(handle, tail, tailStart, label, 'the zip directory');

  // The end record is the last thing in the file unless followed by a comment; a candidate only counts if
  // its comment length reaches exactly to the end, so signature bytes inside data or a comment are skipped.
  let at = -1;
  for (let i = tailLength - EOCD_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) === SIG_EOCD && i + EOCD_SIZE + tail.readUInt16LE(i + 20) === tailLength) {
      at = i;
      break;
    }
  }
  if (at < 0) throw missing;

  const diskNumber = tail.readUInt16LE(at + 4);
  const directoryDisk = tail.readUInt16LE(at + 6);
  const entriesOnDisk = tail.readUInt16LE(at + 8);
  let entryCount = tail.readUInt16LE(at + 10);
  let directorySize = tail.readUInt32LE(at + 12);
  let directoryOffset = tail.readUInt32LE(at + 16);
  let endStart = tailStart + at;

  const locatorAt = at - EOCD64_LOCATOR_SIZE;
  if (locatorAt >= 0 && tail.readUInt32LE(locatorAt) === SIG_EOCD64_LOCATOR) {
    if (tail.readUInt32LE(locatorAt + 4) !== 0 || tail.readUInt32LE(locatorAt + 16) > 1) {
      throw corrupt(label, 'it is split across several files (multi-disk archives are not supported)');
    }
    const recordOffset = readU64(tail, locatorAt + 8, label);
    const locatorStart = tailStart + locatorAt;
    if (recordOffset + EOCD64_MIN_SIZE > locatorStart) throw corrupt(label, 'the zip64 end record lies outside the file');
    const record = Buffer.alloc(EOCD64_MIN_SIZE);
    await readExactly(handle, record, recordOffset, label, 'the zip64 end record');
    if (record.readUInt32LE(0) !== SIG_EOCD64) throw corrupt(label, 'the zip64 end record is missing where its locator points');
    if (record.readUInt32LE(16) !== 0 || record.readUInt32LE(20) !== 0) {
      throw corrupt(label, 'it is split across several files (multi-disk archives are not supported)');
    }
    entryCount = readU64(record, 32, label);
    directorySize = readU64(record, 40, label);
    directoryOffset = readU64(record, 48, label);
    endStart = recordOffset;
  } else {
    if (diskNumber !== 0 || directoryDisk !== 0 || entriesOnDisk !== entryCount) {
      throw corrupt(label, 'it is split across several files (multi-disk archives are not supported)');
    }
    if (entryCount === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
      throw corrupt(label, 'the zip64 end record it calls for is missing');
    }
  }

  if (directoryOffset + directorySize > endStart) {
    if (directoryOffset + directorySize > fileSize) throw truncated(label, 'the zip directory runs past the end of the file');
    throw corrupt(label, 'the zip directory overlaps its end record');
  }
  if (directorySize < entryCount * CENTRAL_HEADER_SIZE) throw corrupt(label, `the zip directory is too small for the ${entryCount} entries it claims`);
  if (directorySize > MAX_CENTRAL_DIRECTORY_BYTES) throw corrupt(label, `the zip directory is implausibly large (${mib(directorySize)})`);
  return { entryCount, directorySize, directoryOffset, endStart };
}

async function readCentralDirectory(handle: FileHandle, end: EndRecord, label: string): Promise<ZipEntry[]> {
  const dir = Buffer.alloc(end.directorySize);
  await readExactly(handle, dir, end.directoryOffset, label, 'the zip directory');
  const entries: ZipEntry[] = [];
  const seen = new Set<string>();
  let at = 0;
  for (let index = 0; index < end.entryCount; index++) {
    if (at + CENTRAL_HEADER_SIZE > dir.length || dir.readUInt32LE(at) !== SIG_CENTRAL) {
      throw corrupt(label, `zip directory entry ${index + 1} of ${end.entryCount} is damaged`);
    }
    const flags = dir.readUInt16LE(at + 8);
    const method = dir.readUInt16LE(at + 10);
    const crc = dir.readUInt32LE(at + 16);
    let compressedSize = dir.readUInt32LE(at + 20);
    let size = dir.readUInt32LE(at + 24);
    const nameLength = dir.readUInt16LE(at + 28);
    const extraLength = dir.readUInt16LE(at + 30);
    const commentLength = dir.readUInt16LE(at + 32);
    let diskStart = dir.readUInt16LE(at + 34);
    let localHeaderOffset = dir.readUInt32LE(at + 42);
    const nameStart = at + CENTRAL_HEADER_SIZE;
    const extraStart = nameStart + nameLength;
    const next = extraStart + extraLength + commentLength;
    if (next > dir.length) throw corrupt(label, `zip directory entry ${index + 1} of ${end.entryCount} runs past the directory`);
    const name = decodeName(dir.subarray(nameStart, extraStart), flags);

    // Fields saturated at their maximum are stored in the zip64 extra field, in this fixed order, and only
    // those that are saturated.
    const needs64 = size === 0xffffffff || compressedSize === 0xffffffff || localHeaderOffset === 0xffffffff || diskStart === 0xffff;
    if (needs64) {
      const extra = findExtra(dir, extraStart, extraStart + extraLength, ZIP64_EXTRA_ID);
      if (!extra) throw corrupt(label, `the zip64 sizes of ${name} are missing`);
      let p = extra.start;
      const take64 = (): number => {
        if (p + 8 > extra.end) throw corrupt(label, `the zip64 sizes of ${name} are incomplete`);
        const v = readU64(dir, p, label);
        p += 8;
        return v;
      };
      if (size === 0xffffffff) size = take64();
      if (compressedSize === 0xffffffff) compressedSize = take64();
      if (localHeaderOffset === 0xffffffff) localHeaderOffset = take64();
      if (diskStart === 0xffff) {
        if (p + 4 > extra.end) throw corrupt(label, `the zip64 sizes of ${name} are incomplete`);
        diskStart = dir.readUInt32LE(p);
      }
    }
    if (diskStart !== 0) throw corrupt(label, 'it is split across several files (multi-disk archives are not supported)');
    if (localHeaderOffset >= end.directoryOffset) throw corrupt(label, `${name} is said to lie after the archive's data`);
    // Two entries with one name would let a crafted archive show different contents to different readers.
    if (seen.has(name)) throw corrupt(label, `it holds ${name} twice`);
    seen.add(name);
    entries.push({ name, method, flags, crc32: crc, compressedSize, size, localHeaderOffset });
    at = next;
  }
  return entries;
}

function findExtra(buf: Buffer, start: number, end: number, id: number): { start: number; end: number } | undefined {
  let p = start;
  while (p + 4 <= end) {
    const fieldId = buf.readUInt16LE(p);
    const length = buf.readUInt16LE(p + 2);
    const dataStart = p + 4;
    if (dataStart + length > end) return undefined;
    if (fieldId === id) return { start: dataStart, end: dataStart + length };
    p = dataStart + length;
  }
  return undefined;
}
