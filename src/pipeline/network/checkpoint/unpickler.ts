/**
 * A restricted unpickler for the data.pkl of a PyTorch checkpoint. It understands only the opcodes a
 * tensor state dict is written with and resolves only an allow-list of globals, each to a fixed
 * reimplementation here: nothing named by the file is ever looked up, imported, called or evaluated.
 * A pickle is a program for a stack machine whose instructions can call any importable function, which
 * is why torch.load runs code; this reader treats it as data and refuses everything else.
 *
 * Opcode semantics follow CPython's Lib/pickletools.py; the tensor records follow torch/_utils.py
 * (_rebuild_tensor_v2, _rebuild_parameter) and the persistent ids torch/serialization.py writes.
 */
import { UserError } from '../../errors.js';
import type { StateDictDtype } from './stateDict.js';

/** An immutable Python tuple. */
export class PickleTuple {
  readonly kind = 'tuple';
  constructor(readonly items: readonly PickleValue[]) {}
}

export class PickleList {
  readonly kind = 'list';
  readonly items: PickleValue[] = [];
}

/** Python dict keys this reader accepts: state dicts key by name; anything fancier has no place in one. */
export type PickleKey = string | number | bigint | boolean | null;

export class PickleDict {
  readonly kind = 'dict';
  readonly entries = new Map<PickleKey, PickleValue>();
  /** Instance attributes set by BUILD, e.g. the `_metadata` torch attaches to a module's state dict. */
  readonly attributes = new Map<string, PickleValue>();
  constructor(readonly ordered: boolean) {}
}

/** A global from the allow-list, standing for our own implementation of it. */
export class PickleGlobal {
  readonly kind = 'global';
  constructor(
    readonly qualifiedName: string,
    readonly role: GlobalRole,
  ) {}
}

export type GlobalRole =
  | { readonly type: 'ordered-dict' }
  | { readonly type: 'rebuild-tensor-v2' }
  | { readonly type: 'rebuild-parameter' }
  | { readonly type: 'storage'; readonly dtype: StateDictDtype };

/** A storage named by a persistent id: its bytes are the archive entry data/<key>. */
export class StorageRef {
  readonly kind = 'storage';
  constructor(
    readonly key: string,
    readonly dtype: StateDictDtype,
    /** Elements (of dtype) the storage holds, as recorded when it was saved. */
    readonly numel: number,
    /** Device it was saved from ('cpu', 'cuda:0', ...); only reported, never acted on. */
    readonly location: string,
  ) {}
}

/** A tensor as _rebuild_tensor_v2 describes it: a strided view into a storage. Not yet validated against the archive. */
export class TensorRecord {
  readonly kind = 'tensor';
  constructor(
    readonly storage: StorageRef,
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    readonly requiresGrad: boolean,
    /** Saved as an nn.Parameter rather than a plain tensor (buffers). */
    readonly parameter: boolean,
  ) {}
}

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleTuple
  | PickleList
  | PickleDict
  | PickleGlobal
  | StorageRef
  | TensorRecord;

export interface UnpickleResult {
  readonly value: PickleValue;
  /** From the PROTO opcode; 0-1 if the pickle has none (torch never writes those). */
  readonly protocol: number;
  /** Distinct globals the pickle named, in order of first use: for diagnostics. */
  readonly globals: readonly string[];
  /** Opcode names seen, in order of first use: for diagnostics. */
  readonly opcodes: readonly string[];
}

const STORAGE_DTYPES: ReadonlyMap<string, StateDictDtype> = new Map([
  ['FloatStorage', 'float32'],
  ['HalfStorage', 'float16'],
  ['BFloat16Storage', 'bfloat16'],
  ['DoubleStorage', 'float64'],
  ['LongStorage', 'int64'],
  ['IntStorage', 'int32'],
  ['ByteStorage', 'uint8'],
  ['BoolStorage', 'bool'],
]);

/** Genuine torch storage types outside our dtypes: named so the refusal says "unsupported dtype", not "malicious". */
const UNSUPPORTED_STORAGES: ReadonlyMap<string, string> = new Map([
  ['CharStorage', 'int8'],
  ['ShortStorage', 'int16'],
  ['ComplexFloatStorage', 'complex64'],
  ['ComplexDoubleStorage', 'complex128'],
  ['QInt8Storage', 'quantized int8'],
  ['QUInt8Storage', 'quantized uint8'],
  ['QInt32Storage', 'quantized int32'],
  ['QUInt4x2Storage', 'quantized 4-bit'],
  ['QUInt2x4Storage', 'quantized 2-bit'],
  ['UntypedStorage', 'untyped bytes'],
  ['TypedStorage', 'a typed storage object'],
]);

const ALLOWED_GLOBALS: ReadonlyMap<string, GlobalRole> = new Map<string, GlobalRole>([
  ['collections.OrderedDict', { type: 'ordered-dict' }],
  ['torch._utils._rebuild_tensor_v2', { type: 'rebuild-tensor-v2' }],
  ['torch._utils._rebuild_parameter', { type: 'rebuild-parameter' }],
  ...[...STORAGE_DTYPES].map(([name, dtype]): [string, GlobalRole] => [`torch.${name}`, { type: 'storage', dtype }]),
]);

/** Names of every pickle opcode (pickletools), so refusals can say which one was met. */
const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT',
  0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID',
  0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT',
  0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET',
  0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT',
  0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

const MAX_PROTOCOL = 5;

const REFUSAL_HINT =
  'Use the official checkpoint, or a file saved with torch.save(model.state_dict(), path). This reader never runs code from a checkpoint.';
const CORRUPT_HINT = 'The file is damaged. Download it again.';

/** Shows untrusted text in a message without letting it forge lines or run on forever. */
function quote(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

function describe(value: PickleValue): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return 'a bool';
  if (typeof value === 'number' || typeof value === 'bigint') return 'a number';
  if (typeof value === 'string') return 'a string';
  if (value instanceof Uint8Array) return 'bytes';
  switch (value.kind) {
    case 'tuple':
      return `a ${value.items.length}-tuple`;
    case 'list':
      return 'a list';
    case 'dict':
      return 'a dict';
    case 'global':
      return value.qualifiedName;
    case 'storage':
      return 'a storage';
    case 'tensor':
      return 'a tensor';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Runs the pickle in `data` as data. `label` names the file in messages. Throws UserError 'model-invalid'
 * for anything a state dict would not contain, naming what was refused.
 */
export function unpickle(data: Uint8Array, label: string): UnpickleResult {
  return new Unpickler(data, label).run();
}

class Unpickler {
  private pos = 0;
  private protocol = 0;
  private readonly stack: PickleValue[] = [];
  /** Stack heights at each open MARK (CPython's "metastack"). */
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PickleValue>();
  private readonly storages = new Map<string, StorageRef>();
  private readonly globals: string[] = [];
  private readonly opcodes = new Set<string>();
  private readonly view: DataView;

  constructor(
    private readonly data: Uint8Array,
    private readonly label: string,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  private corrupt(what: string): UserError {
    return new UserError(`${this.label}'s pickle (data.pkl) is damaged: ${what} (at byte ${this.pos}).`, CORRUPT_HINT, 'model-invalid');
  }

  private refuse(what: string): UserError {
    return new UserError(`${this.label}'s pickle ${what} — refusing to load it (a checkpoint must contain only tensors).`, REFUSAL_HINT, 'model-invalid');
  }

  private need(n: number): number {
    if (n > this.data.length - this.pos) throw this.corrupt('it ends in the middle of an instruction');
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private u8(): number {
    return this.data[this.need(1)]!;
  }

  private u16(): number {
    return this.view.getUint16(this.need(2), true);
  }

  private u32(): number {
    return this.view.getUint32(this.need(4), true);
  }

  private u64(): number {
    const v = this.view.getBigUint64(this.need(8), true);
    if (v > BigInt(this.data.length)) throw this.corrupt('a length runs past the end of the pickle');
    return Number(v);
  }

  private bytes(n: number): Uint8Array {
    const at = this.need(n);
    return this.data.slice(at, at + n);
  }

  private text(n: number): string {
    const at = this.need(n);
    try {
      return utf8.decode(this.data.subarray(at, at + n));
    } catch {
      throw this.corrupt('a string is not valid UTF-8');
    }
  }

  private line(): string {
    const end = this.data.indexOf(0x0a, this.pos);
    if (end < 0) throw this.corrupt('a global name is not terminated');
    return this.text(end - this.pos + 1).slice(0, -1);
  }

  private push(value: PickleValue): void {
    this.stack.push(value);
  }

  private pop(): PickleValue {
    const floor = this.marks.length ? this.marks[this.marks.length - 1]! : 0;
    if (this.stack.length <= floor) throw this.corrupt('an instruction takes a value from an empty stack');
    return this.stack.pop()!;
  }

  private top(): PickleValue {
    const floor = this.marks.length ? this.marks[this.marks.length - 1]! : 0;
    if (this.stack.length <= floor) throw this.corrupt('an instruction takes a value from an empty stack');
    return this.stack[this.stack.length - 1]!;
  }

  private popMark(): PickleValue[] {
    const mark = this.marks.pop();
    if (mark === undefined) throw this.corrupt('an instruction needs a MARK that is not there');
    return this.stack.splice(mark);
  }

  private memoPut(index: number): void {
    this.memo.set(index, this.top());
  }

  private memoGet(index: number): PickleValue {
    if (!this.memo.has(index)) throw this.corrupt(`it recalls memo entry ${index}, which was never stored`);
    return this.memo.get(index)!;
  }

  run(): UnpickleResult {
    for (;;) {
      const opPos = this.pos;
      const op = this.u8();
      const name = OPCODE_NAMES[op];
      if (name) this.opcodes.add(name);
      switch (op) {
        case 0x80: {
          // PROTO
          this.protocol = this.u8();
          if (this.protocol > MAX_PROTOCOL) throw this.corrupt(`it declares pickle protocol ${this.protocol}, newer than any Python writes`);
          break;
        }
        case 0x95: // FRAME: a length prefix for buffered reading; the data is already in memory.
          this.u64();
          break;
        case 0x2e: {
          // STOP
          const value = this.pop();
          return { value, protocol: this.protocol, globals: this.globals, opcodes: [...this.opcodes] };
        }
        case 0x28: // MARK
          this.marks.push(this.stack.length);
          break;
        case 0x30: // POP
          if (this.marks.length && this.stack.length === this.marks[this.marks.length - 1]) this.marks.pop();
          else this.pop();
          break;
        case 0x31: // POP_MARK
          this.popMark();
          break;
        case 0x32: // DUP
          this.push(this.top());
          break;
        case 0x4e: // NONE
          this.push(null);
          break;
        case 0x88: // NEWTRUE
          this.push(true);
          break;
        case 0x89: // NEWFALSE
          this.push(false);
          break;
        case 0x4a: // BININT
          this.push(this.view.getInt32(this.need(4), true));
          break;
        case 0x4b: // BININT1
          this.push(this.u8());
          break;
        case 0x4d: // BININT2
          this.push(this.u16());
          break;
        case 0x8a: {
          // LONG1: little-endian two's complement of n bytes
          const n = this.u8();
          this.push(this.long(this.bytes(n)));
          break;
        }
        case 0x47: // BINFLOAT: big-endian IEEE double
          this.push(this.view.getFloat64(this.need(8), false));
          break;
        case 0x8c: // SHORT_BINUNICODE
          this.push(this.text(this.u8()));
          break;
        case 0x58: // BINUNICODE
          this.push(this.text(this.u32()));
          break;
        case 0x8d: // BINUNICODE8
          this.push(this.text(this.u64()));
          break;
        case 0x43: // SHORT_BINBYTES
          this.push(this.bytes(this.u8()));
          break;
        case 0x42: // BINBYTES
          this.push(this.bytes(this.u32()));
          break;
        case 0x8e: // BINBYTES8
          this.push(this.bytes(this.u64()));
          break;
        case 0x29: // EMPTY_TUPLE
          this.push(new PickleTuple([]));
          break;
        case 0x85: // TUPLE1
          this.push(new PickleTuple([this.pop()]));
          break;
        case 0x86: {
          // TUPLE2
          const b = this.pop();
          const a = this.pop();
          this.push(new PickleTuple([a, b]));
          break;
        }
        case 0x87: {
          // TUPLE3
          const c = this.pop();
          const b = this.pop();
          const a = this.pop();
          this.push(new PickleTuple([a, b, c]));
          break;
        }
        case 0x74: // TUPLE
          this.push(new PickleTuple(this.popMark()));
          break;
        case 0x5d: // EMPTY_LIST
          this.push(new PickleList());
          break;
        case 0x61: {
          // APPEND
          const value = this.pop();
          this.list(this.top()).items.push(value);
          break;
        }
        case 0x65: {
          // APPENDS
          const values = this.popMark();
          const list = this.list(this.top());
          // A loop, not push(...values): spreading a huge hostile batch would overflow the call stack.
          for (const value of values) list.items.push(value);
          break;
        }
        case 0x7d: // EMPTY_DICT
          this.push(new PickleDict(false));
          break;
        case 0x73: {
          // SETITEM
          const value = this.pop();
          const key = this.pop();
          this.setItem(this.dict(this.top()), key, value);
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = this.popMark();
          if (items.length % 2) throw this.corrupt('SETITEMS has a key without a value');
          const dict = this.dict(this.top());
          for (let i = 0; i < items.length; i += 2) this.setItem(dict, items[i]!, items[i + 1]!);
          break;
        }
        case 0x71: // BINPUT
          this.memoPut(this.u8());
          break;
        case 0x72: // LONG_BINPUT
          this.memoPut(this.u32());
          break;
        case 0x94: // MEMOIZE
          this.memoPut(this.memo.size);
          break;
        case 0x68: // BINGET
          this.push(this.memoGet(this.u8()));
          break;
        case 0x6a: // LONG_BINGET
          this.push(this.memoGet(this.u32()));
          break;
        case 0x63: {
          // GLOBAL: "module\nname\n"
          const module = this.line();
          const qualname = this.line();
          this.push(this.resolveGlobal(module, qualname));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const qualname = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof qualname !== 'string') throw this.corrupt('STACK_GLOBAL needs two strings');
          this.push(this.resolveGlobal(module, qualname));
          break;
        }
        case 0x52: {
          // REDUCE: callable(*args), but only for callables we implement ourselves.
          const args = this.pop();
          const callable = this.pop();
          this.push(this.reduce(callable, args));
          break;
        }
        case 0x62: {
          // BUILD
          const state = this.pop();
          this.build(this.top(), state);
          break;
        }
        case 0x51: // BINPERSID
          this.push(this.persistentLoad(this.pop()));
          break;
        default: {
          this.pos = opPos;
          const opName = OPCODE_NAMES[op];
          if (opName) throw this.refuse(`uses the instruction ${opName} (at byte ${opPos}), which a state dict never needs`);
          throw this.corrupt(`0x${op.toString(16).padStart(2, '0')} is not a pickle instruction`);
        }
      }
    }
  }

  private long(bytes: Uint8Array): number | bigint {
    if (bytes.length === 0) return 0;
    let v = 0n;
    for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
    if (bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(8 * bytes.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  private list(target: PickleValue): PickleList {
    if (target instanceof PickleList) return target;
    throw this.refuse(`appends to ${describe(target)}, which a state dict never does`);
  }

  private dict(target: PickleValue): PickleDict {
    if (target instanceof PickleDict) return target;
    throw this.refuse(`sets items on ${describe(target)}, which a state dict never does`);
  }

  private setItem(dict: PickleDict, key: PickleValue, value: PickleValue): void {
    if (key !== null && typeof key === 'object') throw this.refuse(`uses ${describe(key)} as a dict key, which a state dict never does`);
    // Python's dict keeps the first key's position when a key is set again; Map does the same.
    dict.entries.set(key, value);
  }

  private resolveGlobal(module: string, qualname: string): PickleGlobal {
    const full = `${module}.${qualname}`;
    if (!this.globals.includes(full)) this.globals.push(full);
    const role = ALLOWED_GLOBALS.get(full);
    if (role) return new PickleGlobal(full, role);
    if (module === 'torch' && UNSUPPORTED_STORAGES.has(qualname)) {
      throw new UserError(
        `${this.label} holds tensors stored as ${quote(full)} (${UNSUPPORTED_STORAGES.get(qualname)!}), a type this reader does not support.`,
        'Only float32, float16, bfloat16, float64, int64, int32, uint8 and bool tensors can be read. Use the official checkpoint.',
        'model-invalid',
      );
    }
    throw this.refuse(`names a global that a state dict never needs: ${quote(full)}`);
  }

  private reduce(callable: PickleValue, args: PickleValue): PickleValue {
    if (!(callable instanceof PickleGlobal)) throw this.refuse(`calls ${describe(callable)}, which is not a function a state dict uses`);
    if (!(args instanceof PickleTuple)) throw this.corrupt(`${callable.qualifiedName} is called with ${describe(args)} instead of an argument tuple`);
    const a = args.items;
    switch (callable.role.type) {
      case 'ordered-dict': {
        const dict = new PickleDict(true);
        // OrderedDict() is what pickle writes (items follow via SETITEMS); OrderedDict([(k, v), ...]) is accepted too.
        if (a.length === 0) return dict;
        const items = a[0];
        if (a.length === 1 && (items instanceof PickleList || items instanceof PickleTuple)) {
          for (const pair of items.items) {
            const kv = pair instanceof PickleTuple || pair instanceof PickleList ? pair.items : undefined;
            if (!kv || kv.length !== 2) throw this.corrupt('OrderedDict is given an item that is not a key-value pair');
            this.setItem(dict, kv[0]!, kv[1]!);
          }
          return dict;
        }
        throw this.corrupt('OrderedDict is called with unexpected arguments');
      }
      case 'rebuild-tensor-v2':
        return this.rebuildTensor(a);
      case 'rebuild-parameter': {
        // _rebuild_parameter(data, requires_grad, backward_hooks)
        if (a.length !== 3) throw this.corrupt(`_rebuild_parameter takes 3 arguments, not ${a.length}`);
        const [data, requiresGrad, hooks] = a as [PickleValue, PickleValue, PickleValue];
        if (!(data instanceof TensorRecord)) throw this.corrupt(`a parameter wraps ${describe(data)} instead of a tensor`);
        if (typeof requiresGrad !== 'boolean') throw this.corrupt('a parameter\'s requires_grad is not a bool');
        this.checkNoHooks(hooks);
        return new TensorRecord(data.storage, data.storageOffset, data.shape, data.stride, requiresGrad, true);
      }
      case 'storage':
        throw this.refuse(`calls ${callable.qualifiedName} as a function, which a state dict never does`);
    }
  }

  /** _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) */
  private rebuildTensor(a: readonly PickleValue[]): TensorRecord {
    if (a.length !== 6 && a.length !== 7) throw this.corrupt(`_rebuild_tensor_v2 takes 6 or 7 arguments, not ${a.length}`);
    const [storage, offset, size, stride, requiresGrad, hooks, metadata] = a;
    if (!(storage instanceof StorageRef)) throw this.corrupt(`a tensor is built on ${describe(storage!)} instead of a storage`);
    if (typeof requiresGrad !== 'boolean') throw this.corrupt('a tensor\'s requires_grad is not a bool');
    this.checkNoHooks(hooks!);
    // Metadata (torch 2.x, rare) only carries Python-side flags, never data; it must at least be plain data.
    if (metadata !== undefined && metadata !== null && !(metadata instanceof PickleDict)) {
      throw this.corrupt(`a tensor's metadata is ${describe(metadata)} instead of a dict`);
    }
    return new TensorRecord(storage, this.int(offset!, 'storage offset'), this.ints(size!, 'size'), this.ints(stride!, 'stride'), requiresGrad, false);
  }

  private checkNoHooks(hooks: PickleValue): void {
    // Hooks are Python callables, which could only come from a global we would refuse anyway.
    if (!(hooks instanceof PickleDict) || hooks.entries.size > 0) throw this.refuse('attaches backward hooks to a tensor, which a state dict never does');
  }

  /** Validation of ranges (negative, overflow) happens against the archive; here only the types. */
  private int(value: PickleValue, what: string): number {
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    throw this.corrupt(`a tensor's ${what} is ${typeof value === 'bigint' ? 'impossibly large' : describe(value)}`);
  }

  private ints(value: PickleValue, what: string): number[] {
    if (!(value instanceof PickleTuple)) throw this.corrupt(`a tensor's ${what} is ${describe(value)} instead of a tuple`);
    return value.items.map((v) => this.int(v, what));
  }

  private build(target: PickleValue, state: PickleValue): void {
    // Python would set the state dict's entries as attributes (obj.__dict__.update). Only dicts may be
    // built on, and only with string-keyed plain data; a module's state dict carries `_metadata` this way.
    if (!(target instanceof PickleDict)) throw this.refuse(`sets the state of ${describe(target)}, which a state dict never does`);
    if (!(state instanceof PickleDict)) throw this.refuse(`sets the state of a dict from ${describe(state)}, which a state dict never does`);
    for (const [key, value] of state.entries) {
      if (typeof key !== 'string') throw this.refuse('sets an attribute whose name is not a string');
      target.attributes.set(key, value);
    }
  }

  /** ('storage', storage_type, key, location, numel), as torch's zip format writes for every storage. */
  private persistentLoad(pid: PickleValue): StorageRef {
    if (!(pid instanceof PickleTuple) || pid.items[0] !== 'storage') {
      throw this.refuse(`refers to an external object (${describe(pid)}) that is not a tensor storage`);
    }
    if (pid.items.length !== 5) throw this.corrupt(`a storage reference has ${pid.items.length} fields instead of 5`);
    const [, type, key, location, numel] = pid.items as [PickleValue, PickleValue, PickleValue, PickleValue, PickleValue];
    if (!(type instanceof PickleGlobal) || type.role.type !== 'storage') throw this.corrupt(`a storage's type is ${describe(type)}`);
    if (typeof key !== 'string') throw this.corrupt('a storage key is not a string');
    if (typeof location !== 'string') throw this.corrupt(`the location of storage ${quote(key)} is not a string`);
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) {
      throw this.corrupt(`the size of storage ${quote(key)} is not a valid element count`);
    }
    const dtype = type.role.dtype;
    const known = this.storages.get(key);
    if (known) {
      if (known.dtype !== dtype || known.numel !== numel) throw this.corrupt(`storage ${quote(key)} is described two different ways`);
      return known;
    }
    const ref = new StorageRef(key, dtype, numel, location);
    this.storages.set(key, ref);
    return ref;
  }
}

export { quote as quoteUntrusted };
