import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BufferGeometry, Object3D } from 'three';
import type { Mesh } from '../../src/pipeline/mesh/mesh.js';
import { vertexNormals } from '../../src/pipeline/mesh/normals.js';
import { encodeObj } from '../../src/pipeline/writers/obj.js';
import { encodePly } from '../../src/pipeline/writers/ply.js';
import { encodeStl } from '../../src/pipeline/writers/stl.js';
import { degenerateCube, gridSphere, icosphere, openBox, subdividedBox, unitCube, distinctIndexTriangles } from '../fixtures/meshes.js';
import { mulberry32 } from '../fixtures/numeric.js';

/*
 * The OBJ, STL and PLY writers, checked with readers that are not ours: three.js's OBJLoader,
 * STLLoader and PLYLoader, and VTK's readers through the system Python when it has them. Round trips
 * through our own readers are in readers.test.ts.
 */

const PYTHON = '/usr/bin/python3';
const OPTIONS = { name: 'part', generator: 'meshFormats test' };

const FIXTURES: Record<string, () => Mesh> = {
  cube: () => unitCube(10),
  icosphere: () => icosphere(3, 25),
  openBox: () => openBox(10),
  degenerate: () => degenerateCube(10),
  subdividedBox: () => subdividedBox(6, 30, 20, 10),
  normalsSphere: () => {
    const sphere = gridSphere(24, 12, 40);
    const colors = new Float32Array(sphere.positions.length);
    for (let i = 0; i < colors.length; i++) colors[i] = (i % 7) / 6;
    return { ...sphere, colors };
  },
};

// ---------------------------------------------------------------------------------------------
// Helpers


function cross(p: Float32Array, a: number, b: number, c: number): [number, number, number] {
  const u = [p[b * 3]! - p[a * 3]!, p[b * 3 + 1]! - p[a * 3 + 1]!, p[b * 3 + 2]! - p[a * 3 + 2]!];
  const v = [p[c * 3]! - p[a * 3]!, p[c * 3 + 1]! - p[a * 3 + 1]!, p[c * 3 + 2]! - p[a * 3 + 2]!];
  return [u[1]! * v[2]! - u[2]! * v[1]!, u[2]! * v[0]! - u[0]! * v[2]!, u[0]! * v[1]! - u[1]! * v[0]!];
}

/** Distinct-index triangles that also have area: what STL keeps. */
function areaTriangles(mesh: Mesh): number[] {
  const kept = distinctIndexTriangles(mesh);
  const out: number[] = [];
  for (let t = 0; t < kept.length; t += 3) {
    const n = cross(mesh.positions, kept[t]!, kept[t + 1]!, kept[t + 2]!);
    if (Math.hypot(...n) > 0) out.push(kept[t]!, kept[t + 1]!, kept[t + 2]!);
  }
  return out;
}

/** The sRGB decoding three.js applies to vertex colours it reads from OBJ and PLY files. */
function srgbToLinear(c: number): number {
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

function close(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected} (tolerance ${tolerance})`);
}

interface Loaded {
  readonly position: ArrayLike<number>;
  readonly normal?: ArrayLike<number>;
  readonly color?: ArrayLike<number>;
  readonly index?: ArrayLike<number>;
}

function attributesOf(geometry: BufferGeometry): Loaded {
  const get = (name: string): ArrayLike<number> | undefined =>
    geometry.getAttribute(name) ? (geometry.getAttribute(name).array as ArrayLike<number>) : undefined;
  return { position: get('position')!, normal: get('normal'), color: get('color'), index: geometry.getIndex()?.array as ArrayLike<number> | undefined };
}

async function loadObjWithThree(text: string): Promise<Loaded> {
  const { OBJLoader } = await import('three/examples/jsm/loaders/OBJLoader.js');
  const meshes: BufferGeometry[] = [];
  new OBJLoader().parse(text).traverse((object: Object3D) => {
    if ('isMesh' in object && object.isMesh) meshes.push((object as unknown as { geometry: BufferGeometry }).geometry);
  });
  assert.equal(meshes.length, 1, 'one mesh');
  return attributesOf(meshes[0]!);
}

async function loadStlWithThree(bytes: Uint8Array): Promise<Loaded> {
  const { STLLoader } = await import('three/examples/jsm/loaders/STLLoader.js');
  return attributesOf(new STLLoader().parse(bytes.slice().buffer));
}

async function loadPlyWithThree(bytes: Uint8Array): Promise<Loaded> {
  const { PLYLoader } = await import('three/examples/jsm/loaders/PLYLoader.js');
  return attributesOf(new PLYLoader().parse(bytes.slice().buffer));
}

/** The lines of an OBJ file that start with a keyword, split into tokens. */
function objLines(text: string, keyword: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${keyword} `))
    .map((line) => line.split(' ').slice(1));
}

// ---------------------------------------------------------------------------------------------
// OBJ

describe('encodeObj', () => {
  for (const [name, make] of Object.entries(FIXTURES)) {
    it(`${name}: three.js's OBJLoader reads the same triangles, colours and normals`, async () => {
      const mesh = make();
      const text = encodeObj(mesh, OPTIONS);
      const loaded = await loadObjWithThree(text);
      const kept = distinctIndexTriangles(mesh);
      assert.equal(loaded.position.length, kept.length * 3, 'corner count');
      const normals = mesh.normals ? vertexNormalsUnit(mesh.normals) : undefined;
      kept.forEach((v, corner) => {
        for (let k = 0; k < 3; k++) {
          const x = mesh.positions[v * 3 + k]!;
          // 6 decimals: at most 5e-7 off, plus the float32 rounding of the reader.
          close(loaded.position[corner * 3 + k]!, x, 5e-7 + Math.abs(x) * 1.2e-7, `corner ${corner} axis ${k}`);
          if (mesh.colors) {
            // three.js decodes sRGB to linear; 4 decimals are within 5e-5 before decoding.
            close(loaded.color![corner * 3 + k]!, srgbToLinear(mesh.colors[v * 3 + k]!), 2e-4, `colour of corner ${corner}`);
          }
          if (normals) close(loaded.normal![corner * 3 + k]!, normals[v * 3 + k]!, 1e-6, `normal of corner ${corner}`);
        }
      });
      if (!mesh.colors) assert.equal(loaded.color, undefined);
    });
  }

  it('writes a header, the object name, v/vn/f lines and no exponent or trailing zeros', () => {
    const sphere = icosphere(1, 25);
    const mesh = { ...sphere, normals: vertexNormals(sphere.positions, sphere.indices) };
    const text = encodeObj(mesh, { name: 'my\npart', generator: 'gen 1.0' });
    const lines = text.split('\n');
    assert.equal(lines[0], '# gen 1.0');
    assert.match(text, /^# Units: millimetres, Z up$/m);
    assert.ok(lines.includes('o my part'), 'name on one line');
    const v = objLines(text, 'v');
    const vn = objLines(text, 'vn');
    const f = objLines(text, 'f');
    assert.equal(v.length, 42);
    assert.equal(vn.length, 42);
    assert.equal(f.length, 80);
    for (const tokens of v) assert.equal(tokens.length, 6, 'x y z r g b');
    for (const tokens of [...v, ...vn]) {
      for (const token of tokens) assert.match(token, /^-?(0|[1-9]\d*)(\.\d*[1-9])?$/, `number "${token}"`);
      for (const token of tokens) assert.notEqual(token, '-0');
    }
    for (const tokens of f) {
      for (const corner of tokens) {
        const [a, empty, b] = corner.split('/');
        assert.equal(empty, '');
        assert.equal(a, b, 'normal index = position index');
      }
    }
    assert.ok(text.endsWith('\n'));
  });

  it('formats awkward numbers exactly enough and never in exponent form', () => {
    const values = [
      1e-9, -1e-9, -0, 4e-7, 6e-7, -6e-7, 0.1, 1 / 3, 16.000001, 2147.483648, 2147.4836, -2147.483649,
      123456.789, 9.5e9, -1.5e10, 3.0e38, 1e-3, 100.5, 0.000100, 8999999488, 8589934591.999999, 4294967296.5,
    ];
    const positions = Float32Array.from(values.concat(values.length % 3 ? new Array(3 - (values.length % 3)).fill(0) : []));
    const text = encodeObj({ positions, indices: new Uint32Array(0) }, OPTIONS);
    const tokens = objLines(text, 'v').flat();
    positions.forEach((x, i) => {
      const token = tokens[i]!;
      assert.match(token, /^-?(0|[1-9]\d*)(\.\d*[1-9])?$/, `number "${token}" for ${x}`);
      const read = Number(token);
      if (Math.abs(x) >= 9e9) assert.equal(read, x, 'large float32 values are whole numbers, written exactly');
      else close(read, x, 5e-7 + Math.abs(x) * 1e-15, `value ${x} written as ${token}`);
    });
  });

  it('reads back to the very same float32 for coordinates of 16 mm and more', () => {
    const random = mulberry32(11);
    const positions = new Float32Array(3000);
    for (let i = 0; i < positions.length; i++) positions[i] = (random() < 0.5 ? -1 : 1) * (16 + random() * 5000);
    const tokens = objLines(encodeObj({ positions, indices: new Uint32Array(0) }, OPTIONS), 'v').flat();
    positions.forEach((x, i) => assert.equal(Math.fround(Number(tokens[i])), x, `${x} written as ${tokens[i]}`));
  });

  it('writes unit normals, and 0 0 0 for a normal without direction', () => {
    const cube = unitCube();
    const normals = new Float32Array(24).fill(1);
    normals.set([0, 0, 3, 0, 0, 0, NaN, 1, 0]);
    const vn = objLines(encodeObj({ ...cube, normals }, OPTIONS), 'vn');
    assert.deepEqual(vn[0], ['0', '0', '1']);
    assert.deepEqual(vn[1], ['0', '0', '0']);
    assert.deepEqual(vn[2], ['0', '0', '0']);
    close(Number(vn[3]![0]), 1 / Math.sqrt(3), 5e-7, 'normalised');
  });

  it('clamps colours to [0, 1] and drops triangles that repeat a vertex', () => {
    const mesh = degenerateCube(1);
    const colors = new Float32Array(mesh.positions.length).fill(0.5);
    colors.set([-1, 2, NaN]);
    const text = encodeObj({ ...mesh, colors }, OPTIONS);
    assert.deepEqual(objLines(text, 'v')[0]!.slice(3), ['0', '1', '0']);
    assert.equal(objLines(text, 'f').length, distinctIndexTriangles(mesh).length / 3);
  });

  it('rejects non-finite coordinates and mismatched attributes', () => {
    const cube = unitCube();
    const positions = cube.positions.slice();
    positions[4] = Infinity;
    assert.throws(() => encodeObj({ ...cube, positions }, OPTIONS), RangeError);
    assert.throws(() => encodeObj({ ...cube, colors: new Float32Array(3) }, OPTIONS), RangeError);
    assert.throws(() => encodeObj({ ...cube, indices: new Uint32Array([0, 1, 99]) }, OPTIONS), RangeError);
  });
});

function vertexNormalsUnit(normals: Float32Array): Float32Array {
  const out = new Float32Array(normals.length);
  for (let i = 0; i < normals.length; i += 3) {
    const l = Math.hypot(normals[i]!, normals[i + 1]!, normals[i + 2]!);
    for (let k = 0; k < 3; k++) out[i + k] = normals[i + k]! / l;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// STL

describe('encodeStl', () => {
  for (const [name, make] of Object.entries(FIXTURES)) {
    it(`${name}: three.js's STLLoader reads the same triangles with outward facet normals`, async () => {
      const mesh = make();
      const stl = encodeStl(mesh, OPTIONS);
      const kept = areaTriangles(mesh);
      assert.equal(stl.length, 84 + 50 * (kept.length / 3));
      const loaded = await loadStlWithThree(stl);
      assert.equal(loaded.color, undefined);
      assert.equal(loaded.position.length, kept.length * 3);
      kept.forEach((v, corner) => {
        for (let k = 0; k < 3; k++) assert.equal(loaded.position[corner * 3 + k], mesh.positions[v * 3 + k], `corner ${corner}`);
      });
      for (let t = 0; t < kept.length; t += 3) {
        const n = cross(mesh.positions, kept[t]!, kept[t + 1]!, kept[t + 2]!);
        const length = Math.hypot(...n);
        for (let k = 0; k < 3; k++) {
          close(loaded.normal![t * 3 + k]!, n[k]! / length, 1e-6, `facet ${t / 3} normal`);
        }
      }
    });
  }

  it('has an 80-byte header that never starts with "solid", the count, and zero attributes', () => {
    const mesh = unitCube(5);
    const stl = encodeStl(mesh, { name: 'solid', generator: 'solid gen' });
    const header = new TextDecoder().decode(stl.subarray(0, 80));
    assert.doesNotMatch(header, /^\s*solid/i);
    assert.match(header, /^Binary STL; solid; mm, Z up; solid gen +$/);
    const dv = new DataView(stl.buffer, stl.byteOffset, stl.byteLength);
    assert.equal(dv.getUint32(80, true), 12);
    for (let t = 0; t < 12; t++) assert.equal(dv.getUint16(84 + t * 50 + 48, true), 0);
  });

  it('keeps non-ASCII names out of the header and cuts long ones at 80 bytes', () => {
    const stl = encodeStl(unitCube(), { name: 'pièce'.repeat(30), generator: 'g' });
    assert.ok(stl.subarray(0, 80).every((b) => b >= 0x20 && b < 0x7f));
    assert.equal(new DataView(stl.buffer).getUint32(80, true), 12);
  });

  it('drops triangles that repeat a vertex or have no area', () => {
    const mesh = degenerateCube(10);
    const stl = encodeStl(mesh, OPTIONS);
    assert.equal(new DataView(stl.buffer).getUint32(80, true), mesh.validTriangles);
    assert.equal(stl.length, 84 + 50 * mesh.validTriangles);
  });

  it('rejects non-finite coordinates', () => {
    const cube = unitCube();
    const positions = cube.positions.slice();
    positions[0] = NaN;
    assert.throws(() => encodeStl({ ...cube, positions }, OPTIONS), /non-finite/);
  });
});

// ---------------------------------------------------------------------------------------------
// PLY

function plyHeader(bytes: Uint8Array): string {
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, 1024));
  return text.slice(0, text.indexOf('end_header\n') + 'end_header\n'.length);
}

describe('encodePly', () => {
  for (const [name, make] of Object.entries(FIXTURES)) {
    it(`${name}: three.js's PLYLoader reads the same vertices, colours and faces`, async () => {
      const mesh = make();
      const ply = encodePly(mesh, OPTIONS);
      const kept = distinctIndexTriangles(mesh);
      const header = plyHeader(ply);
      const vertexBytes = mesh.colors ? 15 : 12;
      assert.equal(ply.length, header.length + (mesh.positions.length / 3) * vertexBytes + (kept.length / 3) * 13);

      const loaded = await loadPlyWithThree(ply);
      assert.deepEqual(Array.from(loaded.position), Array.from(mesh.positions));
      assert.deepEqual(Array.from(loaded.index!), kept);
      if (mesh.colors) {
        // PLYLoader decodes the bytes as sRGB and stores the linear values back as bytes.
        mesh.colors.forEach((c, i) => {
          const linear = srgbToLinear(Math.round(Math.min(1, Math.max(0, c)) * 255) / 255);
          close(loaded.color![i]!, Math.round(linear * 255), 1, `colour ${i}`);
        });
      } else {
        assert.equal(loaded.color, undefined);
      }
    });
  }

  it('writes the header the format asks for', () => {
    const withColours = plyHeader(encodePly(icosphere(0), { generator: 'gen\nx' }));
    assert.equal(
      withColours,
      [
        'ply',
        'format binary_little_endian 1.0',
        'comment generator gen?x',
        'comment units millimetres, Z up',
        'element vertex 12',
        'property float x',
        'property float y',
        'property float z',
        'property uchar red',
        'property uchar green',
        'property uchar blue',
        'element face 20',
        'property list uchar int vertex_indices',
        'end_header',
        '',
      ].join('\n'),
    );
    assert.doesNotMatch(plyHeader(encodePly(unitCube(), OPTIONS)), /red|green|blue/);
  });

  it('rounds and clamps colours to bytes', () => {
    const cube = unitCube();
    const colors = new Float32Array(24).fill(0.5);
    colors.set([-0.5, 1.5, NaN, 0.2, 0.998, 0.001]);
    const ply = encodePly({ ...cube, colors }, OPTIONS);
    const start = plyHeader(ply).length;
    assert.deepEqual(Array.from(ply.subarray(start + 12, start + 15)), [0, 255, 0]);
    assert.deepEqual(Array.from(ply.subarray(start + 27, start + 30)), [51, 254, 0]);
    assert.equal(ply[start + 15 * 2 + 12], 128);
  });

  it('rejects non-finite coordinates', () => {
    const cube = unitCube();
    const positions = cube.positions.slice();
    positions[5] = -Infinity;
    assert.throws(() => encodePly({ ...cube, positions }, OPTIONS), RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// VTK, a second independent reader

const vtkAvailable = spawnSync(PYTHON, ['-c', 'import vtk'], { stdio: 'ignore' }).status === 0;
const VTK_READ = `
import json, sys, vtk
def counts(reader, path):
    reader.SetFileName(path)
    reader.Update()
    out = reader.GetOutput()
    colours = out.GetPointData().GetScalars()
    return {
        "points": out.GetNumberOfPoints(),
        "polys": out.GetNumberOfPolys(),
        "bounds": list(out.GetBounds()),
        "firstColour": list(colours.GetTuple3(0)) if colours is not None else None,
    }
folder = sys.argv[1]
print(json.dumps({
    "obj": counts(vtk.vtkOBJReader(), folder + "/m.obj"),
    "stl": counts(vtk.vtkSTLReader(), folder + "/m.stl"),
    "ply": counts(vtk.vtkPLYReader(), folder + "/m.ply"),
}))
`;

interface VtkCounts {
  points: number;
  polys: number;
  bounds: number[];
  firstColour: number[] | null;
}

describe('VTK reads our files', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'i3d-meshformats-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('OBJ, STL and PLY of a closed coloured sphere', (t: TestContext) => {
    if (!vtkAvailable) {
      t.skip(`${PYTHON} has no vtk module (Debian: python3-vtk9)`);
      return;
    }
    const mesh = icosphere(3, 25);
    writeFileSync(path.join(dir, 'm.obj'), encodeObj(mesh, OPTIONS));
    writeFileSync(path.join(dir, 'm.stl'), encodeStl(mesh, OPTIONS));
    writeFileSync(path.join(dir, 'm.ply'), encodePly(mesh, OPTIONS));
    const run = spawnSync(PYTHON, ['-c', VTK_READ, dir], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout) as Record<'obj' | 'stl' | 'ply', VtkCounts>;
    const vertices = mesh.positions.length / 3;
    const triangles = mesh.indices.length / 3;
    assert.equal(result.obj.points, vertices);
    assert.equal(result.obj.polys, triangles);
    // vtkSTLReader merges coincident corners: a closed sphere gives back its shared vertices.
    assert.equal(result.stl.points, vertices);
    assert.equal(result.stl.polys, triangles);
    assert.equal(result.ply.points, vertices);
    assert.equal(result.ply.polys, triangles);
    assert.deepEqual(result.ply.firstColour, [0, 1, 2].map((k) => Math.round(mesh.colors![k]! * 255)));
    for (const format of ['obj', 'stl', 'ply'] as const) {
      result[format].bounds.forEach((b, i) => close(b, i % 2 === 0 ? -25 : 25, 1e-5, `${format} bounds`));
    }
  });
});
