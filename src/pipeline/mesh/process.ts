/**
 * The mesh stage after marching cubes, in the order that keeps each step honest: floaters go first (a
 * loose sliver would otherwise be "closed" into a flat piece), then small holes, then smoothing against
 * the voxel staircase, then decimation (it works best on a smooth surface).
 */
import type { Mesh } from './mesh.js';
import { removeFloaters } from './components.js';
import { closeSmallHoles } from './holes.js';
import { taubinSmooth } from './smooth.js';
import { decimate } from './decimate.js';
import { throwIfAborted } from '../progress.js';
import { GENERATE_DEFAULTS } from '../generateOptions.js';

export interface MeshProcessing {
  readonly floaterFraction?: number;
  /** Boundary loops of at most this many edges are filled. */
  readonly maxHoleEdges?: number;
  readonly smoothingIterations?: number;
  readonly targetTriangles?: number;
}

export interface ProcessingReport {
  readonly removedComponents: number;
  readonly closedHoles: number;
  readonly decimatedFrom?: number;
}

const DEFAULT_MAX_HOLE_EDGES = 64;

/**
 * The mesh stage as the front ends run it unless told otherwise. An absent field of MeshProcessing
 * turns its step off; these are the values a user gets without choosing.
 */
export const DEFAULT_MESH_PROCESSING: Required<Omit<MeshProcessing, 'maxHoleEdges'>> = Object.freeze({
  floaterFraction: GENERATE_DEFAULTS.floaterFraction,
  smoothingIterations: GENERATE_DEFAULTS.smoothingIterations,
  targetTriangles: GENERATE_DEFAULTS.targetTriangles,
});

export function processMesh(
  input: Mesh,
  options: MeshProcessing,
  context: { signal?: AbortSignal; onProgress?: (fraction: number, message: string) => void } = {},
): { mesh: Mesh; report: ProcessingReport; /** The mesh before decimation: what the CAD tolerance is measured from. */ full: Mesh } {
  const report = context.onProgress ?? (() => undefined);
  let mesh = input;
  let removedComponents = 0;
  if ((options.floaterFraction ?? 0) > 0) {
    report(0, 'Removing floaters');
    const result = removeFloaters(mesh, options.floaterFraction ?? 0);
    mesh = result.mesh;
    removedComponents = result.removedComponents;
  }
  throwIfAborted(context.signal);
  report(0.1, 'Closing small holes');
  const holes = closeSmallHoles(mesh, options.maxHoleEdges ?? DEFAULT_MAX_HOLE_EDGES);
  mesh = holes.mesh;
  throwIfAborted(context.signal);
  if ((options.smoothingIterations ?? 0) > 0) {
    report(0.2, 'Smoothing');
    mesh = taubinSmooth(mesh, { iterations: options.smoothingIterations ?? 0 });
  }
  throwIfAborted(context.signal);
  let decimatedFrom: number | undefined;
  const full = mesh;
  const target = options.targetTriangles ?? 0;
  if (target > 0 && mesh.indices.length / 3 > target) {
    decimatedFrom = mesh.indices.length / 3;
    report(0.3, `Simplifying ${decimatedFrom.toLocaleString('en')} triangles to ${target.toLocaleString('en')}`);
    mesh = decimate(mesh, target, {
      signal: context.signal,
      onProgress: (f) => report(0.3 + 0.7 * f, `Simplifying to ${target.toLocaleString('en')} triangles`),
    });
  }
  return { mesh, full, report: { removedComponents, closedHoles: holes.closed, decimatedFrom } };
}
