/**
 * Mesh file → CAD formats: axes and units brought to each format's convention, size and position
 * kept, the source never replaced, nothing left behind on failure. Outputs are read back by
 * independent readers (occt-import-js, gltf-validator and three.js's GLTFLoader, dxf-parser).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import DxfParser from 'dxf-parser';
import { convertMeshFile } from '../../src/pipeline/convert.js';
import { cadToGltf, toCadFrame } from '../../src/pipeline/mesh/transform.js';
import { UserError } from '../../src/pipeline/errors.js';
import { CancelledError } from '../../src/pipeline/progress.js';
import { encodeGlb } from '../../src/pipeline/writers/glb.js';
import { meshVolume, unitCube } from '../fixtures/meshes.js';

interface OcctMesh {
  readonly attributes: { readonly position: { readonly array: readonly number[] } };
  readonly index: { readonly array: readonly number[] };
}
interface Occt {
  ReadStepFile(content: Uint8Array, params: null): { readonly success: boolean; readonly meshes: readonly OcctMesh[] };
}
interface ValidatorReport {
  readonly issues: { readonly numErrors: number; readonly numWarnings: number; readonly messages: readonly { message: string }[] };
}
const occtFactory = require('occt-import-js') as () => Promise<Occt>;
const validator = require('gltf-validator') as { validateBytes(data: Uint8Array): Promise<ValidatorReport> };

/**
 * A binary STL written by hand: a box from `min` to `max`, two facets per side, every facet with its
 * own three corners (STL shares nothing), so the reader has to weld it into a closed solid.
 */
function boxStl(min: [number, number, number], max: [number, number, number]): Uint8Array {
  const cube = unitCube(1);
  const triangles = cube.indices.length / 3;
  const bytes = new Uint8Array(84 + 50 * triangles);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode('box written by convert.test.ts'));
  view.setUint32(80, triangles, true);
  for (let t = 0; t < triangles; t++) {
    const at = 84 + 50 * t;
    for (let corner = 0; corner < 3; corner++) {
      const v = cube.indices[3 * t + corner]!;
      for (let axis = 0; axis < 3; axis++) {
        const unit = cube.positions[3 * v + axis]!;
        view.setFloat32(at + 12 + 12 * corner + 4 * axis, min[axis]! + unit * (max[axis]! - min[axis]!), true);
      }
    }
  }
  return bytes;
}

/** A Y-up OBJ in metres: a 0.1 × 0.2 × 0.3 m box whose tallest side (0.2) runs along Y. */
function yUpObj(): string {
  const cube = unitCube(1);
  const size = [0.1, 0.2, 0.3];
  const lines = ['# Y-up box in metres'];
  for (let v = 0; v < cube.positions.length / 3; v++) {
    lines.push(`v ${[0, 1, 2].map((a) => cube.positions[3 * v + a]! * size[a]!).join(' ')}`);
  }
  for (let t = 0; t < cube.indices.length; t += 3) {
    lines.push(`f ${cube.indices[t]! + 1} ${cube.indices[t + 1]! + 1} ${cube.indices[t + 2]! + 1}`);
  }
  return `${lines.join('\n')}\n`;
}

function bounds(positions: ArrayLike<number>): { min: number[]; max: number[] } {
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < positions.length; i++) {
    min[i % 3] = Math.min(min[i % 3]!, positions[i]!);
    max[i % 3] = Math.max(max[i % 3]!, positions[i]!);
  }
  return { min, max };
}

function assertClose(actual: readonly number[], expected: readonly number[], tolerance: number, what: string): void {
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]!) <= tolerance, `${what}: ${actual.join(', ')} vs ${expected.join(', ')}`));
}

async function stepSolidVolume(file: string): Promise<{ volume: number; min: number[]; max: number[] }> {
  const occt = await occtFactory();
  const result = occt.ReadStepFile(new Uint8Array(await fsp.readFile(file)), null);
  assert.ok(result.success, 'OpenCascade reads the STEP file');
  let volume = 0;
  const all: number[] = [];
  for (const m of result.meshes) {
    volume += meshVolume(m.attributes.position.array, m.index.array);
    all.push(...m.attributes.position.array);
  }
  return { volume, ...bounds(all) };
}

async function glbPositions(file: string): Promise<Float32Array> {
  const bytes = new Uint8Array(await fsp.readFile(file));
  const report = await validator.validateBytes(bytes);
  assert.equal(report.issues.numErrors, 0, report.issues.messages.map((m) => m.message).join('\n'));
  const { GLTFLoader } = await import('three/examples/jsm/loaders/GLTFLoader.js');
  const gltf = await new GLTFLoader().parseAsync(bytes.slice().buffer, '');
  let positions: Float32Array | undefined;
  gltf.scene.traverse((object) => {
    if ('isMesh' in object && object.isMesh) {
      positions = (object as unknown as { geometry: import('three').BufferGeometry }).geometry.getAttribute('position').array as Float32Array;
    }
  });
  assert.ok(positions);
  return positions;
}

describe('convertMeshFile', () => {
  let root: string;
  let caseNumber = 0;
  const freshDir = async (): Promise<string> => {
    const dir = path.join(root, `case${++caseNumber}`);
    await fsp.mkdir(dir);
    return dir;
  };

  before(async () => {
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'i3d-convert-'));
  });
  after(async () => {
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('STL (Z up, mm) to STEP, DXF and GLB keeps size and position, and welds the facets into a solid', async () => {
    const dir = await freshDir();
    const source = path.join(dir, 'bracket.stl');
    const stl = boxStl([10, 20, 30], [50, 80, 45]);
    await fsp.writeFile(source, stl);
    const result = await convertMeshFile({ meshPath: source, formats: ['step', 'dxf', 'glb'], existing: 'fail' });

    assert.deepEqual(result.files, ['bracket.step', 'bracket.dxf', 'bracket.glb'].map((f) => path.join(dir, f)));
    assert.equal(result.sourceFormat, 'stl');
    assert.equal(result.metrics.vertices, 8, 'the 36 facet corners weld into 8 vertices');
    assert.ok(result.metrics.watertight);
    assert.ok(Math.abs(result.metrics.volume - 40 * 60 * 15) < 1e-3);
    assert.match(result.notes[0]!, /STL, Z up, in mm/);
    assert.deepEqual(new Uint8Array(await fsp.readFile(source)), stl, 'the source is untouched');

    const step = await stepSolidVolume(result.files[0]!);
    assert.ok(Math.abs(step.volume - 36000) / 36000 < 1e-3, `STEP volume ${step.volume}`);
    assertClose(step.min, [10, 20, 30], 1e-3, 'STEP lower corner');
    assertClose(step.max, [50, 80, 45], 1e-3, 'STEP upper corner');

    const dxf = new DxfParser().parseSync(await fsp.readFile(result.files[1]!, 'utf8'));
    assert.ok(dxf && dxf.entities.length === 12, 'twelve 3DFACEs');

    // glTF: Y up, metres; CAD +Z becomes glTF +Y and CAD −Y the front, glTF +Z.
    const gltf = bounds(await glbPositions(result.files[2]!));
    assertClose(gltf.min, [0.01, 0.03, -0.08], 1e-6, 'GLB lower corner');
    assertClose(gltf.max, [0.05, 0.045, -0.02], 1e-6, 'GLB upper corner');
  });

  it('a Y-up OBJ in metres stands up in the CAD frame, in millimetres', async () => {
    const dir = await freshDir();
    const source = path.join(dir, 'tall.obj');
    await fsp.writeFile(source, yUpObj());
    const result = await convertMeshFile({ meshPath: source, formats: ['step'], up: 'y', units: 'm', existing: 'fail' });
    const size = [0, 1, 2].map((a) => result.metrics.bbox.max[a]! - result.metrics.bbox.min[a]!);
    assertClose(size, [100, 300, 200], 1e-3, 'x stays, depth is the old z, height the old y');
    const step = await stepSolidVolume(result.files[0]!);
    assert.ok(Math.abs(step.volume - 100 * 200 * 300) / 6e6 < 1e-3, `STEP volume ${step.volume}`);
    assert.ok(step.max[2]! - step.min[2]! > 199.9, 'the 0.2 m side is vertical');
  });

  it('GLB in (Y up, metres) comes back out as the same glTF geometry after a round trip through the CAD frame', async () => {
    const dir = await freshDir();
    const cad = { positions: new Float32Array([0, 0, 0, 30, 0, 0, 0, 20, 0, 0, 0, 10]), indices: new Uint32Array([0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3]) };
    const gltf = cadToGltf(cad);
    const source = path.join(dir, 'part.glb');
    await fsp.writeFile(source, encodeGlb(gltf, { generator: 'convert test' }));
    const result = await convertMeshFile({ meshPath: source, formats: ['glb', 'step'], existing: 'fail' });
    assert.deepEqual(result.skipped, ['glb'], 'the source format is not written over the source');
    assert.ok(result.notes.some((n) => /GLB not written/.test(n)));
    assert.deepEqual(result.files, [path.join(dir, 'part.step')]);
    assertClose([...result.metrics.bbox.max], [30, 20, 10], 1e-4, 'back in the CAD frame, millimetres');
    assertClose([...toCadFrame(gltf, 'y', 1000).positions], [...cad.positions], 1e-4, 'toCadFrame inverts cadToGltf');
  });

  it('refuses when the only format asked for is the source itself', async () => {
    const dir = await freshDir();
    const source = path.join(dir, 'only.stl');
    await fsp.writeFile(source, boxStl([0, 0, 0], [1, 1, 1]));
    await assert.rejects(convertMeshFile({ meshPath: source, formats: ['stl'], existing: 'overwrite' }), (e: unknown) => {
      assert.ok(e instanceof UserError && e.code === 'invalid-option', String(e));
      return true;
    });
    assert.deepEqual(await fsp.readdir(dir), ['only.stl']);
  });

  it('an unreadable file writes nothing and says what is wrong', async () => {
    const dir = await freshDir();
    const source = path.join(dir, 'broken.stl');
    await fsp.writeFile(source, new Uint8Array(100).fill(7));
    await assert.rejects(convertMeshFile({ meshPath: source, formats: ['step', 'glb'], existing: 'fail' }), (e: unknown) => {
      assert.ok(e instanceof UserError && e.code === 'mesh-unreadable', String(e));
      assert.ok(e.message.includes(source));
      return true;
    });
    assert.deepEqual(await fsp.readdir(dir), ['broken.stl']);
  });

  it('an existing output is kept under the fail policy, numbered under suffix', async () => {
    const dir = await freshDir();
    const source = path.join(dir, 'box.stl');
    await fsp.writeFile(source, boxStl([0, 0, 0], [1, 1, 1]));
    await fsp.writeFile(path.join(dir, 'box.step'), 'mine');
    await assert.rejects(convertMeshFile({ meshPath: source, formats: ['step'], existing: 'fail' }), (e: unknown) => {
      assert.ok(e instanceof UserError && e.code === 'output-exists', String(e));
      return true;
    });
    assert.equal(await fsp.readFile(path.join(dir, 'box.step'), 'utf8'), 'mine');
    const result = await convertMeshFile({ meshPath: source, formats: ['step'], existing: 'suffix' });
    assert.deepEqual(result.files, [path.join(dir, 'box (2).step')]);
    assert.equal(await fsp.readFile(path.join(dir, 'box.step'), 'utf8'), 'mine');
  });

  it('a cancel leaves nothing behind', async () => {
    const dir = await freshDir();
    const source = path.join(dir, 'box.stl');
    await fsp.writeFile(source, boxStl([0, 0, 0], [1, 1, 1]));
    const abort = new AbortController();
    const run = convertMeshFile(
      { meshPath: source, formats: ['step', 'dxf', 'glb'], existing: 'fail' },
      { signal: abort.signal, onProgress: (p) => p.stage === 'write' && abort.abort() },
    );
    await assert.rejects(run, CancelledError);
    assert.deepEqual(await fsp.readdir(dir), ['box.stl']);
  });

  it('names a file it does not know by its extension', async () => {
    await assert.rejects(convertMeshFile({ meshPath: path.join(root, 'notes.txt'), formats: ['step'], existing: 'fail' }), (e: unknown) => {
      assert.ok(e instanceof UserError && e.code === 'invalid-option' && /notes\.txt/.test(e.message), String(e));
      return true;
    });
  });
});
