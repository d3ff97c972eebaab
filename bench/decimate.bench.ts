/**
 * Times decimate on a ~300 k-triangle marching-cubes mesh (sphere + torus field) down to 50 k and,
 * when VTK's Python bindings are available to the system Python (Debian: python3-vtk9), VTK's
 * vtkQuadricDecimation on the very same mesh for a reference ratio.
 *
 *   node --import tsx bench/decimate.bench.ts
 *
 * Error is the largest distance from an output vertex to the input surface, measured exactly with
 * vtkStaticCellLocator when VTK is present; without it, ours falls back to the distance to the
 * nearest input vertex (an upper bound that overstates by up to about half an input edge).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { decimate } from '../src/pipeline/mesh/decimate.js';
import type { Mesh } from '../src/pipeline/mesh/mesh.js';
import { meshMetrics } from '../src/pipeline/mesh/metrics.js';
import { marchingCubes } from '../src/pipeline/surface/marchingCubes.js';
import { sphereTorusField } from '../test/fixtures/numeric.js';

const N = 320;
const RADIUS = 0.75;
const TARGET = 50_000;
const RUNS = 3;
const PYTHON = '/usr/bin/python3';

function buildMesh(): Mesh {
  return marchingCubes(sphereTorusField(N, RADIUS), [N, N, N], 0);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Binary little-endian PLY: float xyz vertices, uchar-counted int triangles. */
function writePly(path: string, mesh: Mesh): void {
  const v = mesh.positions.length / 3;
  const f = mesh.indices.length / 3;
  const header = Buffer.from(
    `ply\nformat binary_little_endian 1.0\nelement vertex ${v}\nproperty float x\nproperty float y\nproperty float z\n` +
      `element face ${f}\nproperty list uchar int vertex_indices\nend_header\n`,
    'latin1',
  );
  const body = Buffer.alloc(12 * v + 13 * f);
  for (let i = 0; i < 3 * v; i++) body.writeFloatLE(mesh.positions[i]!, 4 * i);
  let o = 12 * v;
  for (let t = 0; t < f; t++) {
    body.writeUInt8(3, o);
    for (let k = 0; k < 3; k++) body.writeInt32LE(mesh.indices[3 * t + k]!, o + 1 + 4 * k);
    o += 13;
  }
  writeFileSync(path, Buffer.concat([header, body]));
}

/** Max distance from each output vertex to its nearest input vertex, through a uniform grid. */
function nearestVertexError(input: Mesh, output: Mesh): number {
  const p = input.positions;
  const n = p.length / 3;
  const cell = 2 / N;
  const key = (x: number, y: number, z: number): number => ((x + 1024) * 2048 + (y + 1024)) * 2048 + (z + 1024);
  const buckets = new Map<number, number[]>();
  for (let v = 0; v < n; v++) {
    const k = key(Math.floor(p[3 * v]! / cell), Math.floor(p[3 * v + 1]! / cell), Math.floor(p[3 * v + 2]! / cell));
    let b = buckets.get(k);
    if (!b) buckets.set(k, (b = []));
    b.push(v);
  }
  let worst = 0;
  const q = output.positions;
  for (let v = 0; v < q.length; v += 3) {
    const cx = Math.floor(q[v]! / cell), cy = Math.floor(q[v + 1]! / cell), cz = Math.floor(q[v + 2]! / cell);
    let best = Infinity;
    // Grow the search ring until a found vertex is provably nearest (within the searched cube).
    for (let r = 0; r < 64 && !(best <= (r - 1) * cell); r++) {
      for (let dx = -r; dx <= r; dx++) {
        for (let dy = -r; dy <= r; dy++) {
          for (let dz = -r; dz <= r; dz++) {
            if (Math.max(Math.abs(dx), Math.abs(dy), Math.abs(dz)) !== r) continue;
            for (const u of buckets.get(key(cx + dx, cy + dy, cz + dz)) ?? []) {
              best = Math.min(best, Math.hypot(p[3 * u]! - q[v]!, p[3 * u + 1]! - q[v + 1]!, p[3 * u + 2]! - q[v + 2]!));
            }
          }
        }
      }
    }
    worst = Math.max(worst, best);
  }
  return worst;
}

const SCRIPT = `
import sys, time, struct
import vtk
src, ours, target, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def read(path):
    r = vtk.vtkPLYReader(); r.SetFileName(path); r.Update(); return r.GetOutput()
mesh = read(src)
faces = mesh.GetNumberOfCells()
d = vtk.vtkQuadricDecimation()
d.SetInputData(mesh)
d.SetTargetReduction(1.0 - target / faces)
t0 = time.perf_counter(); d.Update(); t1 = time.perf_counter()
ref = d.GetOutput()
loc = vtk.vtkStaticCellLocator(); loc.SetDataSet(mesh); loc.BuildLocator()
def err(poly):
    worst = 0.0
    cp = [0.0, 0.0, 0.0]; cell = vtk.reference(0); sub = vtk.reference(0); d2 = vtk.reference(0.0)
    pts = poly.GetPoints()
    for i in range(poly.GetNumberOfPoints()):
        loc.FindClosestPoint(pts.GetPoint(i), cp, cell, sub, d2)
        worst = max(worst, float(d2) ** 0.5)
    return worst
ref_err = err(ref)
ours_err = err(read(ours))
pts = ref.GetPoints(); n = ref.GetNumberOfPoints(); polys = ref.GetPolys()
ids = vtk.vtkIdList(); tris = []
polys.InitTraversal()
while polys.GetNextCell(ids):
    if ids.GetNumberOfIds() == 3: tris.extend(ids.GetId(k) for k in range(3))
with open(out, 'wb') as f:
    f.write(struct.pack('<ii', n, len(tris) // 3))
    f.write(struct.pack('<%df' % (3 * n), *[c for i in range(n) for c in pts.GetPoint(i)]))
    f.write(struct.pack('<%di' % len(tris), *tris))
print(f"{(t1 - t0) * 1000:.1f} {ref_err:.6g} {ours_err:.6g}")
`;

function readRaw(path: string): Mesh {
  const buf = readFileSync(path);
  const n = buf.readInt32LE(0);
  const f = buf.readInt32LE(4);
  const positions = new Float32Array(3 * n);
  for (let i = 0; i < 3 * n; i++) positions[i] = buf.readFloatLE(8 + 4 * i);
  const indices = new Uint32Array(3 * f);
  for (let i = 0; i < 3 * f; i++) indices[i] = buf.readInt32LE(8 + 12 * n + 4 * i);
  return { positions, indices };
}

function describe(label: string, mesh: Mesh, ms: number, error: number, errorKind: string): void {
  const m = meshMetrics(mesh);
  console.log(
    `${label.padEnd(26)} ${ms.toFixed(0).padStart(6)} ms  ${String(m.faces).padStart(7)} triangles  ` +
      `max error ${error.toExponential(4)} (${errorKind})  watertight=${m.watertight} nonManifoldEdges=${m.nonManifoldEdges} volume=${m.volume.toFixed(0)}`,
  );
}

const input = buildMesh();
const inputMetrics = meshMetrics(input);
console.log(`input: ${inputMetrics.faces} triangles, ${inputMetrics.vertices} vertices (grid ${N}^3, units of grid cells), volume=${inputMetrics.volume.toFixed(0)}`);

const times: number[] = [];
let ours: Mesh | undefined;
for (let r = 0; r < RUNS; r++) {
  const t0 = performance.now();
  ours = decimate(input, TARGET);
  times.push(performance.now() - t0);
}
const oursMs = median(times);

const dir = mkdtempSync(join(tmpdir(), 'decimate-bench-'));
try {
  const src = join(dir, 'input.ply');
  const oursPath = join(dir, 'ours.ply');
  const refPath = join(dir, 'ref.bin');
  const script = join(dir, 'ref.py');
  writePly(src, input);
  writePly(oursPath, ours!);
  writeFileSync(script, SCRIPT);
  const run = spawnSync(PYTHON, [script, src, oursPath, String(TARGET), refPath], { encoding: 'utf8' });
  if (run.status !== 0) {
    describe(`decimate (median of ${RUNS})`, ours!, oursMs, nearestVertexError(input, ours!), 'nearest input vertex');
    console.log(`reference skipped: ${PYTHON} with VTK (apt-get install python3-vtk9) not usable:\n${(run.stderr || run.error?.message || '').trim().split('\n').at(-1)}`);
  } else {
    const [refMs, refError, oursError] = run.stdout.trim().split(/\s+/).map(Number) as [number, number, number];
    const reference = readRaw(refPath);
    describe(`decimate (median of ${RUNS})`, ours!, oursMs, oursError, 'to input surface');
    describe('vtkQuadricDecimation', reference, refMs, refError, 'to input surface');
    console.log(`ratio ours / VTK: ${(oursMs / refMs).toFixed(2)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
