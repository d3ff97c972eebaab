import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Document, Primitive, WebIO, type Accessor } from '@gltf-transform/core';
import { ALL_EXTENSIONS, EXTMeshGPUInstancing, EXTMeshoptCompression, KHRDracoMeshCompression } from '@gltf-transform/extensions';
import type { BufferGeometry } from 'three';
import { srgbToLinear } from '../../src/pipeline/mesh/colour.js';
import type { Mesh } from '../../src/pipeline/mesh/mesh.js';
import { weldVertices } from '../../src/pipeline/mesh/weld.js';
import { MESH_FILE_EXTENSIONS, meshFormatOfPath, readMeshFile, type MeshFileFormat, type ReadMesh } from '../../src/pipeline/readers/index.js';
import { encodeGlb } from '../../src/pipeline/writers/glb.js';
import { encodeObj } from '../../src/pipeline/writers/obj.js';
import { encodePly } from '../../src/pipeline/writers/ply.js';
import { encodeStl } from '../../src/pipeline/writers/stl.js';
import { degenerateCube, gridSphere, icosphere, meshVolume, openBox, subdividedBox, unitCube } from '../fixtures/meshes.js';
import { installFileReader } from '../fixtures/fileReader.js';

/*
 * The mesh readers: round trips through our writers, files written by three.js's exporters, and
 * hand-written edge cases (concave polygons, relative indices, big-endian PLY with extra data, STL
 * headers that start with "solid", truncated files, Draco and meshopt compressed glTF with a node
 * hierarchy).
 */

const OPTIONS = { name: 'part', generator: 'readers test' };
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

// ---------------------------------------------------------------------------------------------
// Helpers

/** Every directed edge once, and its reverse once: a closed, consistently wound surface. */
function isClosed(mesh: Mesh): boolean {
  const n = mesh.positions.length / 3;
  const edges = new Map<number, number>();
  const ix = mesh.indices;
  for (let t = 0; t < ix.length; t += 3) {
    for (let k = 0; k < 3; k++) {
      const key = ix[t + k]! * n + ix[t + ((k + 1) % 3)]!;
      edges.set(key, (edges.get(key) ?? 0) + 1);
    }
  }
  for (const [key, count] of edges) {
    const a = Math.floor(key / n);
    const b = key % n;
    if (count !== 1 || edges.get(b * n + a) !== 1) return false;
  }
  return edges.size > 0;
}

/** No two vertices at the same place: the reader welded. */
function assertWelded(mesh: Mesh): void {
  const seen = new Set<string>();
  for (let v = 0; v < mesh.positions.length; v += 3) {
    const key = `${mesh.positions[v]! + 0},${mesh.positions[v + 1]! + 0},${mesh.positions[v + 2]! + 0}`;
    assert.ok(!seen.has(key), `vertex at ${key} appears twice`);
    seen.add(key);
  }
}

/**
 * Maps every vertex of `mesh` to the first vertex of `reference` within `tolerance` (a grid of cells
 * the size of the tolerance, searched in the 27 around): the vertex identities of the reference.
 */
function snap(mesh: Mesh, reference: Float32Array, tolerance: number): Int32Array {
  const cell = Math.max(tolerance, 1e-9) * 2;
  const grid = new Map<string, number[]>();
  const at = (x: number, y: number, z: number): string => `${Math.floor(x / cell)},${Math.floor(y / cell)},${Math.floor(z / cell)}`;
  for (let v = 0; v < reference.length / 3; v++) {
    const key = at(reference[v * 3]!, reference[v * 3 + 1]!, reference[v * 3 + 2]!);
    if (!grid.has(key)) grid.set(key, []);
    grid.get(key)!.push(v);
  }
  const out = new Int32Array(mesh.positions.length / 3).fill(-1);
  for (let v = 0; v < out.length; v++) {
    const [x, y, z] = [mesh.positions[v * 3]!, mesh.positions[v * 3 + 1]!, mesh.positions[v * 3 + 2]!];
    let best = -1;
    for (let dx = -1; dx <= 1; dx++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (let dz = -1; dz <= 1; dz++) {
          const list = grid.get(`${Math.floor(x / cell) + dx},${Math.floor(y / cell) + dy},${Math.floor(z / cell) + dz}`) ?? [];
          for (const r of list) {
            const d = Math.max(Math.abs(reference[r * 3]! - x), Math.abs(reference[r * 3 + 1]! - y), Math.abs(reference[r * 3 + 2]! - z));
            if (d <= tolerance && (best < 0 || r < best)) best = r;
          }
        }
      }
    }
    assert.ok(best >= 0, `vertex ${v} (${x}, ${y}, ${z}) is not within ${tolerance} of any expected vertex`);
    out[v] = best;
  }
  return out;
}

/** Triangles as cyclic triples of identities, rotated to start at the smallest: winding is kept. */
function triangleKeys(indices: ArrayLike<number>, identity: (i: number) => number): string[] {
  const keys: string[] = [];
  for (let t = 0; t + 2 < indices.length; t += 3) {
    const c = [identity(indices[t]!), identity(indices[t + 1]!), identity(indices[t + 2]!)];
    if (c[0] === c[1] || c[1] === c[2] || c[0] === c[2]) continue;
    const m = c.indexOf(Math.min(...c));
    keys.push(`${c[m]},${c[(m + 1) % 3]},${c[(m + 2) % 3]}`);
  }
  return keys.sort();
}

/** The first vertex at exactly the same position, for each vertex: identities within one mesh. */
function firstAtSamePlace(positions: Float32Array): (i: number) => number {
  const first = new Map<string, number>();
  const ids: number[] = [];
  for (let v = 0; v < positions.length / 3; v++) {
    const key = `${positions[v * 3]! + 0},${positions[v * 3 + 1]! + 0},${positions[v * 3 + 2]! + 0}`;
    if (!first.has(key)) first.set(key, v);
    ids.push(first.get(key)!);
  }
  return (i) => ids[i]!;
}

function zeroArea(p: Float32Array, a: number, b: number, c: number): boolean {
  const u = [p[b * 3]! - p[a * 3]!, p[b * 3 + 1]! - p[a * 3 + 1]!, p[b * 3 + 2]! - p[a * 3 + 2]!];
  const v = [p[c * 3]! - p[a * 3]!, p[c * 3 + 1]! - p[a * 3 + 1]!, p[c * 3 + 2]! - p[a * 3 + 2]!];
  return Math.hypot(u[1]! * v[2]! - u[2]! * v[1]!, u[2]! * v[0]! - u[0]! * v[2]!, u[0]! * v[1]! - u[1]! * v[0]!) === 0;
}

/** The read mesh has the expected triangles (same places, same winding), and nothing else. */
function assertSameSurface(read: Mesh, expected: Mesh, tolerance: number, options: { dropZeroArea?: boolean } = {}): void {
  const identity = firstAtSamePlace(expected.positions);
  const snapped = snap(read, expected.positions, tolerance);
  let expectedIndices = Array.from(expected.indices);
  if (options.dropZeroArea) {
    const kept: number[] = [];
    for (let t = 0; t < expectedIndices.length; t += 3) {
      const [a, b, c] = expectedIndices.slice(t, t + 3) as [number, number, number];
      if (!zeroArea(expected.positions, a, b, c)) kept.push(a, b, c);
    }
    expectedIndices = kept;
  }
  assert.deepEqual(triangleKeys(read.indices, (i) => identity(snapped[i]!)), triangleKeys(expectedIndices, identity));
  assertWelded(read);
}

/** The colour of each read vertex equals the colour of the expected vertex at its place. */
function assertColoursByPlace(read: Mesh, expected: Mesh, colours: Float32Array, tolerance: number, placeTolerance = 1e-5): void {
  assert.ok(read.colors, 'colours read');
  const snapped = snap(read, expected.positions, placeTolerance);
  for (let v = 0; v < snapped.length; v++) {
    for (let k = 0; k < 3; k++) {
      const want = colours[snapped[v]! * 3 + k]!;
      assert.ok(Math.abs(read.colors[v * 3 + k]! - want) <= tolerance, `colour of vertex ${v}: ${read.colors[v * 3 + k]} vs ${want}`);
    }
  }
}

function linearToSrgb(c: number): number {
  return c <= 0.0031308 ? c * 12.92 : 1.055 * c ** (1 / 2.4) - 0.055;
}

async function read(bytes: Uint8Array, format: MeshFileFormat): Promise<ReadMesh> {
  const result = await readMeshFile(bytes, format);
  assert.equal(result.sourceFormat, format);
  return result;
}

// ---------------------------------------------------------------------------------------------
// weldVertices

describe('weldVertices', () => {
  /** Each triangle with its own three corners, as STL stores them. */
  function soup(mesh: Mesh): Mesh {
    const n = mesh.indices.length;
    const positions = new Float32Array(n * 3);
    const colors = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      positions.set(mesh.positions.subarray(mesh.indices[i]! * 3, mesh.indices[i]! * 3 + 3), i * 3);
      colors.set([i / n, 0, 0], i * 3);
    }
    return { positions, colors, indices: Uint32Array.from({ length: n }, (_, i) => i) };
  }

  it('joins a triangle soup back into the closed mesh, first colour winning', () => {
    const cube = unitCube(3);
    const welded = weldVertices(soup(cube));
    assert.equal(welded.positions.length / 3, 8);
    assert.equal(welded.indices.length, 36);
    assert.ok(isClosed(welded));
    assertSameSurface(welded, cube, 0);
    // The first corner in the soup at each place gives the colour.
    const firstCorner = new Map<number, number>();
    cube.indices.forEach((v, corner) => {
      if (!firstCorner.has(v)) firstCorner.set(v, corner);
    });
    const snapped = snap(welded, cube.positions, 0);
    for (let v = 0; v < 8; v++) assert.equal(welded.colors![v * 3], Math.fround(firstCorner.get(snapped[v]!)! / 36));
  });

  it('welds a large soup exactly (79 602 vertices, 159 200 triangles)', () => {
    const sphere = gridSphere();
    const welded = weldVertices(soup(sphere));
    assert.equal(welded.positions.length, sphere.positions.length);
    assert.ok(isClosed(welded));
  });

  it('treats -0 and +0 as one place, but not neighbouring floats', () => {
    const next = new Float32Array([1]);
    new Uint32Array(next.buffer)[0]! += 1; // the float just above 1
    const positions = new Float32Array([0, 0, 0, -0, 0, -0, 1, 0, 0, next[0]!, 0, 0, 0, 1, 0]);
    const welded = weldVertices({ positions, indices: new Uint32Array([0, 2, 4, 1, 4, 3]) });
    assert.equal(welded.positions.length / 3, 4);
    // Vertex 1 joins vertex 0; the others keep their order (0, 2, 3, 4 become 0, 1, 2, 3).
    assert.deepEqual(Array.from(welded.indices), [0, 1, 3, 0, 3, 2]);
  });

  it('drops triangles that collapse and vertices no triangle uses, keeping order and normals', () => {
    const positions = new Float32Array([9, 9, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0]);
    const normals = new Float32Array([0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, -1, 0, 0, 1]);
    const welded = weldVertices({ positions, normals, indices: new Uint32Array([1, 2, 3, 1, 2, 4]) });
    assert.deepEqual(Array.from(welded.positions), [0, 0, 0, 1, 0, 0, 0, 1, 0]);
    assert.deepEqual(Array.from(welded.indices), [0, 1, 2]);
    assert.deepEqual(Array.from(welded.normals!), [0, 1, 0, 1, 0, 0, 0, 0, 1]);
  });

  it('rejects indices out of range', () => {
    assert.throws(() => weldVertices({ positions: new Float32Array(9), indices: new Uint32Array([0, 1, 3]) }), RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Round trips through our writers

/**
 * Which formats come back closed. The degenerate cube holds a zero-area sliver through three distinct
 * collinear vertices: OBJ, PLY and GLB keep it (it names three different vertices, so they write it
 * and we read it back faithfully), which leaves two edges single; STL drops triangles without area.
 */
const ROUND_TRIP_FIXTURES: Record<string, { mesh: () => Mesh; closedIn: readonly MeshFileFormat[] }> = {
  cube: { mesh: () => unitCube(10), closedIn: ['obj', 'stl', 'ply', 'glb'] },
  icosphere: { mesh: () => icosphere(3, 25), closedIn: ['obj', 'stl', 'ply', 'glb'] },
  openBox: { mesh: () => openBox(10), closedIn: [] },
  degenerate: { mesh: () => degenerateCube(10), closedIn: ['stl'] },
  subdividedBox: { mesh: () => subdividedBox(6, 30, 20, 10), closedIn: ['obj', 'stl', 'ply', 'glb'] },
};

describe('round trips: our writers, then our readers', () => {
  for (const [name, fixture] of Object.entries(ROUND_TRIP_FIXTURES)) {
    it(`${name}: OBJ, STL, PLY and GLB come back as the same surface`, async () => {
      const mesh = fixture.mesh();

      const obj = await read(text(encodeObj(mesh, OPTIONS)), 'obj');
      assertSameSurface(obj.mesh, mesh, 5e-7 * 30);
      if (mesh.colors) assertColoursByPlace(obj.mesh, mesh, mesh.colors, 5e-5, 1e-5);

      const stl = await read(encodeStl(mesh, OPTIONS), 'stl');
      assertSameSurface(stl.mesh, mesh, 0, { dropZeroArea: true });
      assert.equal(stl.mesh.colors, undefined);

      const ply = await read(encodePly(mesh, OPTIONS), 'ply');
      assertSameSurface(ply.mesh, mesh, 0);
      if (mesh.colors) {
        const bytes = mesh.colors.map((c) => Math.round(c * 255) / 255);
        assertColoursByPlace(ply.mesh, mesh, bytes, 1e-7, 0);
      }

      // GLB is written in glTF's frame with linear colours; the reader gives sRGB back.
      const linear = mesh.colors ? srgbToLinear(mesh.colors) : undefined;
      const glb = await read(encodeGlb({ ...mesh, colors: linear }, OPTIONS), 'glb');
      assertSameSurface(glb.mesh, mesh, 0);
      if (mesh.colors) assertColoursByPlace(glb.mesh, mesh, mesh.colors, 2e-6, 0);

      for (const result of [obj, stl, ply, glb]) {
        const closed = fixture.closedIn.includes(result.sourceFormat);
        assert.equal(isClosed(result.mesh), closed, `${result.sourceFormat} ${closed ? 'closed' : 'open'}`);
      }
    });
  }

  it('OBJ positions of 16 mm and more come back as the very same float32 values', async () => {
    const mesh = icosphere(2, 1000);
    for (let i = 0; i < mesh.positions.length; i++) mesh.positions[i] = mesh.positions[i]! + 2000; // all ≥ 1000
    const back = await read(text(encodeObj(mesh, OPTIONS)), 'obj');
    assert.deepEqual(Array.from(back.mesh.positions), Array.from(mesh.positions));
  });
});

// ---------------------------------------------------------------------------------------------
// Files written by three.js's exporters

installFileReader();

/** An icosphere as a three.js mesh with linear vertex colours (three's working space), normals, UVs. */
async function threeSphere(): Promise<{ object: import('three').Mesh; mesh: Mesh }> {
  const THREE = await import('three');
  const mesh = icosphere(2, 25);
  const geometry: BufferGeometry = new THREE.BufferGeometry();
  geometry.setAttribute('position', new THREE.BufferAttribute(mesh.positions, 3));
  geometry.setAttribute('color', new THREE.BufferAttribute(srgbToLinear(mesh.colors!), 3));
  geometry.setAttribute('uv', new THREE.BufferAttribute(new Float32Array((mesh.positions.length / 3) * 2).fill(0.5), 2));
  geometry.setIndex(new THREE.BufferAttribute(mesh.indices, 1));
  geometry.computeVertexNormals();
  return { object: new THREE.Mesh(geometry, new THREE.MeshStandardMaterial({ vertexColors: true })), mesh };
}

function bytesOf(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

describe('files written by three.js exporters', () => {
  it('OBJExporter (v/vt/vn faces, sRGB vertex colours)', async () => {
    const { OBJExporter } = await import('three/examples/jsm/exporters/OBJExporter.js');
    const { object, mesh } = await threeSphere();
    const file = new OBJExporter().parse(object);
    assert.match(file, /^f \d+\/\d+\/\d+ /m, 'faces in v/vt/vn form');
    const result = await read(text(file), 'obj');
    assertSameSurface(result.mesh, mesh, 1e-5);
    assertColoursByPlace(result.mesh, mesh, mesh.colors!, 1e-5);
    assert.ok(isClosed(result.mesh));
    assert.ok(result.notes.some((n) => /texture coordinates/.test(n) && /normals/.test(n)), result.notes.join(' | '));
  });

  for (const binary of [false, true]) {
    it(`STLExporter (${binary ? 'binary' : 'ASCII'}) comes back closed`, async () => {
      const { STLExporter } = await import('three/examples/jsm/exporters/STLExporter.js');
      const { object, mesh } = await threeSphere();
      const file = new STLExporter().parse(object, { binary });
      const result = await read(typeof file === 'string' ? text(file) : bytesOf(file), 'stl');
      assertSameSurface(result.mesh, mesh, binary ? 0 : 1e-5);
      assert.equal(result.mesh.positions.length, mesh.positions.length);
      assert.ok(isClosed(result.mesh));
    });
  }

  for (const [label, options] of [
    ['ASCII', { binary: false }],
    ['binary, big-endian (its default)', { binary: true }],
    ['binary, little-endian', { binary: true, littleEndian: true }],
  ] as const) {
    it(`PLYExporter (${label}, with normals and UVs to skip)`, async () => {
      const { PLYExporter } = await import('three/examples/jsm/exporters/PLYExporter.js');
      const { object, mesh } = await threeSphere();
      // With no callback, parse returns the file (the callback would wait for requestAnimationFrame).
      const file = new PLYExporter().parse(object, undefined as unknown as (r: unknown) => void, options) as string | ArrayBuffer;
      const bytes = typeof file === 'string' ? text(file) : bytesOf(file);
      if (options.binary) {
        const header = new TextDecoder().decode(bytes.subarray(0, 200));
        assert.match(header, options.littleEndian ? /binary_little_endian/ : /binary_big_endian/);
      }
      const result = await read(bytes, 'ply');
      assertSameSurface(result.mesh, mesh, options.binary ? 0 : 1e-5);
      assertColoursByPlace(result.mesh, mesh, mesh.colors!, 2e-5);
      assert.ok(isClosed(result.mesh));
      assert.ok(result.notes.some((n) => /vertex\.nx/.test(n)), result.notes.join(' | '));
    });
  }

  it('GLTFExporter (binary): node transforms applied, mirrored winding fixed, COLOR_0 to sRGB', async () => {
    const THREE = await import('three');
    const { GLTFExporter } = await import('three/examples/jsm/exporters/GLTFExporter.js');
    const { object, mesh } = await threeSphere();
    const parent = new THREE.Group();
    parent.position.set(100, -20, 3);
    parent.rotation.set(0.3, -1.1, 0.7);
    parent.scale.set(2, 2, 2);
    object.position.set(5, 6, 7);
    object.scale.set(-1, 1.5, 1); // a mirror
    parent.add(object);
    const scene = new THREE.Scene();
    scene.add(parent);
    const glb = (await new GLTFExporter().parseAsync(scene, { binary: true })) as ArrayBuffer;
    const result = await read(new Uint8Array(glb), 'glb');

    scene.updateMatrixWorld(true);
    const expected = mesh.positions.slice();
    const v = new THREE.Vector3();
    for (let i = 0; i < expected.length; i += 3) {
      v.fromArray(expected, i).applyMatrix4(object.matrixWorld).toArray(expected, i);
    }
    // The mirror reverses the triangles' turning; the reader flips them back to wind outward.
    const flipped = mesh.indices.slice();
    for (let t = 0; t < flipped.length; t += 3) [flipped[t + 1], flipped[t + 2]] = [flipped[t + 2]!, flipped[t + 1]!];
    assertSameSurface(result.mesh, { positions: expected, indices: flipped }, 2e-4);
    assert.ok(meshVolume(result.mesh.positions, result.mesh.indices) > 0, 'outward');
    assert.ok(isClosed(result.mesh));
    assertColoursByPlace(result.mesh, { positions: expected, indices: flipped }, mesh.colors!, 1e-5, 2e-4);
  });

  it('GLTFExporter (JSON .gltf with an embedded buffer)', async () => {
    const { GLTFExporter } = await import('three/examples/jsm/exporters/GLTFExporter.js');
    const { object, mesh } = await threeSphere();
    const json = await new GLTFExporter().parseAsync(object, { binary: false });
    assert.match(JSON.stringify(json), /data:application\/octet-stream;base64,/);
    const result = await read(text(JSON.stringify(json)), 'glb');
    assertSameSurface(result.mesh, mesh, 0);
  });
});

// ---------------------------------------------------------------------------------------------
// OBJ edge cases

/** Signed area vector (Newell) of a polygon given as xyz triples. */
function polygonArea(points: number[][]): number[] {
  const n = [0, 0, 0];
  for (let i = 0; i < points.length; i++) {
    const a = points[i]!;
    const b = points[(i + 1) % points.length]!;
    n[0]! += (a[1]! - b[1]!) * (a[2]! + b[2]!);
    n[1]! += (a[2]! - b[2]!) * (a[0]! + b[0]!);
    n[2]! += (a[0]! - b[0]!) * (a[1]! + b[1]!);
  }
  return n.map((x) => x / 2);
}

/** 2-D point in polygon (crossing number). */
function inside(x: number, y: number, outline: number[][]): boolean {
  let inPolygon = false;
  for (let i = 0, j = outline.length - 1; i < outline.length; j = i++) {
    const [xi, yi] = outline[i]!;
    const [xj, yj] = outline[j]!;
    if (yi! > y !== yj! > y && x < ((xj! - xi!) * (y - yi!)) / (yj! - yi!) + xi!) inPolygon = !inPolygon;
  }
  return inPolygon;
}

describe('OBJ reader', () => {
  it('ear-clips concave polygons in their own (tilted) plane', async () => {
    // An L and a five-pointed star in the plane z = 0.5·x + 0.25·y, one of them wound the other way.
    // Both start at a corner from which a fan would leave the outline.
    const lShape = [[4, 1], [1, 1], [1, 3], [0, 3], [0, 0], [4, 0]];
    const star = Array.from({ length: 10 }, (_, i) => {
      const r = i % 2 === 0 ? 5 : 2;
      const a = (i * Math.PI) / 5;
      return [20 + r * Math.cos(a), r * Math.sin(a)];
    });
    const lift = ([x, y]: number[]): number[] => [x!, y!, 0.5 * x! + 0.25 * y!];
    const outlines = [lShape, [star[0]!, ...star.slice(1).reverse()]];
    let file = '';
    let base = 0;
    for (const outline of outlines) {
      for (const p of outline) file += `v ${lift(p).join(' ')}\n`;
      file += `f ${outline.map((_, i) => base + i + 1).join(' ')}\n`;
      base += outline.length;
    }
    const result = await read(text(file), 'obj');
    const { positions, indices } = result.mesh;
    assert.equal(indices.length / 3, lShape.length - 2 + star.length - 2);

    const triangles = Array.from({ length: indices.length / 3 }, (_, t) =>
      [0, 1, 2].map((k) => Array.from(positions.subarray(indices[t * 3 + k]! * 3, indices[t * 3 + k]! * 3 + 3))),
    );
    outlines.forEach((outline, which) => {
      const mine = triangles.filter((tri) => (which === 0 ? tri.every((p) => p[0]! < 10) : tri.every((p) => p[0]! > 10)));
      const want = polygonArea(outline.map(lift));
      const sum = [0, 0, 0];
      let unsigned = 0;
      for (const tri of mine) {
        const a = polygonArea(tri);
        unsigned += Math.hypot(a[0]!, a[1]!, a[2]!);
        // Every triangle turns the way the polygon does (none flipped)...
        assert.ok(a[0]! * want[0]! + a[1]! * want[1]! + a[2]! * want[2]! > 0, 'triangle wound like its polygon');
        for (let k = 0; k < 3; k++) sum[k]! += a[k]!;
        // ...and lies inside the outline.
        const cx = (tri[0]![0]! + tri[1]![0]! + tri[2]![0]!) / 3;
        const cy = (tri[0]![1]! + tri[1]![1]! + tri[2]![1]!) / 3;
        assert.ok(inside(cx, cy, outline), `triangle centroid (${cx}, ${cy}) inside`);
      }
      for (let k = 0; k < 3; k++) assert.ok(Math.abs(sum[k]! - want[k]!) < 1e-4, `areas add up: ${sum} vs ${want}`);
      // No overlaps: the triangles' own areas add up to the polygon's too.
      assert.ok(Math.abs(unsigned - Math.hypot(want[0]!, want[1]!, want[2]!)) < 1e-4, `no overlap: ${unsigned}`);
    });
  });

  it('reads every corner form, relative indices, objects, groups, colours, CRLF and continuations', async () => {
    const file = [
      '# a comment',
      'mtllib parts.mtl',
      'o first',
      'v 0 0 0 1 0 0',
      'v 1 0 0 0 1 0',
      'v 1 1 0 0 0 1',
      'v 0 1 0 1 1 0',
      'vt 0 0',
      'vt 1 0',
      'vn 0 0 1',
      'usemtl red',
      'g top',
      'f 1/1/1 2/2/1 3/1/1',
      'f -4//-1 -2//-1 \\',
      '  -1//-1',
      'g side',
      'o second',
      'v\t0 0 1 0.5 0.5 0.5',
      'f 1/1 2/2 5/1',
      'f 2 3 5',
      's off',
      'l 1 2',
      'p 3',
      '',
    ].join('\r\n');
    const result = await read(text(file), 'obj');
    assert.deepEqual(Array.from(result.mesh.indices), [0, 1, 2, 0, 2, 3, 0, 1, 4, 1, 2, 4]);
    assert.deepEqual(Array.from(result.mesh.positions.subarray(12)), [0, 0, 1]);
    assert.deepEqual(Array.from(result.mesh.colors!.subarray(0, 6)), [1, 0, 0, 0, 1, 0]);
    assert.deepEqual(Array.from(result.mesh.colors!.subarray(12)), [0.5, 0.5, 0.5]);
    const notes = result.notes.join(' | ');
    assert.match(notes, /Merged 2 object\(s\) and 2 group\(s\)/);
    for (const what of ['texture coordinates', 'normals', 'lines', 'points', 'materials', 'material libraries']) {
      assert.ok(notes.includes(what), `"${what}" noted in: ${notes}`);
    }
  });

  it('reads 0-255 colours, fills missing colours with white, ignores w', async () => {
    const file = 'v 0 0 0\nv 1 0 0 255 0 0\nv 0 1 0 0 255 0\nv 0 0 1 2\nf 1 2 3\nf 1 3 4\n';
    const result = await read(text(file), 'obj');
    assert.deepEqual(Array.from(result.mesh.colors!), [1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 1]);
    assert.deepEqual(Array.from(result.mesh.positions.subarray(9)), [0, 0, 1]);
    assert.ok(result.notes.some((n) => /0-255/.test(n)));
  });

  it('gives an empty mesh, with a note, for a file of points and lines only', async () => {
    const result = await read(text('v 0 0 0\nv 1 0 0\nl 1 2\np 1\n'), 'obj');
    assert.equal(result.mesh.indices.length, 0);
    assert.equal(result.mesh.positions.length, 0);
    assert.ok(result.notes.some((n) => /lines/.test(n)));
  });

  it('names what is wrong in malformed files', async () => {
    await assert.rejects(read(text('v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 0\n'), 'obj'), /line 4: bad vertex index/);
    await assert.rejects(read(text('v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n'), 'obj'), (e: Error) => e instanceof RangeError && /only 3 vertices/.test(e.message));
    await assert.rejects(read(text('v 0 0 0\nf -1 -2 -3\n'), 'obj'), /relative index -2 reaches before/);
    await assert.rejects(read(text('v 0 0\nv 1 0 0\n'), 'obj'), /line 1: a vertex needs three numbers/);
    await assert.rejects(read(text('v 0 0 1e999\nv 1 0 0\nv 0 1 0\nf 1 2 3\n'), 'obj'), /non-finite/);
  });
});

// ---------------------------------------------------------------------------------------------
// PLY edge cases

type PlyType = 'char' | 'uchar' | 'short' | 'ushort' | 'int' | 'uint' | 'float' | 'double';
type PlyProperty = { name: string; type: PlyType } | { name: string; list: [PlyType, PlyType] };
interface PlyElement {
  name: string;
  properties: PlyProperty[];
  /** One row per instance: numbers for scalars, arrays for lists. */
  rows: (number | number[])[][];
}

const PLY_SIZES: Record<PlyType, number> = { char: 1, uchar: 1, short: 2, ushort: 2, int: 4, uint: 4, float: 4, double: 8 };

/** A test-side PLY writer for any layout, in any of the three encodings. */
function buildPly(format: 'ascii' | 'binary_little_endian' | 'binary_big_endian', elements: PlyElement[]): Uint8Array {
  let header = `ply\nformat ${format} 1.0\ncomment made by the readers test\n`;
  for (const e of elements) {
    header += `element ${e.name} ${e.rows.length}\n`;
    for (const p of e.properties) header += 'list' in p ? `property list ${p.list[0]} ${p.list[1]} ${p.name}\n` : `property ${p.type} ${p.name}\n`;
  }
  header += 'end_header\n';
  if (format === 'ascii') {
    const body = elements.flatMap((e) => e.rows.map((row) => row.map((v) => (Array.isArray(v) ? [v.length, ...v].join(' ') : String(v))).join(' ')));
    return text(header + body.join('\n') + '\n');
  }
  const little = format === 'binary_little_endian';
  const chunks: number[] = [];
  const put = (type: PlyType, value: number): void => {
    const dv = new DataView(new ArrayBuffer(8));
    ({
      char: () => dv.setInt8(0, value),
      uchar: () => dv.setUint8(0, value),
      short: () => dv.setInt16(0, value, little),
      ushort: () => dv.setUint16(0, value, little),
      int: () => dv.setInt32(0, value, little),
      uint: () => dv.setUint32(0, value, little),
      float: () => dv.setFloat32(0, value, little),
      double: () => dv.setFloat64(0, value, little),
    })[type]();
    for (let i = 0; i < PLY_SIZES[type]; i++) chunks.push(dv.getUint8(i));
  };
  for (const e of elements) {
    for (const row of e.rows) {
      e.properties.forEach((p, i) => {
        const value = row[i]!;
        if ('list' in p) {
          const items = value as number[];
          put(p.list[0], items.length);
          for (const item of items) put(p.list[1], item);
        } else {
          put(p.type, value as number);
        }
      });
    }
  }
  const out = new Uint8Array(header.length + chunks.length);
  out.set(text(header));
  out.set(chunks, header.length);
  return out;
}

/**
 * The L-shaped outline of the prism below, counter-clockwise: area 3. It starts at a corner from which
 * a fan would cross the notch, so only a real triangulation passes.
 */
const L_OUTLINE = [[2, 1], [1, 1], [1, 2], [0, 2], [0, 0], [2, 0]];

/**
 * An L-shaped prism (height 1, volume 3): concave hexagons top and bottom, quads around, with extra
 * vertex data, lists to step over, an element in between and one after.
 */
function awkwardPly(format: 'ascii' | 'binary_little_endian' | 'binary_big_endian'): Uint8Array {
  const vertexRows: (number | number[])[][] = [];
  for (const z of [0, 1]) {
    for (const [x, y] of L_OUTLINE) {
      const v = vertexRows.length;
      vertexRows.push([0.25 * v, x!, y!, [v, v + 1], z, v * 20, 255 - v * 20, 7, 200, -1.5]);
    }
  }
  const n = L_OUTLINE.length;
  const faces: number[][] = [
    Array.from({ length: n }, (_, i) => n - 1 - i), // bottom, seen from below
    Array.from({ length: n }, (_, i) => n + i), // top
    ...Array.from({ length: n }, (_, i) => [i, (i + 1) % n, n + ((i + 1) % n), n + i]),
  ];
  return buildPly(format, [
    {
      name: 'vertex',
      properties: [
        { name: 'quality', type: 'float' },
        { name: 'x', type: 'double' },
        { name: 'y', type: 'float' },
        { name: 'tags', list: ['uchar', 'ushort'] },
        { name: 'z', type: 'short' },
        { name: 'red', type: 'uchar' },
        { name: 'green', type: 'uchar' },
        { name: 'blue', type: 'uchar' },
        { name: 'alpha', type: 'uchar' },
        { name: 'nx', type: 'float' },
      ],
      rows: vertexRows,
    },
    {
      name: 'edge',
      properties: [
        { name: 'vertex1', type: 'int' },
        { name: 'vertex2', type: 'int' },
        { name: 'weights', list: ['int', 'double'] },
      ],
      rows: [[0, 1, [0.5, 0.25]], [1, 2, []]],
    },
    {
      name: 'face',
      properties: [
        { name: 'flags', type: 'uchar' },
        { name: 'vertex_index', list: ['char', 'uint'] },
        { name: 'texcoord', list: ['uchar', 'float'] },
      ],
      rows: faces.map((f, i) => [i, f, f.flatMap(() => [0.5, 0.5])]),
    },
    { name: 'material', properties: [{ name: 'shine', type: 'ushort' }], rows: [[3], [4]] },
  ]);
}

describe('PLY reader', () => {
  for (const format of ['binary_big_endian', 'binary_little_endian', 'ascii'] as const) {
    it(`${format}: any numeric types, extra properties, lists and elements skipped, concave n-gons`, async () => {
      const result = await read(awkwardPly(format), 'ply');
      const { mesh } = result;
      assert.deepEqual(Array.from(mesh.positions), [0, 1].flatMap((z) => L_OUTLINE.flatMap(([x, y]) => [x!, y!, z])));
      assert.deepEqual(Array.from(mesh.colors!.subarray(21, 24)), [140 / 255, 115 / 255, 7 / 255].map(Math.fround));
      // Two concave hexagons (4 triangles each) and six quads (2 each), closed, volume exactly 3.
      assert.equal(mesh.indices.length / 3, 2 * 4 + 6 * 2);
      assert.ok(isClosed(mesh), 'the prism is closed');
      assert.equal(meshVolume(mesh.positions, mesh.indices), 3);
      // Without overlapping triangles the surface area is exactly 2·3 (top, bottom) + 8·1 (sides).
      let area = 0;
      for (let t = 0; t < mesh.indices.length; t += 3) {
        const corner = (k: number): number[] => Array.from(mesh.positions.subarray(mesh.indices[t + k]! * 3, mesh.indices[t + k]! * 3 + 3));
        const a = polygonArea([corner(0), corner(1), corner(2)]);
        area += Math.hypot(a[0]!, a[1]!, a[2]!);
      }
      assert.ok(Math.abs(area - 14) < 1e-9, `surface area ${area}`);
      const notes = result.notes.join(' | ');
      for (const ignored of ['vertex.quality', 'vertex.tags', 'vertex.alpha', 'vertex.nx', 'element edge (2)', 'face.flags', 'face.texcoord', 'element material (2)']) {
        assert.ok(notes.includes(ignored), `"${ignored}" in: ${notes}`);
      }
    });
  }

  it('reads float colours as 0..1 and ignores an incomplete colour set', async () => {
    const tri = (colour: PlyProperty[], values: number[][]): Uint8Array =>
      buildPly('binary_little_endian', [
        { name: 'vertex', properties: [{ name: 'x', type: 'float' }, { name: 'y', type: 'float' }, { name: 'z', type: 'float' }, ...colour], rows: [[0, 0, 0, ...values[0]!], [1, 0, 0, ...values[1]!], [0, 1, 0, ...values[2]!]] },
        { name: 'face', properties: [{ name: 'vertex_indices', list: ['uchar', 'int'] }], rows: [[[0, 1, 2]]] },
      ]);
    const floats = await read(tri([{ name: 'red', type: 'float' }, { name: 'green', type: 'float' }, { name: 'blue', type: 'float' }], [[0.25, 0.5, 1], [2, -1, 0], [0, 0, 0]]), 'ply');
    assert.deepEqual(Array.from(floats.mesh.colors!.subarray(0, 6)), [0.25, 0.5, 1, 1, 0, 0]);
    const partial = await read(tri([{ name: 'red', type: 'uchar' }], [[1], [2], [3]]), 'ply');
    assert.equal(partial.mesh.colors, undefined);
  });

  it('names what is wrong in malformed files', async () => {
    const good = awkwardPly('binary_big_endian');
    await assert.rejects(read(good.subarray(0, good.length - 3), 'ply'), /truncated: it ends in element "material" \(1 of 2\)/);
    const dataStart = new TextDecoder().decode(good.subarray(0, 2000)).indexOf('end_header\n') + 'end_header\n'.length;
    await assert.rejects(read(good.subarray(0, dataStart + 20), 'ply'), /truncated: it ends in vertex 1 of 12/);
    const ascii = awkwardPly('ascii');
    await assert.rejects(read(ascii.subarray(0, ascii.length - 40), 'ply'), /truncated/);
    await assert.rejects(read(text('ply\nformat ascii 1.0\nelement vertex 1\n'), 'ply'), /end_header/);
    await assert.rejects(read(text('plx\nformat ascii 1.0\nend_header\n'), 'ply'), /Not a PLY file/);
    await assert.rejects(read(text('ply\nformat binary_middle_endian 1.0\nend_header\n'), 'ply'), /format/);
    await assert.rejects(read(text('ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n0\n'), 'ply'), /no "y" property/);
    const outOfRange = 'ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 3\n';
    await assert.rejects(read(text(outOfRange), 'ply'), (e: Error) => e instanceof RangeError && /only 3 vertices/.test(e.message));
  });
});

// ---------------------------------------------------------------------------------------------
// STL edge cases

describe('STL reader', () => {
  it('reads a binary file whose header starts with "solid" as binary (and so does three.js)', async () => {
    const mesh = icosphere(2, 10);
    const stl = encodeStl(mesh, OPTIONS);
    stl.set(text('solid exported by a CAD program that does this'), 0);
    const result = await read(stl, 'stl');
    assertSameSurface(result.mesh, mesh, 0);
    assert.ok(isClosed(result.mesh), 'closed after welding');
    const { STLLoader } = await import('three/examples/jsm/loaders/STLLoader.js');
    assert.equal(new STLLoader().parse(stl.slice().buffer).getAttribute('position').count, mesh.indices.length);
  });

  it('reads ASCII with several solids, any case, CRLF and quads', async () => {
    const facet = (v: number[][]): string => ['  facet normal 0 0 0', '    outer loop', ...v.map((p) => `      VERTEX ${p.join(' ')}`), '    endloop', '  endfacet'].join('\r\n');
    const file = [
      'solid first',
      facet([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]),
      'endsolid first',
      'SOLID second',
      facet([[0, 0, 0], [0, 0, 1], [1, 0, 0]]),
      'ENDSOLID second',
      '',
    ].join('\r\n');
    const result = await read(text(file), 'stl');
    assert.deepEqual(Array.from(result.mesh.indices), [0, 1, 2, 0, 2, 3, 0, 4, 1]);
    assert.equal(result.mesh.positions.length / 3, 5);
  });

  it('welds a closed part back to closed: every edge used twice', async () => {
    for (const mesh of [subdividedBox(9, 30, 20, 10), icosphere(4, 50)]) {
      for (const bytes of [encodeStl(mesh, OPTIONS), text(asciiStl(mesh))]) {
        const result = await read(bytes, 'stl');
        assert.ok(isClosed(result.mesh));
        assert.equal(result.mesh.positions.length, mesh.positions.length);
      }
    }
  });

  it('names what is wrong in malformed files', async () => {
    const stl = encodeStl(unitCube(), OPTIONS);
    await assert.rejects(read(stl.subarray(0, stl.length - 10), 'stl'), (e: Error) => e instanceof RangeError && /truncated: its header announces 12 triangles \(684 bytes\) but the file has 674/.test(e.message));
    const longer = new Uint8Array(stl.length + 100);
    longer.set(stl);
    await assert.rejects(read(longer, 'stl'), /count does not match the file: the header says 12 triangles but the file holds 14/);
    const bad = stl.slice();
    new DataView(bad.buffer).setFloat32(84 + 50 * 3 + 20, NaN, true);
    await assert.rejects(read(bad, 'stl'), /non-finite coordinate in triangle 3/);
    await assert.rejects(read(new Uint8Array(40), 'stl'), /truncated: 40 bytes/);
    await assert.rejects(read(text('solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0'), 'stl'), /three finite numbers/);
    await assert.rejects(read(text('solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\n'), 'stl'), /ends inside a facet/);
    const padded = new Uint8Array(stl.length + 3);
    padded.set(stl);
    const tolerated = await read(padded, 'stl');
    assert.equal(tolerated.mesh.indices.length, 36);
    assert.ok(tolerated.notes.some((n) => /Ignored 3 bytes/.test(n)));
  });
});

function asciiStl(mesh: Mesh): string {
  const p = mesh.positions;
  let out = 'solid test\n';
  for (let t = 0; t < mesh.indices.length; t += 3) {
    out += ' facet normal 0 0 0\n  outer loop\n';
    for (let k = 0; k < 3; k++) {
      const v = mesh.indices[t + k]! * 3;
      // Shortest round-trip form of the float32 values, exponents included: the reader must parse both.
      out += `   vertex ${p[v]} ${p[v + 1]!.toExponential()} ${p[v + 2]}\n`;
    }
    out += '  endloop\n endfacet\n';
  }
  return `${out}endsolid test\n`;
}

// ---------------------------------------------------------------------------------------------
// glTF edge cases

interface Built {
  document: Document;
  /** The same hierarchy in three.js, to compute expected world positions independently. */
  expected: Float32Array;
  cube: Mesh;
}

/** A cube under a rotated, translated parent, itself scaled with a mirror; vec4 normalized colours. */
async function hierarchyDocument(): Promise<Built> {
  const THREE = await import('three');
  const cube = subdividedBox(2, 2, 2, 2);
  const document = new Document();
  const buffer = document.createBuffer();
  const colours = new Uint8Array((cube.positions.length / 3) * 4);
  for (let v = 0; v < colours.length / 4; v++) colours.set([v * 9, 255 - v * 9, 128, 255], v * 4);
  const primitive = document
    .createPrimitive()
    .setAttribute('POSITION', document.createAccessor().setType('VEC3').setArray(cube.positions).setBuffer(buffer))
    .setAttribute('COLOR_0', document.createAccessor().setType('VEC4').setArray(colours).setNormalized(true).setBuffer(buffer))
    .setIndices(document.createAccessor().setType('SCALAR').setArray(cube.indices).setBuffer(buffer));
  const child = document
    .createNode('child')
    .setMesh(document.createMesh().addPrimitive(primitive))
    .setTranslation([1, 2, 3])
    .setScale([-2, 0.5, 1]);
  const rotation = new THREE.Quaternion().setFromEuler(new THREE.Euler(0.4, 1.2, -0.3));
  const parent = document.createNode('parent').addChild(child).setRotation(rotation.toArray() as [number, number, number, number]).setTranslation([10, 0, -5]);
  document.getRoot().setDefaultScene(document.createScene().addChild(parent));

  const p3 = new THREE.Object3D();
  p3.quaternion.copy(rotation);
  p3.position.set(10, 0, -5);
  const c3 = new THREE.Object3D();
  c3.position.set(1, 2, 3);
  c3.scale.set(-2, 0.5, 1);
  p3.add(c3);
  p3.updateMatrixWorld(true);
  const expected = cube.positions.slice();
  const v = new THREE.Vector3();
  for (let i = 0; i < expected.length; i += 3) v.fromArray(expected, i).applyMatrix4(c3.matrixWorld).toArray(expected, i);
  return { document, expected, cube };
}

async function writer(dependencies: Record<string, unknown> = {}): Promise<WebIO> {
  return new WebIO().registerExtensions(ALL_EXTENSIONS).registerDependencies(dependencies);
}

function glbJson(glb: Uint8Array): { extensionsUsed?: string[]; extensionsRequired?: string[] } {
  const length = new DataView(glb.buffer, glb.byteOffset).getUint32(12, true);
  return JSON.parse(new TextDecoder().decode(glb.subarray(20, 20 + length))) as { extensionsUsed?: string[] };
}

function flippedIndices(indices: Uint32Array): Uint32Array {
  const out = indices.slice();
  for (let t = 0; t < out.length; t += 3) [out[t + 1], out[t + 2]] = [out[t + 2]!, out[t + 1]!];
  return out;
}

describe('glTF reader', () => {
  it('decodes a Draco-compressed GLB with a mirrored node hierarchy', async () => {
    const { document, expected, cube } = await hierarchyDocument();
    document.createExtension(KHRDracoMeshCompression).setRequired(true);
    const draco = require('draco3dgltf') as { createEncoderModule(): Promise<unknown> };
    const io = await writer({ 'draco3d.encoder': await draco.createEncoderModule() });
    const glb = await io.writeBinary(document);
    assert.deepEqual(glbJson(glb).extensionsRequired, ['KHR_draco_mesh_compression'], 'really compressed');

    const result = await read(glb, 'glb');
    // Draco quantises positions (14 bits over the 2-unit box by default): about 1e-4 here.
    const expectedMesh = { positions: expected, indices: flippedIndices(cube.indices) };
    assertSameSurface(result.mesh, expectedMesh, 1e-3);
    assert.ok(isClosed(result.mesh));
    const volume = meshVolume(result.mesh.positions, result.mesh.indices);
    assert.ok(Math.abs(volume - 8 * 2 * 0.5) < 1e-2, `volume ${volume} (mirrored, yet positive)`);
    const colours = new Float32Array(cube.positions.length);
    for (let v = 0; v < colours.length / 3; v++) colours.set([v * 9, 255 - v * 9, 128].map((c) => linearToSrgb(c / 255)), v * 3);
    assertColoursByPlace(result.mesh, expectedMesh, colours, 1e-2, 1e-3);
  });

  it('decodes a meshopt-compressed GLB', async () => {
    const { document, expected, cube } = await hierarchyDocument();
    const { MeshoptEncoder } = await import('meshoptimizer');
    await MeshoptEncoder.ready;
    document.createExtension(EXTMeshoptCompression).setRequired(true).setEncoderOptions({ method: EXTMeshoptCompression.EncoderMethod.QUANTIZE });
    const glb = await (await writer({ 'meshopt.encoder': MeshoptEncoder })).writeBinary(document);
    assert.deepEqual(glbJson(glb).extensionsRequired, ['EXT_meshopt_compression'], 'really compressed');
    const result = await read(glb, 'glb');
    assertSameSurface(result.mesh, { positions: expected, indices: flippedIndices(cube.indices) }, 1e-5);
    assert.ok(isClosed(result.mesh));
  });

  it('converts strips and fans, indexes non-indexed primitives, skips points, instances', async () => {
    const document = new Document();
    const buffer = document.createBuffer();
    const accessor = (type: 'VEC3' | 'SCALAR', array: Float32Array | Uint16Array): Accessor => document.createAccessor().setType(type).setArray(array).setBuffer(buffer);
    // A strip of 4 vertices (two triangles, both facing +z) and a fan of 5 (three triangles).
    const strip = document.createPrimitive().setMode(Primitive.Mode.TRIANGLE_STRIP).setAttribute('POSITION', accessor('VEC3', new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0])));
    const fan = document.createPrimitive().setMode(Primitive.Mode.TRIANGLE_FAN).setAttribute('POSITION', accessor('VEC3', new Float32Array([10, 0, 0, 11, 0, 0, 11, 1, 0, 10, 1, 0, 9, 1, 0])));
    const points = document.createPrimitive().setMode(Primitive.Mode.POINTS).setAttribute('POSITION', accessor('VEC3', new Float32Array([5, 5, 5])));
    const mesh = document.createMesh().addPrimitive(strip).addPrimitive(fan).addPrimitive(points);
    const node = document.createNode().setMesh(mesh);
    const instancing = document.createExtension(EXTMeshGPUInstancing);
    node.setExtension('EXT_mesh_gpu_instancing', instancing.createInstancedMesh().setAttribute('TRANSLATION', accessor('VEC3', new Float32Array([0, 0, 0, 0, 0, 100]))));
    document.getRoot().setDefaultScene(document.createScene().addChild(node));
    const result = await read(await (await writer()).writeBinary(document), 'glb');

    const { positions, indices } = result.mesh;
    assert.equal(indices.length / 3, 2 * (2 + 3), 'two instances of 2 + 3 triangles');
    for (let t = 0; t < indices.length; t += 3) {
      const a = [0, 1, 2].map((k) => Array.from(positions.subarray(indices[t + k]! * 3, indices[t + k]! * 3 + 3)));
      const z = (a[1]![0]! - a[0]![0]!) * (a[2]![1]! - a[0]![1]!) - (a[1]![1]! - a[0]![1]!) * (a[2]![0]! - a[0]![0]!);
      assert.ok(z > 0, `triangle ${t / 3} faces +z`);
    }
    assert.ok(positions.some((c, i) => i % 3 === 2 && c === 100), 'second instance moved');
    assert.ok(result.notes.some((n) => /points or lines/.test(n)));
  });

  it('multiplies COLOR_0 by the base colour, and gives uncoloured primitives their material colour', async () => {
    const document = new Document();
    const buffer = document.createBuffer();
    const triangle = (x: number): Accessor => document.createAccessor().setType('VEC3').setArray(new Float32Array([x, 0, 0, x + 1, 0, 0, x, 1, 0])).setBuffer(buffer);
    const plain = document.createPrimitive().setAttribute('POSITION', triangle(0))
      .setMaterial(document.createMaterial().setBaseColorFactor([0.25, 0.5, 1, 1]));
    const coloured = document.createPrimitive().setAttribute('POSITION', triangle(10))
      .setAttribute('COLOR_0', document.createAccessor().setType('VEC3').setArray(new Float32Array([1, 1, 1, 0.5, 0.5, 0.5, 0, 0, 0])).setBuffer(buffer))
      .setMaterial(document.createMaterial().setBaseColorFactor([1, 0.5, 1, 1]));
    document.getRoot().setDefaultScene(document.createScene().addChild(document.createNode().setMesh(document.createMesh().addPrimitive(plain).addPrimitive(coloured))));
    const result = await read(await (await writer()).writeBinary(document), 'glb');
    const expected = [
      ...[0.25, 0.5, 1], ...[0.25, 0.5, 1], ...[0.25, 0.5, 1],
      ...[1, 0.5, 1], ...[0.5, 0.25, 0.5], ...[0, 0, 0],
    ].map(linearToSrgb);
    result.mesh.colors!.forEach((c, i) => assert.ok(Math.abs(c - expected[i]!) < 1e-6, `colour ${i}: ${c} vs ${expected[i]}`));
  });

  it('refuses external buffers without a folder to read them from, garbage and truncated files clearly', async () => {
    // Reading them from the file's folder is tested in gltfFiles.test.ts.
    const gltf = { asset: { version: '2.0' }, buffers: [{ uri: 'part.bin', byteLength: 12 }] };
    await assert.rejects(read(text(JSON.stringify(gltf)), 'glb'), /keeps buffer 0 in the separate file "part\.bin", and no folder was given/);
    await assert.rejects(read(text('hello'), 'glb'), /neither a GLB/);
    await assert.rejects(read(text('{"nodes": []}'), 'glb'), /not a glTF document/);
    const glb = encodeGlb(unitCube(), OPTIONS);
    await assert.rejects(read(glb.subarray(0, glb.length - 8), 'glb'), /truncated/);
  });

  it('reads from an unaligned view of a larger buffer', async () => {
    const glb = encodeGlb(unitCube(), OPTIONS);
    const bigger = new Uint8Array(glb.length + 1);
    bigger.set(glb, 1);
    const result = await read(bigger.subarray(1), 'glb');
    assert.equal(result.mesh.indices.length, 36);
  });
});

// ---------------------------------------------------------------------------------------------
// Formats by path

describe('meshFormatOfPath', () => {
  it('recognises the extensions, case-insensitively, and nothing else', () => {
    assert.equal(meshFormatOfPath('/a/b/part.STL'), 'stl');
    assert.equal(meshFormatOfPath('C:\\models\\scan.ply'), 'ply');
    assert.equal(meshFormatOfPath('x.obj'), 'obj');
    assert.equal(meshFormatOfPath('x.glb'), 'glb');
    assert.equal(meshFormatOfPath('x.gltf'), 'glb');
    assert.equal(meshFormatOfPath('x.step'), undefined);
    assert.equal(meshFormatOfPath('/a.stl/readme'), undefined);
    assert.equal(meshFormatOfPath('.obj'), undefined);
    assert.equal(meshFormatOfPath('x.toString'), undefined);
    assert.deepEqual([...MESH_FILE_EXTENSIONS].sort(), ['glb', 'gltf', 'obj', 'ply', 'stl']);
    for (const extension of MESH_FILE_EXTENSIONS) assert.ok(meshFormatOfPath(`a.${extension}`));
  });
});
