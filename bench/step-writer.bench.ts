/**
 * Times encodeStep on two ~300 k-triangle meshes and, when OpenCascade's DRAW is installed
 * (Debian: occt-draw, command occt-draw-7.6), OpenCascade writing STEP of the very same mesh in the
 * same run, for reference ratios of time and size.
 *
 *   node --import tsx bench/step-writer.bench.ts
 *
 * Meshes (millimetres, 100 mm across):
 * - curved: marching cubes of the benchmarks' ball + torus field on a 320³ grid (297 k triangles),
 *   curved everywhere like a network's output;
 * - flat:   marching cubes of a machined-looking part on a 280³ grid (314 k triangles): a plate with
 *   two round holes, a raised block and a chamfer, so large flat regions plus curved walls.
 *
 * Ours: encodeStepBytes, median of three runs after a warm-up, with coplanar merging (the default)
 * and with mergeCoplanar: false (one face per triangle, the size baseline).
 *
 * Reference: DRAW builds an OpenCascade shape of the mesh with one planar face per triangle and
 * shared edges, then `stepwrite` writes it; only stepwrite is timed, with DRAW's `dchrono` (wall
 * clock, covering OpenCascade's transfer to STEP entities and the file output). The shape comes
 * from reading our one-face-per-triangle STEP file with `stepread` (about two minutes per mesh).
 * With STEP_BENCH_REFERENCE=stl it comes instead from `readstl <shape> <file> -brep` on a binary STL
 * this benchmark writes; that builds the same faces but takes about 16 minutes per mesh here, as
 * its time grows with the square of the triangle count. Either way the whole run takes several
 * minutes, nearly all of it OpenCascade's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Mesh } from '../src/pipeline/mesh/mesh.js';
import { encodeStepBytes, type StepOptions } from '../src/pipeline/writers/step.js';
import { marchingCubesBlob, marchingCubesPart } from '../test/fixtures/flatMeshes.js';

const RUNS = 3;
const DRAW = 'occt-draw-7.6';
const REFERENCE_SOURCE = process.env.STEP_BENCH_REFERENCE === 'stl' ? 'stl' : 'step';
const OPTIONS: StepOptions = { name: 'bench', generator: 'step-writer bench' };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Binary STL: 80-byte header, triangle count, then per triangle a normal, three corners and a spare uint16. */
function stlBytes(mesh: Mesh): Buffer {
  const count = mesh.indices.length / 3;
  const out = Buffer.alloc(84 + 50 * count);
  out.write('step-writer bench', 0, 'latin1');
  out.writeUInt32LE(count, 80);
  const p = mesh.positions;
  for (let t = 0; t < count; t++) {
    const at = 84 + 50 * t;
    const [a, b, c] = [mesh.indices[t * 3]! * 3, mesh.indices[t * 3 + 1]! * 3, mesh.indices[t * 3 + 2]! * 3];
    const u = [p[b]! - p[a]!, p[b + 1]! - p[a + 1]!, p[b + 2]! - p[a + 2]!];
    const v = [p[c]! - p[a]!, p[c + 1]! - p[a + 1]!, p[c + 2]! - p[a + 2]!];
    const n = [u[1]! * v[2]! - u[2]! * v[1]!, u[2]! * v[0]! - u[0]! * v[2]!, u[0]! * v[1]! - u[1]! * v[0]!];
    const length = Math.hypot(n[0]!, n[1]!, n[2]!) || 1;
    for (let k = 0; k < 3; k++) out.writeFloatLE(n[k]! / length, at + 4 * k);
    for (const [corner, base] of [a, b, c].entries()) {
      for (let k = 0; k < 3; k++) out.writeFloatLE(p[base + k]!, at + 12 + 12 * corner + 4 * k);
    }
  }
  return out;
}

interface Timed {
  readonly ms: number;
  readonly bytes: Uint8Array;
}

function timeOurs(mesh: Mesh, mergeCoplanar: boolean): Timed {
  let bytes = encodeStepBytes(mesh, { ...OPTIONS, mergeCoplanar });
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    bytes = encodeStepBytes(mesh, { ...OPTIONS, mergeCoplanar });
    times.push(performance.now() - t0);
  }
  return { ms: median(times), bytes };
}

/** DRAW's "Elapsed time: H Hours M Minutes S Seconds" in milliseconds. */
function elapsedMs(text: string): number {
  const m = /Elapsed time: (\d+) Hours (\d+) Minutes ([\d.]+) Seconds/.exec(text);
  if (!m) return NaN;
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000;
}

interface Reference {
  readonly ms: number;
  readonly size: number;
}

function timeReference(dir: string, label: string, mesh: Mesh, perTriangle: Uint8Array): Reference | string {
  const source = join(dir, `${label}.${REFERENCE_SOURCE}`);
  const output = join(dir, `${label}.occt.step`);
  writeFileSync(source, REFERENCE_SOURCE === 'stl' ? stlBytes(mesh) : perTriangle);
  // Either way the shape is named s_1 (stepread numbers the roots it reads after the given prefix).
  const load = REFERENCE_SOURCE === 'stl' ? `readstl s_1 ${source} -brep` : `stepread ${source} s *`;
  const script = [
    'pload ALL',
    load,
    'puts "@@faces"',
    'nbshapes s_1',
    'puts "@@write"',
    'dchrono w restart',
    `stepwrite a s_1 ${output}`,
    'dchrono w stop',
    'dchrono w show',
    'exit',
  ].join('\n');
  const run = spawnSync(DRAW, ['-b'], { input: `${script}\n`, encoding: 'utf8', maxBuffer: 256 << 20 });
  try {
    if (run.error || run.status !== 0) return `${DRAW} failed: ${run.error?.message ?? run.stderr.trim().split('\n').at(-1)}`;
    const faces = Number(/FACE\s*:\s*(\d+)/.exec(run.stdout.split('@@faces')[1] ?? '')?.[1]);
    const ms = elapsedMs(run.stdout.split('@@write')[1] ?? '');
    if (!(faces > 0) || !Number.isFinite(ms)) return `unexpected ${DRAW} output:\n${run.stdout.slice(-2000)}`;
    console.log(`  reference shape: ${faces} faces, from ${REFERENCE_SOURCE === 'stl' ? 'readstl -brep' : 'stepread of our per-triangle file'}`);
    return { ms, size: statSync(output).size };
  } finally {
    rmSync(source, { force: true });
    rmSync(output, { force: true });
  }
}

function row(label: string, ms: number, size: number, triangles: number): void {
  console.log(
    `  ${label.padEnd(34)} ${ms.toFixed(0).padStart(7)} ms  ${(size / 1e6).toFixed(2).padStart(8)} MB  ${(size / triangles).toFixed(1).padStart(7)} bytes/triangle`,
  );
}

const drawProbe = spawnSync(DRAW, ['-b'], { input: 'exit\n', encoding: 'utf8' });
const drawMissing = drawProbe.error || drawProbe.status !== 0 ? `${DRAW} not usable (apt-get install occt-draw)` : undefined;

const dir = mkdtempSync(join(tmpdir(), 'step-bench-'));
try {
  const meshes: [string, () => Mesh][] = [
    ['curved (ball + torus, 320³ marching cubes)', () => marchingCubesBlob(320)],
    ['flat (machined part, 280³ marching cubes)', () => marchingCubesPart(280)],
  ];
  for (const [index, [label, make]] of meshes.entries()) {
    const mesh = make();
    const triangles = mesh.indices.length / 3;
    console.log(`${label}: ${triangles} triangles, ${mesh.positions.length / 3} vertices`);
    const merged = timeOurs(mesh, true);
    const perTriangle = timeOurs(mesh, false);
    row(`ours, merged (median of ${RUNS})`, merged.ms, merged.bytes.length, triangles);
    row(`ours, one face per triangle`, perTriangle.ms, perTriangle.bytes.length, triangles);
    console.log(`  size merged / per triangle: ${(merged.bytes.length / perTriangle.bytes.length).toFixed(4)}`);
    if (drawMissing) {
      console.log(`  reference skipped: ${drawMissing}`);
      continue;
    }
    const reference = timeReference(dir, `mesh${index}`, mesh, perTriangle.bytes);
    if (typeof reference === 'string') {
      console.log(`  reference failed: ${reference}`);
      continue;
    }
    row('OpenCascade 7.6 stepwrite', reference.ms, reference.size, triangles);
    console.log(
      `  ratio OpenCascade / ours: time ${(reference.ms / merged.ms).toFixed(1)}x (merged), ` +
        `${(reference.ms / perTriangle.ms).toFixed(1)}x (per triangle); size ${(reference.size / merged.bytes.length).toFixed(1)}x, ` +
        `${(reference.size / perTriangle.bytes.length).toFixed(2)}x`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
