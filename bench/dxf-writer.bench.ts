/**
 * Times our DXF writer for each entity kind against ezdxf writing the same entities, in the same run,
 * on a ~300 k-triangle marching-cubes mesh (sphere + torus) scaled to 100 mm, with vertex colours.
 *
 *   node --expose-gc --import tsx bench/dxf-writer.bench.ts [--runs 5] [--n 320]
 *
 * Ours: encodeDxfBytes plus writing the file, median of --runs after one warm-up (with --expose-gc
 * each run starts from a collected heap); "encode" is encodeDxfBytes alone and "string" encodeDxf,
 * which returns the same text as one string. ezdxf (Debian python3-ezdxf, run by /usr/bin/python3): the mesh
 * goes over as raw float32 positions and uint32 triangles read with numpy, outside the timing; the
 * timed part is building the document and its entities and saving it, measured with
 * time.perf_counter inside Python (no interpreter start), once per kind (ezdxf takes seconds):
 * - 3dface: ezdxf.new('R12'), one add_3dface per triangle.
 * - polyface: ezdxf.new('R12'), one add_polyface per block of ours (the same triangles per
 *   entity, within 32767 vertices/faces), filled with append_faces, which merges equal vertices.
 * - mesh: ezdxf.new('R2010'), add_mesh with edit_data (vertices and faces set directly).
 * Both sides put the entities on a layer named after the model; ezdxf's files carry its much larger
 * default document (tables, objects), which counts in its size and time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import type { Mesh } from '../src/pipeline/mesh/mesh.js';
import { distinctTriangles } from '../src/pipeline/mesh/triangles.js';
import { marchingCubes } from '../src/pipeline/surface/marchingCubes.js';
import { DXF_ENTITY_KINDS, encodeDxf, encodeDxfBytes, type DxfEntityKind } from '../src/pipeline/writers/dxf.js';
import { POLYFACE_LIMIT } from '../src/pipeline/writers/dxf/r12.js';
import { splitTriangles } from '../src/pipeline/writers/dxf/split.js';
import { sphereTorusField } from '../test/fixtures/numeric.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    n: { type: 'string', default: '320' },
  },
});
const RUNS = Number(args.runs);
const N = Number(args.n);
const PYTHON = '/usr/bin/python3';
const LAYER = 'BENCH_MODEL';
const gc = (globalThis as { gc?: () => void }).gc;

function buildMesh(): Mesh {
  const { positions, indices } = marchingCubes(sphereTorusField(N, 0.75), [N, N, N], 0);
  // Grid units to a model of about 100 mm, and a colour from each vertex's position.
  const scale = 100 / N;
  const colors = new Float32Array(positions.length);
  for (let i = 0; i < positions.length; i++) {
    positions[i] = positions[i]! * scale;
    colors[i] = (positions[i]! % 37) / 37;
  }
  return { positions, indices, colors };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const SCRIPT = String.raw`
import json, sys, time
import numpy as np
import ezdxf
positions_path, triangles_path, blocks_path, out_dir, layer = sys.argv[1:6]
kinds = sys.argv[6].split(",")
p = np.fromfile(positions_path, dtype="<f4").reshape(-1, 3).astype(np.float64)
t = np.fromfile(triangles_path, dtype="<u4").reshape(-1, 3)
blocks = np.fromfile(blocks_path, dtype="<u4")
# Plain Python lists, as ezdxf's API takes them; converting is input reading, not timed.
corners = p[t].tolist()
vertices = p.tolist()
faces = t.tolist()
results = {}
for kind in kinds:
    path = f"{out_dir}/ezdxf-{kind}.dxf"
    start = time.perf_counter()
    if kind == "3dface":
        doc = ezdxf.new("R12")
        doc.layers.add(layer)
        msp = doc.modelspace()
        attribs = {"layer": layer}
        for a, b, c in corners:
            msp.add_3dface([a, b, c, c], dxfattribs=attribs)
    elif kind == "polyface":
        doc = ezdxf.new("R12")
        doc.layers.add(layer)
        msp = doc.modelspace()
        first = 0
        for count in blocks.tolist():
            polyface = msp.add_polyface(dxfattribs={"layer": layer})
            polyface.append_faces(corners[first:first + count], dxfattribs={"layer": layer})
            first += count
    elif kind == "mesh":
        doc = ezdxf.new("R2010")
        doc.units = 4
        doc.layers.add(layer)
        msp = doc.modelspace()
        mesh = msp.add_mesh(dxfattribs={"layer": layer})
        with mesh.edit_data() as data:
            data.vertices = vertices
            data.faces = faces
    doc.saveas(path)
    results[kind] = (time.perf_counter() - start) * 1000.0
print(json.dumps(results))
`;

interface OurTimes {
  ms: number;
  encodeMs: number;
  stringMs: number;
  bytes: number;
}

function timeOurs(mesh: Mesh, kind: DxfEntityKind, path: string): OurTimes {
  const totals: number[] = [];
  const encodes: number[] = [];
  const strings: number[] = [];
  for (let r = 0; r <= RUNS; r++) {
    gc?.();
    const t0 = performance.now();
    const bytes = encodeDxfBytes(mesh, { layer: LAYER, entity: kind });
    const t1 = performance.now();
    writeFileSync(path, bytes);
    const t2 = performance.now();
    gc?.();
    const t3 = performance.now();
    encodeDxf(mesh, { layer: LAYER, entity: kind });
    const t4 = performance.now();
    if (r === 0) continue; // warm-up
    encodes.push(t1 - t0);
    totals.push(t2 - t0);
    strings.push(t4 - t3);
  }
  return { ms: median(totals), encodeMs: median(encodes), stringMs: median(strings), bytes: statSync(path).size };
}

const mesh = buildMesh();
const kept = distinctTriangles(mesh.indices, mesh.positions.length / 3);
console.log(
  `mesh: ${kept.length / 3} triangles, ${mesh.positions.length / 3} vertices (marching cubes ${N}^3, 100 mm, vertex colours); ` +
    `ours: median of ${RUNS} after a warm-up${gc ? ', collected heap per run' : ' (run with --expose-gc for steadier figures)'}`,
);

const dir = mkdtempSync(join(tmpdir(), 'dxf-bench-'));
try {
  const ours = new Map<DxfEntityKind, OurTimes>();
  for (const kind of DXF_ENTITY_KINDS) ours.set(kind, timeOurs(mesh, kind, join(dir, `ours-${kind}.dxf`)));

  const positionsPath = join(dir, 'positions.f32');
  const trianglesPath = join(dir, 'triangles.u32');
  const blocksPath = join(dir, 'blocks.u32');
  writeFileSync(positionsPath, new Uint8Array(mesh.positions.buffer, mesh.positions.byteOffset, mesh.positions.byteLength));
  writeFileSync(trianglesPath, new Uint8Array(kept.buffer, kept.byteOffset, kept.byteLength));
  const blocks = splitTriangles(kept, mesh.positions.length / 3, POLYFACE_LIMIT, POLYFACE_LIMIT).map((b) => b.faces.length / 3);
  writeFileSync(blocksPath, new Uint8Array(Uint32Array.from(blocks).buffer));
  const scriptPath = join(dir, 'ezdxf_bench.py');
  writeFileSync(scriptPath, SCRIPT);
  const run = spawnSync(
    PYTHON,
    [scriptPath, positionsPath, trianglesPath, blocksPath, dir, LAYER, DXF_ENTITY_KINDS.join(',')],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  const reference = run.status === 0 ? (JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, number>) : undefined;
  if (!reference) {
    console.log(`ezdxf reference skipped: ${PYTHON} with ezdxf and numpy (apt-get install python3-ezdxf) not usable:`);
    console.log((run.stderr || run.error?.message || '').trim().split('\n').slice(-3).join('\n'));
  }

  const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
  console.log(`polyface blocks: ${blocks.length} (${blocks.join(', ')} triangles)`);
  console.log('kind      ours: encode+save (encode, string)   size     | ezdxf: build+save   size     | ezdxf / ours');
  for (const kind of DXF_ENTITY_KINDS) {
    const o = ours.get(kind)!;
    const line =
      `${kind.padEnd(9)} ${o.ms.toFixed(0).padStart(12)} ms (${o.encodeMs.toFixed(0).padStart(4)} ms, ` +
      `${o.stringMs.toFixed(0).padStart(4)} ms) ${mb(o.bytes).padStart(9)}`;
    if (!reference) {
      console.log(line);
      continue;
    }
    const refMs = reference[kind]!;
    const refBytes = statSync(join(dir, `ezdxf-${kind}.dxf`)).size;
    console.log(`${line} | ${refMs.toFixed(0).padStart(14)} ms ${mb(refBytes).padStart(9)} | ${(refMs / o.ms).toFixed(1).padStart(8)}×`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
