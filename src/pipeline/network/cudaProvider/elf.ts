/**
 * The shared libraries an ELF shared object asks the dynamic loader for (its DT_NEEDED entries), read
 * from the file without loading it. Loading is the very thing that fails when CUDA or cuDNN is missing,
 * and then says only which library it could not find first; reading the list tells the user everything
 * the provider needs, and which CUDA and cuDNN major versions it was built against, before any attempt.
 *
 * Only what ONNX Runtime ships is handled: 64-bit little-endian ELF (x86-64). Anything else, or any
 * inconsistency, gives undefined: the caller falls back to the documented requirements.
 *
 * Format facts from the System V gABI (ELF header, program header table, dynamic section).
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const DYN_SIZE = 16;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_STRSZ = 10n;
/** Bounds on what a damaged or hostile header can make us read. */
const MAX_PHDRS = 512;
const MAX_DYNAMIC_BYTES = 64 * 1024;
const MAX_NAME_BYTES = 512;

interface Segment {
  readonly type: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly filesz: number;
}

export async function readNeededLibraries(file: string): Promise<string[] | undefined> {
  let handle: FileHandle | undefined;
  try {
    handle = await fsp.open(file, 'r');
    const fileSize = (await handle.stat()).size;
    return await parse(handle, fileSize);
  } catch {
    return undefined;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

async function parse(handle: FileHandle, fileSize: number): Promise<string[] | undefined> {
  const ehdr = await readAt(handle, 0, EHDR_SIZE, fileSize);
  if (!ehdr || ehdr.readUInt32BE(0) !== 0x7f454c46) return undefined;
  // ELFCLASS64, ELFDATA2LSB.
  if (ehdr[4] !== 2 || ehdr[5] !== 1) return undefined;
  const phoff = toSafe(ehdr.readBigUInt64LE(0x20));
  const phentsize = ehdr.readUInt16LE(0x36);
  const phnum = ehdr.readUInt16LE(0x38);
  if (phoff === undefined || phentsize < PHDR_SIZE || phnum === 0 || phnum > MAX_PHDRS) return undefined;

  const table = await readAt(handle, phoff, phentsize * phnum, fileSize);
  if (!table) return undefined;
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = i * phentsize;
    const offset = toSafe(table.readBigUInt64LE(at + 8));
    const vaddr = toSafe(table.readBigUInt64LE(at + 16));
    const filesz = toSafe(table.readBigUInt64LE(at + 32));
    if (offset === undefined || vaddr === undefined || filesz === undefined) return undefined;
    segments.push({ type: table.readUInt32LE(at), offset, vaddr, filesz });
  }
  const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
  if (!dynamic || dynamic.filesz > MAX_DYNAMIC_BYTES) return undefined;
  const dyn = await readAt(handle, dynamic.offset, dynamic.filesz - (dynamic.filesz % DYN_SIZE), fileSize);
  if (!dyn) return undefined;

  const needed: bigint[] = [];
  let strtab: bigint | undefined;
  let strsz: bigint | undefined;
  for (let at = 0; at + DYN_SIZE <= dyn.length; at += DYN_SIZE) {
    const tag = dyn.readBigInt64LE(at);
    const value = dyn.readBigUInt64LE(at + 8);
    if (tag === DT_NULL) break;
    if (tag === DT_NEEDED) needed.push(value);
    else if (tag === DT_STRTAB) strtab = value;
    else if (tag === DT_STRSZ) strsz = value;
  }
  if (strtab === undefined || strsz === undefined) return undefined;
  // DT_STRTAB is an address in the loaded image; the PT_LOAD segment holding it says where that is in the file.
  const tableAddress = toSafe(strtab);
  const tableSize = toSafe(strsz);
  if (tableAddress === undefined || tableSize === undefined) return undefined;
  const load = segments.find((s) => s.type === PT_LOAD && tableAddress >= s.vaddr && tableAddress + tableSize <= s.vaddr + s.filesz);
  if (!load) return undefined;
  const tableOffset = load.offset + (tableAddress - load.vaddr);

  const names: string[] = [];
  for (const index of needed) {
    const at = toSafe(index);
    if (at === undefined || at >= tableSize) return undefined;
    const bytes = await readAt(handle, tableOffset + at, Math.min(MAX_NAME_BYTES, tableSize - at), fileSize);
    if (!bytes) return undefined;
    const end = bytes.indexOf(0);
    if (end <= 0) return undefined;
    names.push(bytes.subarray(0, end).toString('latin1'));
  }
  return names;
}

async function readAt(handle: FileHandle, position: number, length: number, fileSize: number): Promise<Buffer | undefined> {
  if (length < 0 || position < 0 || position + length > fileSize) return undefined;
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done);
    if (bytesRead === 0) return undefined;
    done += bytesRead;
  }
  return buf;
}

function toSafe(value: bigint): number | undefined {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
}
