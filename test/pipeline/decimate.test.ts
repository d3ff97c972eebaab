import { test } from 'node:test';
import assert from 'node:assert/strict';

import { decimate } from '../../src/pipeline/mesh/decimate.js';
import type { Mesh } from '../../src/pipeline/mesh/mesh.js';
import { meshMetrics } from '../../src/pipeline/mesh/metrics.js';
import { CancelledError } from '../../src/pipeline/progress.js';
import { marchingCubes } from '../../src/pipeline/surface/marchingCubes.js';

type Field = (x: number, y: number, z: number) => number;

/** Marching cubes of `field` on an n^3 grid, in grid index units (inside where field >= 0). */
function meshOf(field: Field, n: number): Mesh {
  const values = new Float32Array(n * n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < n; k++) values[(i * n + j) * n + k] = field(i, j, k);
    }
  }
  return marchingCubes(values, [n, n, n], 0);
}

const N = 124;
const C = (N - 1) / 2;
const R = 54;
let sphereCache: Mesh | undefined;
/** About 100 k triangles. */
function sphere(): Mesh {
  sphereCache ??= meshOf((x, y, z) => R - Math.hypot(x - C, y - C, z - C), N);
  return sphereCache;
}

function eulerCharacteristic(mesh: Mesh): number {
  const m = meshMetrics(mesh);
  // A closed manifold has every edge on exactly two faces.
  assert.ok(m.watertight);
  return m.vertices - (3 * m.faces) / 2 + m.faces;
}

test('a marching-cubes sphere decimates to the target, closed, with its volume and shape', () => {
  const input = sphere();
  const before = meshMetrics(input);
  assert.ok(before.faces > 90_000 && before.faces < 130_000, `sphere has ${before.faces} faces`);
  assert.ok(before.watertight);

  const target = 5000;
  const output = decimate(input, target);
  const after = meshMetrics(output);
  assert.ok(Math.abs(after.faces - target) <= 0.03 * target, `got ${after.faces} faces for target ${target}`);
  assert.equal(after.boundaryEdges, 0);
  assert.equal(after.nonManifoldEdges, 0);
  assert.ok(after.watertight);
  assert.equal(after.components, 1);
  assert.ok(after.volume > 0, 'orientation kept outward');
  assert.ok(Math.abs(after.volume / before.volume - 1) < 0.01, `volume ratio ${after.volume / before.volume}`);

  let maxDeviation = 0;
  for (let v = 0; v < output.positions.length; v += 3) {
    const r = Math.hypot(output.positions[v]! - C, output.positions[v + 1]! - C, output.positions[v + 2]! - C);
    maxDeviation = Math.max(maxDeviation, Math.abs(r - R));
  }
  assert.ok(maxDeviation < 0.01 * R, `max deviation ${maxDeviation} of radius ${R}`);

  // Compacted: every vertex is used, and normals match and point outward.
  const used = new Uint8Array(after.vertices);
  for (const i of output.indices) used[i] = 1;
  assert.ok(used.every((u) => u === 1));
  assert.equal(output.normals?.length, output.positions.length);
  let outward = 0;
  for (let v = 0; v < output.positions.length; v += 3) {
    const d = (output.positions[v]! - C) * output.normals![v]! + (output.positions[v + 1]! - C) * output.normals![v + 1]! + (output.positions[v + 2]! - C) * output.normals![v + 2]!;
    if (d > 0) outward++;
  }
  assert.equal(outward, after.vertices);
});

test('a torus keeps its genus', () => {
  const n = 90;
  const c = (n - 1) / 2;
  const torus = meshOf((x, y, z) => 10 - Math.hypot(Math.hypot(x - c, y - c) - 28, z - c), n);
  assert.equal(eulerCharacteristic(torus), 0);
  const output = decimate(torus, 2000);
  const m = meshMetrics(output);
  assert.ok(Math.abs(m.faces - 2000) <= 60, `got ${m.faces} faces`);
  assert.equal(eulerCharacteristic(output), 0);
  assert.equal(m.components, 1);
  assert.ok(m.volume > 0);
});

test('colours are carried with the vertices', () => {
  const input = sphere();
  const colors = new Float32Array(input.positions.length);
  // Red follows x across the sphere's extent; green and blue are constant and must stay so.
  for (let v = 0; v < input.positions.length; v += 3) {
    colors[v] = (input.positions[v]! - (C - R)) / (2 * R);
    colors[v + 1] = 0.25;
    colors[v + 2] = 0.75;
  }
  const output = decimate({ ...input, colors }, 4000);
  assert.ok(output.colors);
  assert.equal(output.colors.length, output.positions.length);
  let worst = 0;
  for (let v = 0; v < output.positions.length; v += 3) {
    const expected = (output.positions[v]! - (C - R)) / (2 * R);
    worst = Math.max(worst, Math.abs(output.colors[v]! - expected));
    assert.ok(Math.abs(output.colors[v + 1]! - 0.25) < 1e-6);
    assert.ok(Math.abs(output.colors[v + 2]! - 0.75) < 1e-6);
  }
  assert.ok(worst < 0.02, `worst colour error ${worst}`);
});

/** A unit square in z = 0 cut into (2 * cells^2) triangles, wound counter-clockwise from +z. */
function square(cells: number): Mesh {
  const positions = new Float32Array(3 * (cells + 1) * (cells + 1));
  for (let j = 0; j <= cells; j++) {
    for (let i = 0; i <= cells; i++) {
      const v = j * (cells + 1) + i;
      positions[3 * v] = i / cells;
      positions[3 * v + 1] = j / cells;
    }
  }
  const indices = new Uint32Array(6 * cells * cells);
  let o = 0;
  for (let j = 0; j < cells; j++) {
    for (let i = 0; i < cells; i++) {
      const a = j * (cells + 1) + i;
      indices.set([a, a + 1, a + cells + 2, a, a + cells + 2, a + cells + 1], o);
      o += 6;
    }
  }
  return { positions, indices };
}

test('an open square keeps its outline when the boundary is preserved', () => {
  const input = square(40);
  const output = decimate(input, 200, { preserveBoundary: true });
  const m = meshMetrics(output);
  assert.ok(m.faces <= 200 && m.faces >= 2, `got ${m.faces} faces`);
  assert.equal(m.nonManifoldEdges, 0);
  assert.equal(m.components, 1);
  assert.ok(Math.abs(m.area - 1) < 1e-5, `area ${m.area}`);
  assert.deepEqual(m.bbox.min, [0, 0, 0]);
  assert.deepEqual(m.bbox.max, [1, 1, 0]);
  // Every boundary vertex stays on the outline and all four corners survive.
  let corners = 0;
  for (let v = 0; v < output.positions.length; v += 3) {
    const x = output.positions[v]!, y = output.positions[v + 1]!;
    assert.ok(x >= -1e-6 && x <= 1 + 1e-6 && y >= -1e-6 && y <= 1 + 1e-6);
    if ((x === 0 || x === 1) && (y === 0 || y === 1)) corners++;
  }
  assert.equal(corners, 4);
  // The boundary length is still the square's perimeter.
  assert.ok(Math.abs(boundaryLength(output) - 4) < 1e-5, `boundary length ${boundaryLength(output)}`);
});

function boundaryLength(mesh: Mesh): number {
  const uses = new Map<string, number>();
  for (let f = 0; f < mesh.indices.length; f += 3) {
    for (let k = 0; k < 3; k++) {
      const a = mesh.indices[f + k]!, b = mesh.indices[f + ((k + 1) % 3)]!;
      const key = a < b ? `${a},${b}` : `${b},${a}`;
      uses.set(key, (uses.get(key) ?? 0) + 1);
    }
  }
  let length = 0;
  for (const [key, count] of uses) {
    if (count !== 1) continue;
    const [a, b] = key.split(',').map(Number) as [number, number];
    const p = mesh.positions;
    length += Math.hypot(p[3 * a]! - p[3 * b]!, p[3 * a + 1]! - p[3 * b + 1]!, p[3 * a + 2]! - p[3 * b + 2]!);
  }
  return length;
}

test('a target at or above the input returns an equivalent mesh', () => {
  const input = square(6);
  const output = decimate(input, input.indices.length / 3);
  assert.deepEqual(output.indices, input.indices);
  assert.deepEqual(output.positions, input.positions);
  assert.equal(output.normals?.length, input.positions.length);
  const bigger = decimate(input, 1e9);
  assert.deepEqual(bigger.indices, input.indices);
});

test('cancellation through an AbortSignal throws CancelledError', () => {
  const aborted = new AbortController();
  aborted.abort();
  assert.throws(() => decimate(sphere(), 1000, { signal: aborted.signal }), CancelledError);

  // Aborting from the progress callback stops a run already under way.
  const midway = new AbortController();
  const fractions: number[] = [];
  assert.throws(
    () =>
      decimate(sphere(), 1000, {
        signal: midway.signal,
        onProgress: (fraction) => {
          fractions.push(fraction);
          midway.abort();
        },
      }),
    CancelledError,
  );
  assert.equal(fractions.length, 1);
  assert.ok(fractions[0]! > 0 && fractions[0]! < 1);
});

test('progress rises to 1', () => {
  const fractions: number[] = [];
  decimate(sphere(), 20_000, { onProgress: (f) => fractions.push(f) });
  assert.ok(fractions.length > 2);
  for (let i = 1; i < fractions.length; i++) assert.ok(fractions[i]! >= fractions[i - 1]!);
  assert.equal(fractions.at(-1), 1);
});
