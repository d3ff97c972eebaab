/**
 * Times our GLB, OBJ, STL and PLY writers against three.js's exporters (GLTFExporter binary,
 * OBJExporter, STLExporter binary, PLYExporter binary) on the same ~330 k-triangle mesh with colours
 * and normals, in the same run: one warm-up each, then the median of several runs.
 *
 *   node --expose-gc --import tsx bench/mesh-writers.bench.ts [--runs 11] [--level 7]
 *
 * With --expose-gc every timed run starts from a collected heap (both sides alike): the writers
 * allocate 7–45 MB each, and without it a collection left over from the previous run lands at random
 * in the next one's time.
 *
 * The mesh is a level-7 icosphere (327 680 triangles, 163 842 vertices) with per-vertex colours and
 * normals. Content is matched where the formats allow: PLYExporter is told to leave normals out,
 * as our PLY has none; everything else is written with the same attributes on both sides.
 */
import { parseArgs } from 'node:util';
import type { BufferGeometry, Mesh as ThreeMesh } from 'three';
import type { Mesh } from '../src/pipeline/mesh/mesh.js';
import { vertexNormals } from '../src/pipeline/mesh/normals.js';
import { encodeGlb } from '../src/pipeline/writers/glb.js';
import { encodeObj } from '../src/pipeline/writers/obj.js';
import { encodePly } from '../src/pipeline/writers/ply.js';
import { encodeStl } from '../src/pipeline/writers/stl.js';
import { icosphere } from '../test/fixtures/meshes.js';
import { installFileReader } from '../test/fixtures/fileReader.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '11' },
    level: { type: 'string', default: '7' },
  },
});
const RUNS = Number(args.runs);
const LEVEL = Number(args.level);


/** A full collection when node runs with --expose-gc (see the command above); else nothing. */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface Timing {
  /** Median. */
  readonly ms: number;
  /** Fastest run: less sensitive to other load on the machine. */
  readonly minMs: number;
  readonly bytes: number;
}

async function time(run: () => Promise<number> | number): Promise<Timing> {
  await run(); // warm-up: JIT, lazy module state
  const times: number[] = [];
  let bytes = 0;
  for (let r = 0; r < RUNS; r++) {
    // Start every run from a collected heap, so that one side does not pay for the other's garbage.
    collectGarbage();
    const start = performance.now();
    bytes = await run();
    times.push(performance.now() - start);
  }
  return { ms: median(times), minMs: Math.min(...times), bytes };
}

function sizeOf(data: string | ArrayBuffer | ArrayBufferView): number {
  if (typeof data === 'string') return Buffer.byteLength(data, 'utf8');
  return data.byteLength;
}

function buildMesh(): Mesh {
  const sphere = icosphere(LEVEL, 50);
  return { ...sphere, normals: vertexNormals(sphere.positions, sphere.indices) };
}

async function threeMesh(mesh: Mesh): Promise<ThreeMesh> {
  const THREE = await import('three');
  const geometry: BufferGeometry = new THREE.BufferGeometry();
  geometry.setAttribute('position', new THREE.BufferAttribute(mesh.positions, 3));
  geometry.setAttribute('normal', new THREE.BufferAttribute(mesh.normals!, 3));
  geometry.setAttribute('color', new THREE.BufferAttribute(mesh.colors!, 3));
  geometry.setIndex(new THREE.BufferAttribute(mesh.indices, 1));
  return new THREE.Mesh(geometry, new THREE.MeshStandardMaterial({ vertexColors: true }));
}

async function main(): Promise<void> {
  installFileReader();
  const mesh = buildMesh();
  const object = await threeMesh(mesh);
  const { GLTFExporter } = await import('three/examples/jsm/exporters/GLTFExporter.js');
  const { OBJExporter } = await import('three/examples/jsm/exporters/OBJExporter.js');
  const { STLExporter } = await import('three/examples/jsm/exporters/STLExporter.js');
  const { PLYExporter } = await import('three/examples/jsm/exporters/PLYExporter.js');
  const options = { name: 'bench', generator: 'mesh-writers bench' };

  const rows: { format: string; ours: Timing; reference: Timing; referenceName: string }[] = [];
  rows.push({
    format: 'GLB',
    ours: await time(() => encodeGlb(mesh, options).byteLength),
    referenceName: 'GLTFExporter (binary)',
    reference: await time(async () => sizeOf(await new GLTFExporter().parseAsync(object, { binary: true }) as ArrayBuffer)),
  });
  rows.push({
    format: 'OBJ',
    ours: await time(() => sizeOf(encodeObj(mesh, options))),
    referenceName: 'OBJExporter',
    reference: await time(() => sizeOf(new OBJExporter().parse(object))),
  });
  rows.push({
    format: 'STL',
    ours: await time(() => encodeStl(mesh, options).byteLength),
    referenceName: 'STLExporter (binary)',
    reference: await time(() => sizeOf(new STLExporter().parse(object, { binary: true }))),
  });
  rows.push({
    format: 'PLY',
    ours: await time(() => encodePly(mesh, options).byteLength),
    referenceName: 'PLYExporter (binary)',
    // With no callback, parse returns the data (the callback would wait for requestAnimationFrame).
    reference: await time(() =>
      sizeOf(new PLYExporter().parse(object, undefined as unknown as (d: unknown) => void, { binary: true, excludeAttributes: ['normal'] }) as ArrayBuffer),
    ),
  });

  console.log(
    `mesh: level-${LEVEL} icosphere, ${mesh.indices.length / 3} triangles, ${mesh.positions.length / 3} vertices, ` +
      `colours + normals; median of ${RUNS} runs after a warm-up; node ${process.version}`,
  );
  console.log('times in ms: median (fastest run); speed-up = reference median / our median (fastest / fastest)');
  console.log(
    `${'format'.padEnd(7)}${'ours ms'.padStart(16)}${'ours MB'.padStart(9)}  ${'reference'.padEnd(22)}` +
      `${'ref ms'.padStart(16)}${'ref MB'.padStart(9)}${'speed-up'.padStart(16)}`,
  );
  const ms = (t: Timing): string => `${t.ms.toFixed(1)} (${t.minMs.toFixed(1)})`;
  for (const row of rows) {
    const ratio = `${(row.reference.ms / row.ours.ms).toFixed(1)}× (${(row.reference.minMs / row.ours.minMs).toFixed(1)}×)`;
    console.log(
      `${row.format.padEnd(7)}${ms(row.ours).padStart(16)}${(row.ours.bytes / 1e6).toFixed(2).padStart(9)}  ` +
        `${row.referenceName.padEnd(22)}${ms(row.reference).padStart(16)}${(row.reference.bytes / 1e6).toFixed(2).padStart(9)}` +
        `${ratio.padStart(16)}`,
    );
  }
}

void main();
