/**
 * Times marchingCubes on a 256^3 sphere + torus field and, when scikit-image is available to the
 * system Python, skimage.measure.marching_cubes on the very same field for a reference ratio.
 *
 *   node --import tsx bench/marching-cubes.bench.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { marchingCubes } from '../src/pipeline/surface/marchingCubes.js';
import { sphereTorusField } from '../test/fixtures/numeric.js';

const N = 256;
const RADIUS = 0.87;
const RUNS = 5;
const PYTHON = '/usr/bin/python3';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** A minimal .npy (format 1.0) so numpy can load the field with np.load. */
function npyBytes(field: Float32Array, shape: readonly number[]): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(field.buffer, field.byteOffset, field.byteLength)]);
}

const REFERENCE = `
import json, sys, time
import numpy as np
from skimage import __version__ as version
from skimage.measure import marching_cubes
vol = np.load(sys.argv[1])
times = []
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    verts, faces, _, _ = marching_cubes(vol, level=0.0)
    times.append(time.perf_counter() - t0)
times.sort()
print(json.dumps({"seconds": times[len(times) // 2], "faces": int(len(faces)), "vertices": int(len(verts)), "version": version}))
`;

function main(): void {
  const tField = performance.now();
  const field = sphereTorusField(N, RADIUS);
  console.log(`field ${N}^3 built in ${((performance.now() - tField) / 1000).toFixed(2)} s`);

  marchingCubes(field, [N, N, N], 0); // warm-up so the JIT has compiled the hot loops
  const times: number[] = [];
  let triangles = 0;
  let vertices = 0;
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    const mesh = marchingCubes(field, [N, N, N], 0);
    times.push((performance.now() - t0) / 1000);
    triangles = mesh.indices.length / 3;
    vertices = mesh.positions.length / 3;
  }
  const ours = median(times);
  console.log(`marchingCubes: ${(ours * 1000).toFixed(1)} ms (median of ${RUNS}), ${triangles} triangles, ${vertices} vertices`);

  const probe = spawnSync(PYTHON, ['-c', 'import skimage, numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    console.log(`reference unavailable: ${PYTHON} cannot import skimage/numpy (install with: apt-get install python3-skimage)`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'mc-bench-'));
  try {
    const path = join(dir, 'field.npy');
    writeFileSync(path, npyBytes(field, [N, N, N]));
    const run = spawnSync(PYTHON, ['-c', REFERENCE, path, String(RUNS)], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (run.status !== 0) {
      console.log(`reference failed: ${run.stderr.trim()}`);
      return;
    }
    const ref = JSON.parse(run.stdout.trim()) as { seconds: number; faces: number; vertices: number; version: string };
    console.log(
      `skimage ${ref.version} marching_cubes: ${(ref.seconds * 1000).toFixed(1)} ms (median of ${RUNS}), ${ref.faces} triangles, ${ref.vertices} vertices`,
    );
    console.log(`ratio ours / skimage: ${(ours / ref.seconds).toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
