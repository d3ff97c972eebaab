/**
 * Reads tensors from a PyTorch checkpoint (torch.save's zip format, PyTorch 1.6 and later) without
 * Python and without running anything from the file. Opening reads the zip directory and data.pkl
 * (kilobytes for a 1.7 GB checkpoint) and checks every tensor's view against its storage; values are
 * read later, one tensor at a time, with positioned reads of just the bytes that tensor uses.
 *
 * Layout facts come from torch/serialization.py (`<archive>/data.pkl`, `<archive>/data/<key>`,
 * `<archive>/byteorder`) and torch/_utils.py (_rebuild_tensor_v2's storage offset, size and stride).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { UserError } from '../../errors.js';
import { CancelledError, throwIfAborted } from '../../progress.js';
import type { StateDictDtype, StateDictSource, TensorInfo } from './stateDict.js';
import { PickleDict, quoteUntrusted, StorageRef, TensorRecord, unpickle, type PickleValue } from './unpickler.js';
import { readExactly, ZipReader, type ZipEntry } from './zip.js';

export interface CheckpointTensorInfo extends TensorInfo {
  /** Bytes the tensor's values take in its own dtype (elements × element size). */
  readonly byteLength: number;
  readonly stride: readonly number[];
  /** In elements of the dtype, from the start of the storage. */
  readonly storageOffset: number;
  /** The storage's archive key; tensors sharing one are views of the same data. */
  readonly storageKey: string;
  /** Saved as an nn.Parameter (weights) rather than a plain tensor (buffers). */
  readonly parameter: boolean;
}

/** One dict in the file that holds tensors by name, i.e. a candidate state dict. */
export interface StateDictSummary {
  /** '' for the top-level object, else the key path to it, joined with '/' (e.g. 'state_dict'). */
  readonly key: string;
  readonly tensorCount: number;
  /** Sum of the tensors' byteLength. */
  readonly byteLength: number;
}

export interface OpenCheckpointOptions {
  /**
   * Which state dict to expose when the file wraps one (see TorchCheckpoint.stateDicts). By default: the
   * top-level dict if it holds tensors, else 'state_dict', else the first dict holding tensors.
   */
  readonly stateDict?: string;
}

const ITEM_SIZE: Readonly<Record<StateDictDtype, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  uint8: 1,
  bool: 1,
};

/** data.pkl of a large model is well under a megabyte; the cap only stops a hostile file from making us allocate. */
const MAX_PICKLE_BYTES = 256 * 1024 * 1024;
/** Reads go to disk in pieces of at most this, so converting dtypes never needs a second copy of a whole tensor. */
const CHUNK_BYTES = 16 * 1024 * 1024;
/** Wrapper dicts are looked into this deep for state dicts ({'state_dict': …}, {'model': {'ema': …}}). */
const MAX_WRAPPER_DEPTH = 2;

const LEGACY_MAGIC = Uint8Array.of(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19);
const ZIP_MAGIC = Uint8Array.of(0x50, 0x4b, 0x03, 0x04);
const HOST_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

const REDOWNLOAD_HINT = 'The file is damaged. Download it again.';
const NOT_CHECKPOINT_HINT = "Use TripoSR's official model.ckpt (a PyTorch checkpoint saved with torch.save).";

interface TensorEntry {
  readonly info: CheckpointTensorInfo;
  readonly entry: ZipEntry;
  readonly littleEndian: boolean;
}

export class TorchCheckpoint implements StateDictSource {
  private readonly byName: ReadonlyMap<string, TensorEntry>;
  private readonly infos: readonly CheckpointTensorInfo[];
  private closed = false;

  /** @internal Use openCheckpoint. */
  constructor(
    private readonly handle: FileHandle,
    private readonly zip: ZipReader,
    readonly path: string,
    /** The checkpoint file's size in bytes. */
    readonly fileSize: number,
    /** The archive's top folder ('archive', or the stem of the name it was saved under). */
    readonly archiveName: string,
    /** Pickle protocol of data.pkl (torch.save writes 2 unless told otherwise). */
    readonly pickleProtocol: number,
    /** Every dict in the file that holds tensors, in file order. */
    readonly stateDicts: readonly StateDictSummary[],
    /** Which of stateDicts tensors() lists. */
    readonly selected: string,
    /** Entries of the selected dict that are not tensors (ignored). */
    readonly skipped: readonly string[],
    tensors: readonly TensorEntry[],
  ) {
    this.infos = tensors.map((t) => t.info);
    this.byName = new Map(tensors.map((t) => [t.info.name, t]));
  }

  tensors(): readonly CheckpointTensorInfo[] {
    return this.infos;
  }

  get(name: string): CheckpointTensorInfo | undefined {
    return this.byName.get(name)?.info;
  }

  /** Bytes the named tensor's values take in its own dtype. */
  byteLength(name: string): number {
    return this.require(name).info.byteLength;
  }

  /** Sum of byteLength over the listed tensors (shared storages counted per tensor). */
  get tensorBytes(): number {
    return this.infos.reduce((sum, t) => sum + t.byteLength, 0);
  }

  async readFloat32(name: string): Promise<Float32Array> {
    const tensor = this.require(name);
    if (this.closed) throw new Error(`Checkpoint ${this.path} is closed`);
    const { info } = tensor;
    const numel = info.shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(numel);
    if (numel === 0) return out;
    await gather(this.zip, tensor, collapse(info.shape, info.stride), info.storageOffset, 0, out);
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }

  private require(name: string): TensorEntry {
    const tensor = this.byName.get(name);
    if (!tensor) {
      throw new UserError(
        `${basename(this.path)} has no tensor named ${quoteUntrusted(name)}.`,
        'The checkpoint is not the one this network expects. Use the official TripoSR model.ckpt.',
        'model-invalid',
      );
    }
    return tensor;
  }
}

/**
 * Opens a torch.save checkpoint for reading. Reads only the zip directory and the pickle; throws
 * UserError ('model-missing' / 'model-invalid') naming the file and the problem.
 */
export async function openCheckpoint(path: string, options: OpenCheckpointOptions = {}): Promise<TorchCheckpoint> {
  const label = basename(path);
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    throw openError(path, e);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new UserError(`${path} is not a file.`, NOT_CHECKPOINT_HINT, 'model-invalid');
    const fileSize = stats.size;
    await sniff(handle, fileSize, label);
    const zip = await ZipReader.open(handle, fileSize, label);
    const checkpoint = await readCheckpoint(handle, zip, path, label, fileSize, options);
    return checkpoint;
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e;
  }
}

function openError(path: string, e: unknown): UserError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new UserError(`Checkpoint not found: ${path}`, NOT_CHECKPOINT_HINT, 'model-missing');
  if (code === 'EISDIR') return new UserError(`${path} is a folder, not a checkpoint file.`, NOT_CHECKPOINT_HINT, 'model-invalid');
  const reason = e instanceof Error ? e.message.split('\n')[0] : String(e);
  return new UserError(`Cannot read checkpoint ${path}: ${reason}`, 'Check the file and its permissions.', 'model-invalid');
}

/** Tells the formats torch.load accepts apart before parsing, so each gets a message that fits. */
async function sniff(handle: FileHandle, fileSize: number, label: string): Promise<void> {
  if (fileSize === 0) throw new UserError(`${label} is empty (0 bytes).`, 'The download did not complete. Download the checkpoint again.', 'model-invalid');
  const head = new Uint8Array(Math.min(fileSize, LEGACY_MAGIC.length));
  await readExactly(handle, head, 0, label, 'the file header');
  if (startsWith(head, ZIP_MAGIC)) return;
  if (startsWith(head, LEGACY_MAGIC)) {
    throw new UserError(
      `${label} is in PyTorch's legacy checkpoint format (torch.save before PyTorch 1.6, or _use_new_zipfile_serialization=False); only the zip format is supported.`,
      'Use the official TripoSR model.ckpt, or re-save the weights with PyTorch 1.6 or later (torch.save writes the zip format by default).',
      'model-invalid',
    );
  }
  if (fileSize < ZIP_MAGIC.length && startsWith(ZIP_MAGIC, head)) {
    throw new UserError(`${label} is truncated: it ends after ${fileSize} bytes.`, 'The download did not complete. Download the checkpoint again.', 'model-invalid');
  }
  throw new UserError(`${label} is not a PyTorch checkpoint (it is not a zip archive as torch.save writes).`, NOT_CHECKPOINT_HINT, 'model-invalid');
}

function startsWith(data: Uint8Array, prefix: Uint8Array): boolean {
  if (data.length < prefix.length) return false;
  return prefix.every((b, i) => data[i] === b);
}

async function readCheckpoint(
  handle: FileHandle,
  zip: ZipReader,
  path: string,
  label: string,
  fileSize: number,
  options: OpenCheckpointOptions,
): Promise<TorchCheckpoint> {
  // The top folder is whatever torch.save chose (the file's stem, or 'archive'); data.pkl directly inside it marks it.
  const pickles = zip.entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (pickles.length === 0) {
    const what = zip.entries.some((e) => e.name.endsWith('/constants.pkl'))
      ? 'it is a TorchScript archive (torch.jit.save), not a torch.save checkpoint'
      : 'the archive has no data.pkl';
    throw new UserError(`${label} is not a PyTorch checkpoint: ${what}.`, NOT_CHECKPOINT_HINT, 'model-invalid');
  }
  if (pickles.length > 1) {
    throw new UserError(`${label} is not a valid PyTorch checkpoint: it holds more than one data.pkl.`, REDOWNLOAD_HINT, 'model-invalid');
  }
  const pickleEntry = pickles[0]!;
  const archiveName = pickleEntry.name.slice(0, -'/data.pkl'.length);

  const littleEndian = await readByteOrder(zip, archiveName, label);
  const { value: root, protocol } = unpickle(await zip.readAll(pickleEntry, MAX_PICKLE_BYTES), label);

  const found = findStateDicts(root);
  if (found.length === 0) {
    throw new UserError(`${label} holds no tensors by name: its data is ${summarize(root)}, not a state dict.`, NOT_CHECKPOINT_HINT, 'model-invalid');
  }
  let chosen: FoundStateDict | undefined;
  if (options.stateDict !== undefined) {
    chosen = found.find((f) => f.key === options.stateDict);
    if (!chosen) {
      throw new UserError(
        `${label} has no state dict at ${JSON.stringify(options.stateDict)}; it holds ${found.map((f) => JSON.stringify(f.key)).join(', ')}.`,
        'Choose one of the state dicts the checkpoint holds.',
        'model-invalid',
      );
    }
  } else {
    chosen = found.find((f) => f.key === '') ?? found.find((f) => f.key === 'state_dict') ?? found[0]!;
  }

  const tensors: TensorEntry[] = [];
  for (const [name, record] of chosen.tensors) {
    tensors.push(await validateTensor(zip, archiveName, label, name, record, littleEndian));
  }
  const summaries = found.map((f) => ({
    key: f.key,
    tensorCount: f.tensors.length,
    byteLength: f.tensors.reduce((sum, [, r]) => sum + safeByteLength(r), 0),
  }));
  return new TorchCheckpoint(handle, zip, path, fileSize, archiveName, protocol, summaries, chosen.key, chosen.skipped, tensors);
}

/** Torch 1.13 writes no byteorder record and means the saving machine's order, which in practice is little-endian. */
async function readByteOrder(zip: ZipReader, archiveName: string, label: string): Promise<boolean> {
  const entry = zip.find(`${archiveName}/byteorder`);
  if (!entry) return true;
  const text = new TextDecoder().decode(await zip.readAll(entry, 64)).trim();
  if (text === 'little') return true;
  if (text === 'big') return false;
  throw new UserError(`${label} is not a valid PyTorch checkpoint: its byte order record says ${quoteUntrusted(JSON.stringify(text))}.`, REDOWNLOAD_HINT, 'model-invalid');
}

interface FoundStateDict {
  readonly key: string;
  readonly tensors: readonly (readonly [string, TensorRecord])[];
  readonly skipped: readonly string[];
}

function findStateDicts(root: PickleValue): FoundStateDict[] {
  const found: FoundStateDict[] = [];
  // Depth-limited, so a pickle whose dicts contain themselves (possible through the memo) still ends.
  const visit = (value: PickleDict, key: string, depth: number): void => {
    const tensors: [string, TensorRecord][] = [];
    const skipped: string[] = [];
    const nested: [string, PickleDict][] = [];
    for (const [k, v] of value.entries) {
      if (typeof k !== 'string') continue;
      if (v instanceof TensorRecord) tensors.push([k, v]);
      else {
        skipped.push(k);
        if (v instanceof PickleDict) nested.push([k, v]);
      }
    }
    if (tensors.length > 0) found.push({ key, tensors, skipped });
    if (depth < MAX_WRAPPER_DEPTH) for (const [k, v] of nested) visit(v, key ? `${key}/${k}` : k, depth + 1);
  };
  if (root instanceof PickleDict) visit(root, '', 0);
  return found;
}

function summarize(value: PickleValue): string {
  if (value instanceof PickleDict) {
    const keys = [...value.entries.keys()].slice(0, 8).map((k) => quoteUntrusted(String(k)));
    return keys.length ? `a dict with keys ${keys.join(', ')}${value.entries.size > 8 ? ', …' : ''}` : 'an empty dict';
  }
  if (value instanceof TensorRecord) return 'a single tensor';
  if (value === null) return 'None';
  if (typeof value === 'object' && 'kind' in value) return `a ${value.kind}`;
  return `a ${typeof value}`;
}

function safeByteLength(record: TensorRecord): number {
  return record.shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[record.storage.dtype];
}

async function validateTensor(
  zip: ZipReader,
  archiveName: string,
  label: string,
  name: string,
  record: TensorRecord,
  littleEndian: boolean,
): Promise<TensorEntry> {
  const storage: StorageRef = record.storage;
  const bad = (what: string): UserError =>
    new UserError(`${label} is damaged: tensor ${quoteUntrusted(name)} ${what}.`, REDOWNLOAD_HINT, 'model-invalid');
  const { shape, stride, storageOffset } = record;
  if (shape.length !== stride.length) throw bad(`has ${shape.length} dimensions but ${stride.length} strides`);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw bad(`has an invalid shape [${shape.join(', ')}]`);
  if (stride.some((s) => !Number.isSafeInteger(s) || s < 0)) throw bad(`has a negative or invalid stride (${stride.join(', ')})`);
  if (!Number.isSafeInteger(storageOffset) || storageOffset < 0) throw bad(`has an invalid storage offset ${storageOffset}`);
  let numel = 1;
  for (const d of shape) {
    numel *= d;
    if (!Number.isSafeInteger(numel)) throw bad(`has an impossibly large shape [${shape.join(', ')}]`);
  }
  // Float32Array is what readFloat32 returns; past 2^32 elements it cannot be allocated anyway.
  if (numel > 0xffffffff) throw bad(`is too large to read (${numel} elements)`);
  const itemSize = ITEM_SIZE[storage.dtype];
  if (!/^[A-Za-z0-9_.-]+$/.test(storage.key) || storage.key.startsWith('.')) throw bad(`names an invalid storage key ${quoteUntrusted(JSON.stringify(storage.key))}`);
  const entryName = `${archiveName}/data/${storage.key}`;
  const entry = zip.find(entryName);
  if (!entry) throw bad(`uses storage ${storage.key}, which is missing from the archive`);
  if (storage.numel * itemSize > entry.size) {
    throw bad(`uses storage ${storage.key} of ${storage.numel} ${storage.dtype} values (${storage.numel * itemSize} bytes), but the archive holds only ${entry.size} bytes of it`);
  }
  if (numel > 0) {
    let last = storageOffset;
    for (let i = 0; i < shape.length; i++) last += (shape[i]! - 1) * stride[i]!;
    if (!Number.isSafeInteger(last) || last >= storage.numel) {
      throw bad(`[${shape.join(', ')}] with stride (${stride.join(', ')}) and offset ${storageOffset} reaches element ${last} of storage ${storage.key}, which has only ${storage.numel}`);
    }
  }
  // Finds the data offset now, so a damaged local header is reported at open rather than mid-conversion.
  await zip.dataOffset(entry);
  return {
    info: {
      name,
      dtype: storage.dtype,
      shape,
      stride,
      storageOffset,
      storageKey: storage.key,
      parameter: record.parameter,
      byteLength: numel * itemSize,
    },
    entry,
    littleEndian,
  };
}

/** A dimension of the read, with where it steps in the storage and in the row-major output. */
interface Dim {
  readonly size: number;
  readonly stride: number;
  readonly outStride: number;
}

/**
 * Drops size-1 dimensions and merges neighbours that step through the storage as one (so a contiguous
 * tensor becomes a single run, read with one request per chunk).
 */
function collapse(shape: readonly number[], stride: readonly number[]): Dim[] {
  const outStrides: number[] = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    outStrides[i] = acc;
    acc *= shape[i]!;
  }
  const dims: Dim[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    dims.push({ size: shape[i]!, stride: stride[i]!, outStride: outStrides[i]! });
  }
  const merged: Dim[] = [];
  for (let i = dims.length - 1; i >= 0; i--) {
    const d = dims[i]!;
    const inner = merged[0];
    if (inner && d.stride === inner.stride * inner.size && d.outStride === inner.outStride * inner.size) {
      merged[0] = { size: d.size * inner.size, stride: inner.stride, outStride: inner.outStride };
    } else {
      merged.unshift(d);
    }
  }
  return merged;
}

function spanOf(dims: readonly Dim[]): number {
  let span = 1;
  for (const d of dims) span += (d.size - 1) * d.stride;
  return span;
}

/**
 * Fills `out` from the storage region the dims describe, reading at most about CHUNK_BYTES at a time: a
 * region too big to read at once is split along its largest storage stride (the outermost in storage
 * order), in blocks as large as fit, so even a transposed or strided view needs little beyond its output.
 */
async function gather(zip: ZipReader, tensor: TensorEntry, dims: readonly Dim[], base: number, outBase: number, out: Float32Array): Promise<void> {
  const itemSize = ITEM_SIZE[tensor.info.dtype];
  const chunkElems = Math.max(1, Math.floor(CHUNK_BYTES / itemSize));
  const span = spanOf(dims);
  if (span <= chunkElems || dims.length === 0) {
    await readLeaf(zip, tensor, dims, base, outBase, out, span);
    return;
  }
  let k = 0;
  for (let i = 1; i < dims.length; i++) if (dims[i]!.stride > dims[k]!.stride) k = i;
  const split = dims[k]!;
  const rest = dims.filter((_, i) => i !== k);
  const restSpan = spanOf(rest);
  const block = restSpan >= chunkElems || split.stride === 0 ? 1 : Math.max(1, Math.floor((chunkElems - restSpan) / split.stride) + 1);
  for (let i = 0; i < split.size; i += block) {
    const n = Math.min(block, split.size - i);
    const sub = n === 1 ? rest : dims.map((d, j) => (j === k ? { size: n, stride: d.stride, outStride: d.outStride } : d));
    await gather(zip, tensor, sub, base + i * split.stride, outBase + i * split.outStride, out);
  }
}

async function readLeaf(
  zip: ZipReader,
  tensor: TensorEntry,
  dims: readonly Dim[],
  base: number,
  outBase: number,
  out: Float32Array,
  span: number,
): Promise<void> {
  const { dtype } = tensor.info;
  const itemSize = ITEM_SIZE[dtype];
  const fast = tensor.littleEndian === HOST_LITTLE_ENDIAN;
  const run = dims.length === 0 || (dims.length === 1 && dims[0]!.stride === 1 && dims[0]!.outStride === 1);
  if (run && dtype === 'float32' && fast) {
    // Straight into the result: no intermediate buffer at all.
    const target = new Uint8Array(out.buffer, out.byteOffset + outBase * 4, span * 4);
    await zip.readInto(tensor.entry, base * 4, target);
    return;
  }
  const raw = await zip.read(tensor.entry, base * itemSize, span * itemSize);
  const value = decoder(dtype, raw, span, tensor.littleEndian, fast);
  if (run) {
    for (let i = 0; i < span; i++) out[outBase + i] = value(i);
    return;
  }
  // Odometer over the dims, innermost fastest, tracking storage and output positions together.
  const n = dims.length;
  const counters = new Array<number>(n).fill(0);
  const inner = dims[n - 1]!;
  let pos = 0;
  let o = outBase;
  for (;;) {
    for (let i = 0, p = pos, q = o; i < inner.size; i++, p += inner.stride, q += inner.outStride) out[q] = value(p);
    let d = n - 2;
    for (; d >= 0; d--) {
      const dim = dims[d]!;
      counters[d]!++;
      pos += dim.stride;
      o += dim.outStride;
      if (counters[d]! < dim.size) break;
      pos -= dim.stride * dim.size;
      o -= dim.outStride * dim.size;
      counters[d] = 0;
    }
    if (d < 0) return;
  }
}

let halfTable: Float32Array | undefined;

/** All 65536 float16 values as float32 (exact: every half is a float), built on first use. */
function halfToFloat(): Float32Array {
  if (halfTable) return halfTable;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) table[h] = sign * mantissa * 2 ** -24;
    else if (exponent === 31) table[h] = mantissa ? NaN : sign * Infinity;
    else table[h] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  halfTable = table;
  return table;
}

const bfloatBits = new Uint32Array(1);
const bfloatValue = new Float32Array(bfloatBits.buffer);

/**
 * Element i of `raw` as a number. Typed-array views when the file's byte order is the host's (`raw` is a
 * fresh buffer at offset 0, so views align), a DataView otherwise.
 */
function decoder(dtype: StateDictDtype, raw: Uint8Array, count: number, littleEndian: boolean, native: boolean): (i: number) => number {
  const buf = raw.buffer;
  const off = raw.byteOffset;
  if (native && off % 8 === 0) {
    switch (dtype) {
      case 'float32': {
        const a = new Float32Array(buf, off, count);
        return (i) => a[i]!;
      }
      case 'float16': {
        const a = new Uint16Array(buf, off, count);
        const table = halfToFloat();
        return (i) => table[a[i]!]!;
      }
      case 'bfloat16': {
        const a = new Uint16Array(buf, off, count);
        return (i) => {
          bfloatBits[0] = a[i]! << 16;
          return bfloatValue[0]!;
        };
      }
      case 'float64': {
        const a = new Float64Array(buf, off, count);
        return (i) => a[i]!;
      }
      case 'int64': {
        const a = new Int32Array(buf, off, count * 2);
        const lo = HOST_LITTLE_ENDIAN ? 0 : 1;
        return (i) => a[2 * i + 1 - lo]! * 4294967296 + (a[2 * i + lo]! >>> 0);
      }
      case 'int32': {
        const a = new Int32Array(buf, off, count);
        return (i) => a[i]!;
      }
      case 'uint8': {
        const a = new Uint8Array(buf, off, count);
        return (i) => a[i]!;
      }
      case 'bool': {
        const a = new Uint8Array(buf, off, count);
        return (i) => (a[i]! ? 1 : 0);
      }
    }
  }
  const view = new DataView(buf, off, raw.byteLength);
  const le = littleEndian;
  switch (dtype) {
    case 'float32':
      return (i) => view.getFloat32(i * 4, le);
    case 'float16': {
      const table = halfToFloat();
      return (i) => table[view.getUint16(i * 2, le)]!;
    }
    case 'bfloat16':
      return (i) => {
        bfloatBits[0] = view.getUint16(i * 2, le) << 16;
        return bfloatValue[0]!;
      };
    case 'float64':
      return (i) => view.getFloat64(i * 8, le);
    case 'int64':
      return (i) => Number(view.getBigInt64(i * 8, le));
    case 'int32':
      return (i) => view.getInt32(i * 4, le);
    case 'uint8':
      return (i) => view.getUint8(i);
    case 'bool':
      return (i) => (view.getUint8(i) ? 1 : 0);
  }
}

/**
 * SHA-256 of a file as lowercase hex, streamed so memory stays flat for a 1.7 GB checkpoint.
 * `onProgress` gets bytes hashed and the file size; aborting `signal` rejects with CancelledError.
 */
export async function sha256File(
  path: string,
  onProgress?: (bytesDone: number, bytesTotal: number) => void,
  signal?: AbortSignal,
): Promise<string> {
  throwIfAborted(signal);
  let total: number;
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    throw openError(path, e);
  }
  try {
    total = (await handle.stat()).size;
  } finally {
    await handle.close();
  }
  const hash = createHash('sha256');
  const stream = createReadStream(path, { highWaterMark: 4 * 1024 * 1024 });
  let done = 0;
  const onAbort = (): void => {
    stream.destroy(new CancelledError());
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      done += chunk.length;
      onProgress?.(done, total);
    }
  } catch (e) {
    if (e instanceof CancelledError || signal?.aborted) throw new CancelledError();
    throw openError(path, e);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stream.destroy();
  }
  throwIfAborted(signal);
  return hash.digest('hex');
}
