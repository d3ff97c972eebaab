/**
 * The part of onnx.proto (package `onnx`, proto2) that this project writes and reads, declared through
 * protobufjs's reflection API. Field numbers, types, packing and enum values are those of onnx.proto;
 * field names are the camelCase forms protobufjs itself gives them when it parses a .proto file, so a
 * message decoded here reads like the rest of our TypeScript. Only the wire numbers matter for
 * compatibility, which is why every one of them is spelled out below rather than derived.
 *
 * Designed for graphs far larger than the stand-in (TripoSR's encoder is ~1.7 GB of weights):
 * - tensors carry their bytes in `rawData` as views, never copied into JS arrays;
 * - `externaliseTensors` + `writeModel` move large initializers into a side file (TensorProto
 *   `external_data` / `data_location = EXTERNAL`), keeping the .onnx under protobuf's 2 GB limit and
 *   letting onnxruntime map the weights instead of parsing them;
 * - `readModelSignature` walks the wire format and decodes only the graph's inputs and outputs, skipping
 *   nodes and initializers without materialising them.
 *
 * int64 fields are exposed as JS numbers: exact up to 2^53, which covers every dimension, offset and
 * attribute we write. Values beyond that (e.g. INT64_MAX sentinels in foreign models) lose precision
 * when decoded here, so do not round-trip such models through `decodeModel`.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { Reader, Root, type IConversionOptions, type Type } from 'protobufjs';

// ---------------------------------------------------------------------------------------------------
// Enums (values from onnx.proto)

/** TensorProto.DataType */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
} as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;
export type AttributeTypeCode = (typeof AttributeType)[keyof typeof AttributeType];

/** TensorProto.DataLocation */
export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;
export type DataLocationCode = (typeof DataLocation)[keyof typeof DataLocation];

// ---------------------------------------------------------------------------------------------------
// Typed shapes of the messages we use. Repeated fields are always arrays; absent optional fields are
// left undefined (decodeModel produces exactly this form, so encode → decode → encode is byte-stable).

export interface StringStringEntryProto {
  key: string;
  value: string;
}

export interface OperatorSetIdProto {
  /** '' or absent: the default ONNX domain. */
  domain?: string;
  version: number;
}

export interface TensorProto {
  dims: number[];
  dataType: number;
  name?: string;
  docString?: string;
  /** Little-endian element bytes. */
  rawData?: Uint8Array;
  floatData: number[];
  int32Data: number[];
  int64Data: number[];
  doubleData: number[];
  /** Keys: location (required), offset, length, checksum. */
  externalData: StringStringEntryProto[];
  dataLocation?: number;
}

export interface TensorShapeDimension {
  dimValue?: number;
  dimParam?: string;
  denotation?: string;
}

export interface TensorShapeProto {
  dim: TensorShapeDimension[];
}

export interface TypeProtoTensor {
  elemType: number;
  /** Absent: rank unknown. */
  shape?: TensorShapeProto;
}

export interface TypeProto {
  tensorType?: TypeProtoTensor;
  denotation?: string;
}

export interface ValueInfoProto {
  name: string;
  type?: TypeProto;
  docString?: string;
}

export interface AttributeProto {
  name: string;
  type: number;
  docString?: string;
  f?: number;
  i?: number;
  /** UTF-8 bytes for STRING attributes. */
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats: number[];
  ints: number[];
  strings: Uint8Array[];
  tensors: TensorProto[];
  graphs: GraphProto[];
}

export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute: AttributeProto[];
  docString?: string;
}

export interface GraphProto {
  node: NodeProto[];
  name?: string;
  initializer: TensorProto[];
  docString?: string;
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
}

export interface ModelProto {
  irVersion: number;
  opsetImport: OperatorSetIdProto[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph?: GraphProto;
  metadataProps: StringStringEntryProto[];
}

// ---------------------------------------------------------------------------------------------------
// Reflection schema

interface FieldJson {
  type: string;
  id: number;
  rule?: 'repeated';
  options?: { packed: boolean };
}

const packed = { packed: true };

/** Field numbers checked against onnx/onnx.proto; do not renumber. */
const schema = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            refAttrName: { type: 'string', id: 21 },
            docString: { type: 'string', id: 13 },
            type: { type: 'AttributeType', id: 20 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            g: { type: 'GraphProto', id: 6 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            strings: { rule: 'repeated', type: 'bytes', id: 9 },
            tensors: { rule: 'repeated', type: 'TensorProto', id: 10 },
            graphs: { rule: 'repeated', type: 'GraphProto', id: 11 },
          } satisfies Record<string, FieldJson>,
          nested: {
            AttributeType: { values: { ...AttributeType } },
          },
        },
        ValueInfoProto: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'TypeProto', id: 2 },
            docString: { type: 'string', id: 3 },
            metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 4 },
          } satisfies Record<string, FieldJson>,
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            domain: { type: 'string', id: 7 },
            overload: { type: 'string', id: 8 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            docString: { type: 'string', id: 6 },
            metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 9 },
          } satisfies Record<string, FieldJson>,
        },
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            modelVersion: { type: 'int64', id: 5 },
            docString: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
          } satisfies Record<string, FieldJson>,
        },
        StringStringEntryProto: {
          fields: {
            key: { type: 'string', id: 1 },
            value: { type: 'string', id: 2 },
          } satisfies Record<string, FieldJson>,
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            docString: { type: 'string', id: 10 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
            valueInfo: { rule: 'repeated', type: 'ValueInfoProto', id: 13 },
            metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 16 },
          } satisfies Record<string, FieldJson>,
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            floatData: { rule: 'repeated', type: 'float', id: 4, options: packed },
            int32Data: { rule: 'repeated', type: 'int32', id: 5, options: packed },
            stringData: { rule: 'repeated', type: 'bytes', id: 6 },
            int64Data: { rule: 'repeated', type: 'int64', id: 7, options: packed },
            name: { type: 'string', id: 8 },
            docString: { type: 'string', id: 12 },
            rawData: { type: 'bytes', id: 9 },
            externalData: { rule: 'repeated', type: 'StringStringEntryProto', id: 13 },
            dataLocation: { type: 'DataLocation', id: 14 },
            doubleData: { rule: 'repeated', type: 'double', id: 10, options: packed },
            uint64Data: { rule: 'repeated', type: 'uint64', id: 11, options: packed },
            metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 16 },
          } satisfies Record<string, FieldJson>,
          nested: {
            DataType: { values: { ...DataType } },
            DataLocation: { values: { ...DataLocation } },
          },
        },
        TensorShapeProto: {
          fields: {
            dim: { rule: 'repeated', type: 'Dimension', id: 1 },
          } satisfies Record<string, FieldJson>,
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: {
                dimValue: { type: 'int64', id: 1 },
                dimParam: { type: 'string', id: 2 },
                denotation: { type: 'string', id: 3 },
              } satisfies Record<string, FieldJson>,
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensorType'] } },
          fields: {
            tensorType: { type: 'Tensor', id: 1 },
            denotation: { type: 'string', id: 6 },
          } satisfies Record<string, FieldJson>,
          nested: {
            Tensor: {
              fields: {
                elemType: { type: 'int32', id: 1 },
                shape: { type: 'TensorShapeProto', id: 2 },
              } satisfies Record<string, FieldJson>,
            },
          },
        },
        OperatorSetIdProto: {
          fields: {
            domain: { type: 'string', id: 1 },
            version: { type: 'int64', id: 2 },
          } satisfies Record<string, FieldJson>,
        },
      },
    },
  },
};

// protobufjs gives JSON-defined types proto3 semantics unless told otherwise; onnx.proto is proto2, and
// its explicit presence matters: an INT attribute of 0 or a dim_value of 0 must still be written.
for (const message of Object.values(schema.nested.onnx.nested)) Object.assign(message, { edition: 'proto2' });
const root = Root.fromJSON(schema);
const ModelType: Type = root.lookupType('onnx.ModelProto');
const ValueInfoType: Type = root.lookupType('onnx.ValueInfoProto');
const OpsetType: Type = root.lookupType('onnx.OperatorSetIdProto');

const conversion: IConversionOptions = {
  longs: Number,
  arrays: true,
  defaults: false,
};

// ---------------------------------------------------------------------------------------------------
// Encode / decode

/** Serialises a model. The result is a fresh buffer; tensor bytes are copied into it once. */
export function encodeModel(model: ModelProto): Uint8Array {
  const err = ModelType.verify(model);
  if (err) throw new Error(`Invalid ModelProto: ${err}`);
  return ModelType.encode(model).finish();
}

/**
 * Parses a whole model, initializers included (their bytes stay views into `bytes`). Throws on
 * malformed input.
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const message = ModelType.decode(bytes);
  return toPlainBytes(ModelType.toObject(message, conversion)) as unknown as ModelProto;
}

/** The graph's interface, as `readModelSignature` returns it. */
export interface ModelSignature {
  irVersion: number;
  opsetImport: OperatorSetIdProto[];
  graphName?: string;
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  /** Graph inputs that are really initializers (IR < 4 style) are listed in `inputs` too; names here. */
  initializerNames: string[];
}

const WIRE_LENGTH_DELIMITED = 2;

/**
 * Reads only what is needed to check a model's contract: IR version, opsets and the graph's input and
 * output ValueInfos. Nodes and initializer payloads are skipped on the wire, so this costs little even
 * for a model with embedded weights.
 */
export function readModelSignature(bytes: Uint8Array): ModelSignature {
  const reader = Reader.create(bytes);
  const signature: ModelSignature = {
    irVersion: 0,
    opsetImport: [],
    inputs: [],
    outputs: [],
    initializerNames: [],
  };
  let sawGraph = false;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 0) {
      signature.irVersion = Number(reader.int64());
    } else if (field === 8 && wire === WIRE_LENGTH_DELIMITED) {
      const opset = OpsetType.toObject(OpsetType.decode(reader, reader.uint32()), conversion);
      signature.opsetImport.push(opset as unknown as OperatorSetIdProto);
    } else if (field === 7 && wire === WIRE_LENGTH_DELIMITED) {
      sawGraph = true;
      readGraphSignature(reader, reader.uint32(), signature);
    } else {
      reader.skipType(wire);
    }
  }
  if (!sawGraph) throw new Error('The model has no graph.');
  return signature;
}

function readGraphSignature(reader: Reader, length: number, into: ModelSignature): void {
  const end = reader.pos + length;
  while (reader.pos < end) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if ((field === 11 || field === 12) && wire === WIRE_LENGTH_DELIMITED) {
      const info = ValueInfoType.toObject(ValueInfoType.decode(reader, reader.uint32()), conversion);
      (field === 11 ? into.inputs : into.outputs).push(info as unknown as ValueInfoProto);
    } else if (field === 2 && wire === WIRE_LENGTH_DELIMITED) {
      into.graphName = reader.string();
    } else if (field === 5 && wire === WIRE_LENGTH_DELIMITED) {
      into.initializerNames.push(readTensorName(reader, reader.uint32()));
    } else {
      reader.skipType(wire);
    }
  }
  if (reader.pos !== end) throw new Error('Malformed GraphProto: field overruns its length.');
}

function readTensorName(reader: Reader, length: number): string {
  const end = reader.pos + length;
  let name = '';
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag >>> 3 === 8 && (tag & 7) === WIRE_LENGTH_DELIMITED) name = reader.string();
    else reader.skipType(tag & 7);
  }
  return name;
}

/** Node's Buffer subclass breaks deepStrictEqual against Uint8Array and adds nothing here: re-view it. */
function toPlainBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    return Object.getPrototypeOf(value) === Uint8Array.prototype
      ? value
      : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (Array.isArray(value)) return typeof value[0] === 'object' ? value.map(toPlainBytes) : value;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toPlainBytes(v);
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------
// Helpers for building messages

/** A TensorProto with every repeated field present, as encode/decode expect. */
export function tensorProto(fields: Partial<TensorProto> & Pick<TensorProto, 'dims' | 'dataType'>): TensorProto {
  return {
    floatData: [],
    int32Data: [],
    int64Data: [],
    doubleData: [],
    externalData: [],
    ...fields,
  };
}

/** A tensor ValueInfo; string dims become symbolic (dim_param), numbers static (dim_value). */
export function tensorValueInfo(
  name: string,
  elemType: number,
  dims: readonly (number | string)[] | undefined,
): ValueInfoProto {
  const tensorType: TypeProtoTensor = { elemType };
  if (dims !== undefined) {
    tensorType.shape = {
      dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
    };
  }
  return { name, type: { tensorType } };
}

/** Dims of a ValueInfo as numbers (static) and strings (symbolic or unknown, unknown → '?'). */
export function valueInfoDims(info: ValueInfoProto): (number | string)[] | undefined {
  const shape = info.type?.tensorType?.shape;
  if (shape === undefined) return undefined;
  return shape.dim.map((d) => d.dimValue ?? d.dimParam ?? '?');
}

// ---------------------------------------------------------------------------------------------------
// External data

export interface ExternaliseOptions {
  /** File name of the weights, relative to the .onnx file (onnx requires a relative POSIX path). */
  location: string;
  /** Tensors with fewer raw bytes stay inline (shape constants, small biases). Default 1024. */
  minBytes?: number;
  /** Offset alignment in the data file; onnx recommends the page size so the file can be mapped. */
  alignment?: number;
}

export interface ExternalDataChunk {
  offset: number;
  bytes: Uint8Array;
}

export interface ExternalisedModel {
  model: ModelProto;
  location: string;
  /** In offset order, non-overlapping; gaps between them are zero padding. */
  chunks: ExternalDataChunk[];
  /** Size of the data file. */
  totalBytes: number;
}

/** `t` as a tensor whose bytes live in the external file `location` at `offset`. */
function externalTensor(t: TensorProto, location: string, offset: number, length: number): TensorProto {
  const moved: TensorProto = {
    ...t,
    dataLocation: DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(length) },
    ],
  };
  delete moved.rawData;
  return moved;
}

/**
 * Moves the raw data of large top-level initializers into an external data layout. The input model is
 * not modified; the returned one shares everything but the rewritten tensors.
 */
export function externaliseTensors(model: ModelProto, options: ExternaliseOptions): ExternalisedModel {
  const { location } = options;
  if (isAbsolute(location) || normalize(location).startsWith('..')) {
    throw new Error(`External data location must be relative and inside the model's folder: ${location}`);
  }
  const minBytes = options.minBytes ?? 1024;
  const alignment = options.alignment ?? 4096;
  const graph = model.graph;
  if (graph === undefined) throw new Error('The model has no graph.');
  const chunks: ExternalDataChunk[] = [];
  let offset = 0;
  const initializer = graph.initializer.map((t) => {
    const raw = t.rawData;
    if (raw === undefined || raw.byteLength < minBytes) return t;
    offset = Math.ceil(offset / alignment) * alignment;
    chunks.push({ offset, bytes: raw });
    const moved = externalTensor(t, location, offset, raw.byteLength);
    offset += raw.byteLength;
    return moved;
  });
  return { model: { ...model, graph: { ...graph, initializer } }, location, chunks, totalBytes: offset };
}

/**
 * An initializer whose bytes are produced only when the model is written (weights streamed from a
 * checkpoint). Its TensorProto in the model carries dims, type and name but no data.
 */
export interface DeferredTensorBytes {
  /** The exact size `load` must return; checked, since a wrong size would corrupt the data file's layout. */
  readonly byteLength: number;
  load(): Promise<Uint8Array>;
}

export interface WriteModelOptions {
  externalData?: ExternaliseOptions;
  /** Initializers (by name) whose bytes `load` supplies at write time, one at a time. */
  deferred?: ReadonlyMap<string, DeferredTensorBytes>;
  /** Checked before each initializer is placed; an abort rejects with the signal's reason (the files are left partial). */
  signal?: AbortSignal;
  /** Called after each initializer's bytes are placed (written out or inlined). */
  onTensor?: (tensor: { name: string; bytes: number }) => void;
}

/**
 * Writes `model` to `modelPath`; with `externalData`, large initializers go to a side file next to it,
 * written chunk by chunk so no single buffer holds all the weights. Deferred initializers are loaded
 * one at a time and dropped once written, so peak memory is the largest tensor, not the model.
 */
export async function writeModel(
  modelPath: string,
  model: ModelProto,
  options: WriteModelOptions = {},
): Promise<{ modelBytes: number; dataBytes: number }> {
  await mkdir(dirname(modelPath), { recursive: true });
  const graph = model.graph;
  if (graph === undefined) throw new Error('The model has no graph.');
  const deferred = options.deferred ?? new Map<string, DeferredTensorBytes>();
  for (const name of deferred.keys()) {
    if (!graph.initializer.some((t) => t.name === name)) throw new Error(`Deferred tensor ${name} is not an initializer`);
  }
  const bytesOf = async (t: TensorProto): Promise<Uint8Array | undefined> => {
    if (options.signal?.aborted) throw options.signal.reason ?? new Error('Aborted');
    const lazy = t.name === undefined ? undefined : deferred.get(t.name);
    if (lazy === undefined) return t.rawData;
    const bytes = await lazy.load();
    if (bytes.byteLength !== lazy.byteLength) {
      throw new Error(`Deferred tensor ${t.name}: produced ${bytes.byteLength} bytes, declared ${lazy.byteLength}`);
    }
    return bytes;
  };
  const report = (t: TensorProto, bytes: number): void => options.onTensor?.({ name: t.name ?? '', bytes });

  let initializer: TensorProto[];
  let dataBytes = 0;
  const ext = options.externalData;
  if (ext === undefined) {
    initializer = [];
    for (const t of graph.initializer) {
      const raw = await bytesOf(t);
      initializer.push(raw === t.rawData ? t : { ...t, rawData: raw });
      report(t, raw?.byteLength ?? 0);
    }
  } else {
    const { location } = ext;
    if (isAbsolute(location) || normalize(location).startsWith('..')) {
      throw new Error(`External data location must be relative and inside the model's folder: ${location}`);
    }
    const minBytes = ext.minBytes ?? 1024;
    const alignment = ext.alignment ?? 4096;
    initializer = [];
    const file = await open(join(dirname(modelPath), location), 'w');
    try {
      let offset = 0;
      for (const t of graph.initializer) {
        const raw = await bytesOf(t);
        if (raw === undefined || raw.byteLength < minBytes) {
          initializer.push(raw === t.rawData ? t : { ...t, rawData: raw });
        } else {
          offset = Math.ceil(offset / alignment) * alignment;
          await writeFully(file, raw, offset);
          const moved = externalTensor(t, location, offset, raw.byteLength);
          initializer.push(moved);
          offset += raw.byteLength;
        }
        report(t, raw?.byteLength ?? 0);
      }
      dataBytes = offset;
    } finally {
      await file.close();
    }
  }
  const bytes = encodeModel({ ...model, graph: { ...graph, initializer } });
  const file = await open(modelPath, 'w');
  try {
    await writeFully(file, bytes, 0);
  } finally {
    await file.close();
  }
  return { modelBytes: bytes.byteLength, dataBytes };
}

/** FileHandle.write may write less than asked (large buffers, some file systems); loop until done. */
async function writeFully(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await file.write(bytes, done, bytes.byteLength - done, position + done);
    if (bytesWritten <= 0) throw new Error('Short write');
    done += bytesWritten;
  }
}
