/**
 * Coarse-to-fine against dense density sampling, in the same run: queries, time, and the symmetric
 * vertex-to-nearest-vertex distance between the two meshes (an upper bound on the vertex-to-surface
 * Hausdorff distance), on (a) the stand-in model and (b) a TripoSR-shaped decoder with random weights
 * from test/reference/make_checkpoint.py, when the system Python can build one.
 *
 *   node --import tsx bench/coarse-to-fine.bench.ts [resolution] [margin] [coarseStep]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openCheckpoint } from '../src/pipeline/network/checkpoint/torchCheckpoint.js';
import { IMAGE_SIZE, loadModel, type LoadedModel } from '../src/pipeline/network/session.js';
import { writeStandinModels } from '../src/pipeline/network/standinModel.js';
import { convertCheckpoint } from '../src/pipeline/network/triposr/convert.js';
import { sampleCoarseToFine } from '../src/pipeline/surface/coarseToFine.js';
import { sampleDenseGrid, type DensityQuery } from '../src/pipeline/surface/grid.js';
import { marchingCubes } from '../src/pipeline/surface/marchingCubes.js';
import { oneSidedVertexDistance } from '../test/fixtures/numeric.js';

const N = Number(process.argv[2] ?? 256);
const MARGIN = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
const COARSE_STEP = process.argv[4] === undefined ? undefined : Number(process.argv[4]);
const ISO = 25;
const PYTHON = '/usr/bin/python3';

async function compare(label: string, model: LoadedModel): Promise<void> {
  const image = new Float32Array(3 * IMAGE_SIZE * IMAGE_SIZE).fill(0.5);
  const codes = await model.encode(image);
  let queried = 0;
  const query: DensityQuery = async (points) => {
    queried += points.length / 3;
    return (await model.decode(codes, points)).density;
  };
  const dims = [N, N, N] as const;
  // One untimed batch first, so session warm-up is charged to neither side.
  await model.decode(codes, new Float32Array(3 * 262144));

  let t = performance.now();
  const dense = await sampleDenseGrid(query, N);
  const denseMs = performance.now() - t;
  const denseQueries = queried;

  queried = 0;
  t = performance.now();
  const { field, queries, repair } = await sampleCoarseToFine(query, N, ISO, {
    ...(MARGIN === undefined ? {} : { margin: MARGIN }),
    ...(COARSE_STEP === undefined ? {} : { coarseStep: COARSE_STEP }),
  });
  const c2fMs = performance.now() - t;

  const a = marchingCubes(dense, dims, ISO);
  const b = marchingCubes(field, dims, ISO);
  const hausdorff = Math.max(oneSidedVertexDistance(a.positions, b.positions, 32), oneSidedVertexDistance(b.positions, a.positions, 32));
  const distance = Number.isFinite(hausdorff) ? `≤ ${hausdorff.toFixed(3)}` : '> 32';
  let wrongSide = 0;
  for (let i = 0; i < dense.length; i++) if (dense[i]! >= ISO !== field[i]! >= ISO) wrongSide++;
  console.log(
    `${label} @${N} margin ${MARGIN ?? 'default'} step ${COARSE_STEP ?? 'default'} (${model.provider}): dense ${denseQueries} queries ${(denseMs / 1000).toFixed(2)} s | ` +
      `coarse-to-fine ${queries} queries ${(c2fMs / 1000).toFixed(2)} s (${repair.surprises} surprises repaired with ${repair.repairQueries} queries) | ` +
      `queries ${((100 * queries) / denseQueries).toFixed(2)}%, time ${((100 * c2fMs) / denseMs).toFixed(1)}% | ` +
      `Hausdorff ${distance} voxel, points on the wrong side ${wrongSide}, ` +
      `triangles ${a.indices.length / 3} vs ${b.indices.length / 3}`,
  );
}

// The package is CommonJS to tsx, so no top-level await.
async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'c2f-bench-'));
  try {
    const standinDir = join(root, 'standin');
    await writeStandinModels(standinDir);
    const standin = await loadModel(standinDir, { executionProviders: ['cpu'] });
    try {
      await compare('stand-in', standin);
    } finally {
      await standin.dispose();
    }

    const ckptDir = join(root, 'ckpt');
    const made = spawnSync(PYTHON, ['test/reference/make_checkpoint.py', '--config', 'tiny', '--out', ckptDir], { encoding: 'utf8' });
    if (made.status !== 0) {
      console.log(`TripoSR-shaped: skipped (make_checkpoint.py failed: ${(made.stderr || made.error?.message || '').trim().split('\n').at(-1)})`);
    } else {
      const checkpoint = await openCheckpoint(join(ckptDir, 'model.ckpt'));
      const converted = join(root, 'converted');
      try {
        await convertCheckpoint({ source: checkpoint, configText: readFileSync(join(ckptDir, 'config.yaml'), 'utf8'), outDir: converted });
      } finally {
        await checkpoint.close();
      }
      const tiny = await loadModel(converted, { executionProviders: ['cpu'] });
      try {
        await compare('TripoSR-shaped (tiny, random weights)', tiny);
      } finally {
        await tiny.dispose();
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
