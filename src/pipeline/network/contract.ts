/**
 * TripoSR's model interface, and the check that a pair of ONNX sessions honours it, reported as every
 * difference in words a user can act on.
 */
import { readFile } from 'node:fs/promises';
import type * as ort from 'onnxruntime-node';
import { UserError } from '../errors.js';
import { elementTypeName } from './onnx/graphBuilder.js';
import { readModelSignature, valueInfoDims, type ModelSignature } from './onnx/proto.js';


/** A dimension: a number is static; a string names a dynamic dimension. */
type ContractDim = number | string;

interface TensorContract {
  readonly name: string;
  readonly type: 'float32';
  readonly dims: readonly ContractDim[];
}

interface SessionContract {
  readonly inputs: readonly TensorContract[];
  readonly outputs: readonly TensorContract[];
}

export const IMAGE_SIZE = 512;
export const SCENE_CODES_DIMS = [1, 3, 40, 64, 64] as const;
export const SCENE_CODES_LENGTH = SCENE_CODES_DIMS.reduce((a: number, b: number) => a * b, 1);
export const IMAGE_LENGTH = 3 * IMAGE_SIZE * IMAGE_SIZE;

export const ENCODER_CONTRACT: SessionContract = {
  inputs: [{ name: 'image', type: 'float32', dims: [1, 3, IMAGE_SIZE, IMAGE_SIZE] }],
  outputs: [{ name: 'scene_codes', type: 'float32', dims: SCENE_CODES_DIMS }],
};

export const DECODER_CONTRACT: SessionContract = {
  inputs: [
    { name: 'scene_codes', type: 'float32', dims: SCENE_CODES_DIMS },
    { name: 'points', type: 'float32', dims: [1, 'P', 3] },
  ],
  outputs: [
    { name: 'density', type: 'float32', dims: [1, 'P', 1] },
    { name: 'color', type: 'float32', dims: [1, 'P', 3] },
  ],
};

/** What a session or the model file says about one input or output. `dims` undefined: unknown rank. */
interface FoundTensor {
  readonly name: string;
  readonly type: string;
  readonly dims: readonly (number | string)[] | undefined;
}

function describe(type: string, dims: readonly (number | string)[] | undefined): string {
  if (dims === undefined) return `${type} [?]`;
  return `${type} [${dims.map((d) => (d === '' ? '?' : String(d))).join(',')}]`;
}

function dimsMatch(expected: readonly ContractDim[], found: readonly (number | string)[]): boolean {
  if (expected.length !== found.length) return false;
  return expected.every((e, i) => {
    const f = found[i];
    // A static expectation is met by the same number or by any dynamic dim (it will accept the size);
    // a dynamic expectation needs a dynamic dim, since we will feed many sizes.
    return typeof e === 'number' ? f === e || typeof f === 'string' : typeof f === 'string';
  });
}

/** Every difference between `found` and `expected`, as lines for the user. Empty when they match. */
function compareSide(
  which: 'encoder' | 'decoder',
  side: 'input' | 'output',
  expected: readonly TensorContract[],
  found: readonly FoundTensor[],
): string[] {
  const issues: string[] = [];
  const unmatchedFound = found.filter((f) => !expected.some((e) => e.name === f.name));
  const unmatchedExpected = expected.filter((e) => !found.some((f) => f.name === e.name));
  for (const e of expected) {
    const f = found.find((x) => x.name === e.name);
    if (f === undefined) continue;
    const typeOk = f.type === e.type;
    const dimsOk = f.dims === undefined || dimsMatch(e.dims, f.dims);
    if (!typeOk || !dimsOk) {
      issues.push(`${which} ${side} '${f.name}' is ${describe(f.type, f.dims)} — expected ${describe(e.type, e.dims)}`);
    }
  }
  // A renamed tensor is the likeliest cause of a missing one, so pair them up in order.
  unmatchedExpected.forEach((e, i) => {
    const f = unmatchedFound[i];
    if (f !== undefined) {
      issues.push(
        `${which} ${side} '${f.name}' (${describe(f.type, f.dims)}) — expected '${e.name}' ${describe(e.type, e.dims)}`,
      );
    } else {
      issues.push(`${which} ${side} '${e.name}' ${describe(e.type, e.dims)} is missing`);
    }
  });
  for (const f of unmatchedFound.slice(unmatchedExpected.length)) {
    issues.push(`${which} has an unexpected ${side} '${f.name}' (${describe(f.type, f.dims)})`);
  }
  return issues;
}

function fromMetadata(metadata: readonly ort.InferenceSession.ValueMetadata[]): FoundTensor[] {
  return metadata.map((m) =>
    m.isTensor ? { name: m.name, type: m.type, dims: [...m.shape] } : { name: m.name, type: 'non-tensor', dims: [] },
  );
}

function fromSignature(infos: ModelSignature['inputs'], initializers: ReadonlySet<string>): FoundTensor[] {
  return infos
    .filter((i) => !initializers.has(i.name))
    .map((i) => {
      const elem = i.type?.tensorType?.elemType;
      const type = elem === undefined ? 'non-tensor' : (elementTypeName(elem) ?? `type ${elem}`);
      return { name: i.name, type, dims: valueInfoDims(i) };
    });
}

/**
 * onnxruntime reports an unknown shape as [] (indistinguishable from a scalar), so when it does, read
 * the declared shapes from the file instead; only the graph's input/output ValueInfos are decoded.
 */
async function sessionInterface(
  session: ort.InferenceSession,
  path: string,
): Promise<{ inputs: FoundTensor[]; outputs: FoundTensor[] }> {
  const inputs = fromMetadata(session.inputMetadata);
  const outputs = fromMetadata(session.outputMetadata);
  const needsFile = [...inputs, ...outputs].some((t) => t.type !== 'non-tensor' && t.dims?.length === 0);
  if (!needsFile) return { inputs, outputs };
  let signature: ModelSignature;
  try {
    signature = readModelSignature(await readFile(path));
  } catch {
    return { inputs, outputs }; // onnxruntime read it, so this is our reader's limit: trust the session
  }
  const init = new Set(signature.initializerNames);
  return { inputs: fromSignature(signature.inputs, init), outputs: fromSignature(signature.outputs, init) };
}

export async function checkContract(
  sessions: { encoder: ort.InferenceSession; decoder: ort.InferenceSession },
  paths: { encoder: string; decoder: string },
  dir: string,
): Promise<void> {
  const enc = await sessionInterface(sessions.encoder, paths.encoder);
  const dec = await sessionInterface(sessions.decoder, paths.decoder);
  const issues = [
    ...compareSide('encoder', 'input', ENCODER_CONTRACT.inputs, enc.inputs),
    ...compareSide('encoder', 'output', ENCODER_CONTRACT.outputs, enc.outputs),
    ...compareSide('decoder', 'input', DECODER_CONTRACT.inputs, dec.inputs),
    ...compareSide('decoder', 'output', DECODER_CONTRACT.outputs, dec.outputs),
  ];
  if (issues.length > 0) {
    throw new UserError(
      `The model in ${dir} does not match TripoSR's interface: ${issues.join('; ')}.`,
      [
        'Expected encoder image float32 [1,3,512,512] → scene_codes float32 [1,3,40,64,64], and decoder ' +
          'scene_codes + points float32 [1,P,3] → density float32 [1,P,1], color float32 [1,P,3]. ' +
          'Use an export made for Image to 3D; if this is the built-in stand-in, ',
        { action: 'reinstall' },
        '.',
      ],
      'model-invalid',
    );
  }
}
