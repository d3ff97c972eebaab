/**
 * A small typed builder for ONNX graphs, on top of proto.ts. It checks what onnxruntime would otherwise
 * reject with a less helpful message (or, worse, accept): duplicate value names, nodes reading values
 * that are not yet defined (nodes must be topologically sorted), initializer sizes that do not match
 * their dims, outputs nothing produces, and domains without an opset import.
 *
 * Initializer data is kept as the caller's typed array and only viewed as bytes when the model is
 * encoded, so building a graph with large weights does not copy them (see proto.ts for external data).
 */
import { endianness } from 'node:os';
import {
  AttributeType,
  DataType,
  encodeModel,
  tensorProto,
  tensorValueInfo,
  writeModel,
  type AttributeProto,
  type ExternaliseOptions,
  type GraphProto,
  type ModelProto,
  type DeferredTensorBytes,
  type NodeProto,
  type OperatorSetIdProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto.js';

// raw_data is little-endian by definition; typed arrays use the host's order.
if (endianness() !== 'LE') throw new Error('ONNX graph building assumes a little-endian host.');

export type ElementType = 'float32' | 'float16' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

/** A static size, or a symbolic name for a dynamic one. */
export type Dim = number | string;

/** Uint16Array holds IEEE half-precision bit patterns (float16): JS has no Float16Array in Node 20. */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array | Uint16Array;

/** Element types a deferred (streamed) initializer may have. */
export type DeferredElementType = 'float32' | 'float16';

/** Produces a deferred initializer's values when the model is written. */
export type DeferredLoader = () => Promise<Float32Array | Uint16Array>;

export interface TensorValue {
  readonly data: TensorData;
  readonly dims: readonly number[];
}

export type AttributeValue =
  | { readonly int: number }
  | { readonly float: number }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] }
  | { readonly string: string }
  | { readonly strings: readonly string[] }
  | { readonly tensor: TensorValue };

export type Attributes = Readonly<Record<string, AttributeValue>>;

export interface ModelOptions {
  /** Version of the default ('ai.onnx') operator set. */
  opset: number;
  producer: string;
  producerVersion?: string;
  /** Defaults to the IR version that introduced `opset`. */
  irVersion?: number;
  docString?: string;
  /** Stored as ModelProto.metadata_props. */
  metadata?: Readonly<Record<string, string>>;
  /** Operator sets for nodes in other domains. */
  extraOpsets?: readonly OperatorSetIdProto[];
}

const elementCodes: Record<ElementType, number> = {
  float32: DataType.FLOAT,
  float16: DataType.FLOAT16,
  float64: DataType.DOUBLE,
  int64: DataType.INT64,
  int32: DataType.INT32,
  int8: DataType.INT8,
  uint8: DataType.UINT8,
  bool: DataType.BOOL,
};

export function elementTypeCode(type: ElementType): number {
  return elementCodes[type];
}

/** The ElementType for an ONNX data type code, or undefined for types this project does not use. */
export function elementTypeName(code: number): ElementType | undefined {
  for (const [name, value] of Object.entries(elementCodes)) if (value === code) return name as ElementType;
  return undefined;
}

function dataTypeOf(data: TensorData): number {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Float64Array) return DataType.DOUBLE;
  if (data instanceof BigInt64Array) return DataType.INT64;
  if (data instanceof Int32Array) return DataType.INT32;
  if (data instanceof Int8Array) return DataType.INT8;
  if (data instanceof Uint16Array) return DataType.FLOAT16;
  return DataType.UINT8;
}

/** int64 tensors are the common case for shapes, axes and indices; this saves writing BigInt literals. */
export function int64s(values: readonly number[]): BigInt64Array {
  return BigInt64Array.from(values, (v) => {
    if (!Number.isSafeInteger(v)) throw new Error(`Not an integer: ${v}`);
    return BigInt(v);
  });
}

/** The IR version that shipped with each default-domain opset (onnx/docs/Versioning.md). */
function irVersionFor(opset: number): number {
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  return 11;
}

function makeTensor(name: string | undefined, value: TensorValue): TensorProto {
  const count = value.dims.reduce((a, b) => a * b, 1);
  for (const d of value.dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`Tensor ${name ?? ''}: bad dimension ${d}`);
  }
  if (count !== value.data.length) {
    throw new Error(
      `Tensor ${name ?? ''}: dims [${value.dims.join(',')}] hold ${count} elements, data has ${value.data.length}`,
    );
  }
  const { data } = value;
  const t = tensorProto({
    dims: [...value.dims],
    dataType: dataTypeOf(data),
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  });
  if (name !== undefined) t.name = name;
  return t;
}

const utf8 = new TextEncoder();

function makeAttribute(name: string, value: AttributeValue): AttributeProto {
  const a: AttributeProto = {
    name,
    type: AttributeType.UNDEFINED,
    floats: [],
    ints: [],
    strings: [],
    tensors: [],
    graphs: [],
  };
  const checkInt = (v: number): number => {
    if (!Number.isSafeInteger(v)) throw new Error(`Attribute ${name}: ${v} is not an integer`);
    return v;
  };
  if ('int' in value) {
    a.type = AttributeType.INT;
    a.i = checkInt(value.int);
  } else if ('float' in value) {
    a.type = AttributeType.FLOAT;
    a.f = value.float;
  } else if ('ints' in value) {
    a.type = AttributeType.INTS;
    a.ints = value.ints.map(checkInt);
  } else if ('floats' in value) {
    a.type = AttributeType.FLOATS;
    a.floats = [...value.floats];
  } else if ('string' in value) {
    a.type = AttributeType.STRING;
    a.s = utf8.encode(value.string);
  } else if ('strings' in value) {
    a.type = AttributeType.STRINGS;
    a.strings = value.strings.map((s) => utf8.encode(s));
  } else {
    a.type = AttributeType.TENSOR;
    a.t = makeTensor(undefined, value.tensor);
  }
  return a;
}

export class GraphBuilder {
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly nodes: NodeProto[] = [];
  /** Every value name defined so far, in definition order (graph inputs, initializers, node outputs). */
  private readonly defined = new Set<string>();
  private readonly usedNames = new Set<string>();
  private readonly deferred = new Map<string, DeferredTensorBytes>();
  private counter = 0;

  constructor(readonly name: string) {}

  input(name: string, type: ElementType, dims: readonly Dim[]): string {
    this.define(name);
    this.inputs.push(tensorValueInfo(name, elementCodes[type], dims));
    return name;
  }

  /** Declares a graph output; it must be defined (by a node, input or initializer) before toModel. */
  output(name: string, type: ElementType, dims?: readonly Dim[]): string {
    if (this.outputs.some((o) => o.name === name)) throw new Error(`Output ${name} declared twice`);
    this.outputs.push(tensorValueInfo(name, elementCodes[type], dims));
    return name;
  }

  initializer(name: string, data: TensorData, dims: readonly number[]): string {
    this.define(name);
    this.initializers.push(makeTensor(name, { data, dims }));
    return name;
  }

  /**
   * An initializer whose values `load` produces only when the model is written (see writeModel), so a
   * graph over gigabytes of weights can be built without holding them. Such a graph can only be
   * written with writeModel; toModel/toModelProto refuse it.
   */
  deferredInitializer(name: string, type: DeferredElementType, dims: readonly number[], load: DeferredLoader): string {
    for (const d of dims) {
      if (!Number.isSafeInteger(d) || d < 0) throw new Error(`Tensor ${name}: bad dimension ${d}`);
    }
    const count = dims.reduce((a, b) => a * b, 1);
    const itemSize = type === 'float32' ? 4 : 2;
    this.define(name);
    this.initializers.push(tensorProto({ dims: [...dims], dataType: elementCodes[type], name }));
    this.deferred.set(name, {
      byteLength: count * itemSize,
      load: async () => {
        const data = await load();
        const ok = type === 'float32' ? data instanceof Float32Array : data instanceof Uint16Array;
        if (!ok || data.length !== count) {
          throw new Error(`Tensor ${name}: expected ${count} ${type} values, got ${data.length} (${data.constructor.name})`);
        }
        return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      },
    });
    return name;
  }

  /** Bytes of all initializers, deferred ones included: what writing the model will place, for progress. */
  get initializerBytes(): number {
    let sum = 0;
    for (const t of this.initializers) sum += t.rawData?.byteLength ?? this.deferred.get(t.name ?? '')?.byteLength ?? 0;
    return sum;
  }

  get initializerCount(): number {
    return this.initializers.length;
  }

  /** An initializer with a generated name (`hint` makes the name readable in Netron and error messages). */
  constant(data: TensorData, dims: readonly number[], hint = 'const'): string {
    return this.initializer(this.freshName(hint), data, dims);
  }

  /**
   * Adds a node. `outputs` is either the output names, or how many outputs to create with generated
   * names. Use '' in `inputs` for an omitted optional input. Returns the output names.
   */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[] | number,
    attributes: Attributes = {},
    domain = '',
  ): string[] {
    for (const input of inputs) {
      if (input !== '' && !this.defined.has(input)) {
        throw new Error(`${opType} reads '${input}', which is not defined yet`);
      }
    }
    const names =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, () => this.freshName(opType.toLowerCase()))
        : [...outputs];
    for (const n of names) this.define(n);
    const node: NodeProto = {
      input: [...inputs],
      output: names,
      name: this.freshName(`${opType}_node`),
      opType,
      attribute: Object.entries(attributes).map(([k, v]) => makeAttribute(k, v)),
    };
    if (domain !== '') node.domain = domain;
    this.nodes.push(node);
    return names;
  }

  /** A single-output node with a generated output name. */
  op(opType: string, inputs: readonly string[], attributes: Attributes = {}, domain = ''): string {
    const [out] = this.node(opType, inputs, 1, attributes, domain);
    return out as string;
  }

  toGraph(): GraphProto {
    for (const o of this.outputs) {
      if (!this.defined.has(o.name)) throw new Error(`Graph output '${o.name}' is never produced`);
    }
    return {
      node: [...this.nodes],
      name: this.name,
      initializer: [...this.initializers],
      input: [...this.inputs],
      output: [...this.outputs],
      valueInfo: [],
    };
  }

  toModelProto(options: ModelOptions): ModelProto {
    if (this.deferred.size > 0) throw new Error(`Graph ${this.name} has deferred initializers: write it with writeModel`);
    return this.modelProto(options);
  }

  private modelProto(options: ModelOptions): ModelProto {
    const graph = this.toGraph();
    const opsetImport: OperatorSetIdProto[] = [{ domain: '', version: options.opset }, ...(options.extraOpsets ?? [])];
    for (const node of graph.node) {
      const domain = node.domain ?? '';
      if (!opsetImport.some((o) => (o.domain ?? '') === domain)) {
        throw new Error(`Node ${node.opType} uses domain '${domain}', which has no opset import`);
      }
    }
    const model: ModelProto = {
      irVersion: options.irVersion ?? irVersionFor(options.opset),
      opsetImport,
      producerName: options.producer,
      graph,
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    };
    if (options.producerVersion !== undefined) model.producerVersion = options.producerVersion;
    if (options.docString !== undefined) model.docString = options.docString;
    return model;
  }

  toModel(options: ModelOptions): Uint8Array {
    return encodeModel(this.toModelProto(options));
  }

  /**
   * Writes the model, optionally with its large initializers in a side file (see proto.ts). Deferred
   * initializers are loaded here, one at a time, in the order they were declared.
   */
  writeModel(
    modelPath: string,
    options: ModelOptions & {
      externalData?: ExternaliseOptions;
      signal?: AbortSignal;
      onTensor?: (tensor: { name: string; bytes: number }) => void;
    },
  ): Promise<{ modelBytes: number; dataBytes: number }> {
    const { externalData, signal, onTensor, ...modelOptions } = options;
    return writeModel(modelPath, this.modelProto(modelOptions), {
      ...(externalData ? { externalData } : {}),
      ...(signal ? { signal } : {}),
      ...(onTensor ? { onTensor } : {}),
      deferred: this.deferred,
    });
  }

  private define(name: string): void {
    if (name === '') throw new Error('Value names must not be empty');
    if (this.defined.has(name)) throw new Error(`Value '${name}' is defined twice`);
    this.defined.add(name);
    this.usedNames.add(name);
  }

  private freshName(hint: string): string {
    let name: string;
    do name = `${hint}_${this.counter++}`;
    while (this.usedNames.has(name));
    this.usedNames.add(name);
    return name;
  }
}
