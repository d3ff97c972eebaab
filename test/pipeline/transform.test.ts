import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cadToGltf, toCadFrame, toFrame } from '../../src/pipeline/mesh/transform.js';
import type { Mesh } from '../../src/pipeline/mesh/mesh.js';

// A tetrahedron in the network's frame with one marked vertex on each axis: the front (+X, towards
// the camera), image-right (+Y) and up (+Z).
const front = [0.5, 0, 0];
const right = [0, 0.25, 0];
const up = [0, 0, 0.4];
const origin = [0, 0, 0];
const mesh: Mesh = {
  positions: new Float32Array([...origin, ...front, ...right, ...up]),
  indices: new Uint32Array([0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3]),
  normals: new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]),
};

function vertex(m: Mesh, i: number): number[] {
  return [...m.positions.subarray(3 * i, 3 * i + 3)];
}

function signedVolume(m: Mesh): number {
  let v = 0;
  for (let t = 0; t < m.indices.length; t += 3) {
    const [a, b, c] = [0, 1, 2].map((k) => vertex(m, m.indices[t + k]));
    v += (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0])) / 6;
  }
  return v;
}

test('glTF frame: front towards +Z, image-right +X, up +Y, metres, on the ground', () => {
  const out = toFrame(mesh, 'gltf', 100);
  const [o, f, r, u] = [0, 1, 2, 3].map((i) => vertex(out, i));
  assert.ok(f[2] > o[2], 'front vertex is nearer +Z');
  assert.ok(r[0] > o[0], 'image-right vertex is towards +X');
  assert.ok(u[1] > o[1], 'up vertex is towards +Y');
  // The longest side (the 0.5 front extent) becomes 100 mm = 0.1 m.
  const ys = [o, f, r, u].map((p) => p[1]);
  const zs = [o, f, r, u].map((p) => p[2]);
  assert.ok(Math.abs(Math.max(...zs) - Math.min(...zs) - 0.1) < 1e-6);
  assert.ok(Math.abs(Math.min(...ys)) < 1e-7, 'lowest point on y = 0');
  assert.deepEqual([...out.normals!.subarray(3, 6)].map(Math.round), [0, 0, 1]);
});

test('CAD frame: front towards −Y, image-right +X, up +Z, millimetres, on the ground', () => {
  const out = toFrame(mesh, 'cad', 250);
  const [o, f, r, u] = [0, 1, 2, 3].map((i) => vertex(out, i));
  assert.ok(f[1] < o[1], 'front vertex is towards −Y');
  assert.ok(r[0] > o[0], 'image-right vertex is towards +X');
  assert.ok(u[2] > o[2], 'up vertex is towards +Z');
  const ys = [o, f, r, u].map((p) => p[1]);
  assert.ok(Math.abs(Math.max(...ys) - Math.min(...ys) - 250) < 1e-4);
  assert.ok(Math.abs(Math.min(...[o, f, r, u].map((p) => p[2]))) < 1e-6);
});

test('both frames are rotations: orientation (signed volume sign) is kept', () => {
  const before = signedVolume(mesh);
  assert.ok(before > 0);
  assert.ok(signedVolume(toFrame(mesh, 'gltf', 100)) > 0);
  assert.ok(signedVolume(toFrame(mesh, 'cad', 100)) > 0);
});

test('a Y-up file comes into the CAD frame standing up, front towards −Y, in millimetres, where it was', () => {
  // The tetrahedron read as a Y-up file in metres: its +Z is the front, +Y up, +X right.
  const file: Mesh = { ...mesh, positions: new Float32Array([1, 2, 3, 1.5, 2, 3, 1, 2.25, 3, 1, 2, 3.4]) };
  const out = toCadFrame(file, 'y', 1000);
  assert.deepEqual(vertex(out, 0).map(Math.round), [1000, -3000, 2000], 'kept in place, only its axes renamed');
  const [o, r, u, f] = [0, 1, 2, 3].map((i) => vertex(out, i));
  assert.ok(r[0] > o[0], 'right stays +X');
  assert.ok(u[2] > o[2], 'up becomes +Z');
  assert.ok(f[1] < o[1], 'front becomes −Y');
  assert.deepEqual([...out.normals!.subarray(6, 9)].map((v) => v + 0), [0, 0, 1], 'the up normal turns with the mesh, unscaled');
  assert.ok(signedVolume(out) > 0);
  assert.deepEqual([...toCadFrame(file, 'z', 25.4).positions], [...file.positions].map((v) => Math.fround(v * 25.4)), 'a Z-up file only scales');
});

test('cadToGltf undoes toCadFrame of a Y-up file, back in metres', () => {
  const file: Mesh = { ...mesh, positions: new Float32Array([1, 2, 3, 1.5, 2, 3, 1, 2.25, 3, 1, 2, 3.4]) };
  const back = cadToGltf(toCadFrame(file, 'y', 1000));
  back.positions.forEach((v, i) => assert.ok(Math.abs(v - file.positions[i]) < 1e-6, `coordinate ${i}: ${v}`));
  assert.deepEqual([...back.normals!], [...file.normals!]);
  assert.ok(signedVolume(back) > 0);
});
