import { constants as bufferConstants } from 'node:buffer';
import type { Mesh } from '../mesh/mesh.js';
import { distinctTriangles } from '../mesh/triangles.js';
import { recogniseCurvedRegions } from '../mesh/fit/recognise.js';
import { buildAdjacency } from './step/adjacency.js';
import { buildCurvedFaces } from './step/curvedFaces.js';
import { writeBrep } from './step/brep.js';
import { findCorners } from './step/corners.js';
import { removeThinTriangles } from './step/degenerate.js';
import { buildFaces, type CurvedFaceInput } from './step/faces.js';
import { findShells } from './step/shells.js';
import { uncertaintyFor } from './step/tolerance.js';
import { weldTriangles } from './step/weld.js';

/**
 * STEP (ISO 10303-21, AP214 automotive_design) writer. The mesh, Z up in millimetres, becomes a
 * boundary representation with shared topology: each vertex and each edge is written once and
 * referenced by every face that uses it, which is what lets a CAD program see a closed mesh as a
 * solid (MANIFOLD_SOLID_BREP of a CLOSED_SHELL) rather than a heap of loose faces. A mesh with any
 * open or inconsistently oriented part becomes a SHELL_BASED_SURFACE_MODEL instead.
 *
 * Edge-connected triangles that lie in one plane are merged into one planar face bounded by their
 * region's outline, with holes as inner loops, and vertices in the middle of straight borders are
 * dropped: a box made of thousands of triangles comes out as the six faces, twelve edges and eight
 * vertices a CAD user expects, and flat-sided models shrink many times over. How far the geometry
 * may move for that is set by the file's uncertainty (see step/tolerance.ts).
 *
 * The stages: weld (step/weld.ts), remove thin triangles (step/degenerate.ts), pair edges
 * (step/adjacency.ts), grow faces (step/faces.ts), pick corners (step/corners.ts), find shells
 * (step/shells.ts), write (step/brep.ts).
 */

export interface StepOptions {
  /** Product, representation and file name inside the file. */
  readonly name: string;
  /** Written as the preprocessor and originating system in the header. */
  readonly generator: string;
  /** Header time stamp; now when left out. */
  readonly timestamp?: Date;
  /**
   * Merge edge-connected coplanar triangles into polygon faces (default true). False writes one face
   * per triangle: larger, but the simplest structure, for comparison or as a way out.
   */
  readonly mergeCoplanar?: boolean;
  /**
   * How far, in millimetres, a recognised cylinder, cone or sphere may lie from the mesh's vertices.
   * Default: 0.1% of the bounding box diagonal. 0 turns surface recognition off (faces stay planar).
   * Only with mergeCoplanar.
   */
  readonly tolerance?: number;
}

/** The default surface tolerance as a fraction of the bounding box diagonal. */
export const DEFAULT_TOLERANCE_FRACTION = 1e-3;

/** The whole file as one string. Throws a RangeError when it would exceed what a string can hold. */
export function encodeStep(mesh: Mesh, options: StepOptions): string {
  const bytes = encodeStepBytes(mesh, options);
  if (bytes.length > bufferConstants.MAX_STRING_LENGTH) {
    throw new RangeError(
      `The STEP file would be ${bytes.length} characters, more than one string can hold; use encodeStepBytes or fewer triangles.`,
    );
  }
  // Everything written is ASCII, so latin1 is byte-for-character and makes a compact one-byte string.
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

/** The whole file as ASCII bytes: no string-length limit, and half the memory of a string copy. */
export function encodeStepBytes(mesh: Mesh, options: StepOptions): Uint8Array {
  const { positions, indices } = mesh;
  const vertexCount = positions.length / 3;
  if (!Number.isInteger(vertexCount)) throw new RangeError('Mesh positions length is not a multiple of 3.');
  const welded = weldTriangles(positions, distinctTriangles(indices, vertexCount));
  const uncertainty = uncertaintyFor(welded.maxAbs);
  const tri = removeThinTriangles(welded.triangles, welded.coords, welded.count, uncertainty.value);
  if (tri.length === 0) throw new RangeError('Mesh has no non-degenerate triangles to write.');

  const adjacency = buildAdjacency(tri);
  const merge = options.mergeCoplanar ?? true;
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE_FRACTION * boxDiagonal(welded.coords, welded.count);
  let curved: CurvedFaceInput | undefined;
  if (merge && tolerance > 0) {
    const regions = recogniseCurvedRegions({ tri, coords: welded.coords, twin: adjacency.twin, tolerance });
    if (regions.surfaces.length > 0) {
      curved = { faces: buildCurvedFaces(tri, adjacency.twin, welded.coords, regions), surfaces: regions.surfaces, sameSense: regions.sameSense };
    }
  }
  const faces = buildFaces({
    curved,
    tri,
    coords: welded.coords,
    vertexCount: welded.count,
    twin: adjacency.twin,
    uncertainty: uncertainty.value,
    merge,
  });
  const corner = merge ? findCorners(faces, tri, adjacency.twin, welded.coords, welded.count, uncertainty.value / 2) : undefined;
  const shells = findShells(tri, adjacency, faces);
  return writeBrep(
    {
      grid: welded.grid,
      vertexCount: welded.count,
      tri,
      edgeOf: adjacency.edgeOf,
      edgeCount: adjacency.edgeCount,
      faces,
      corner,
      shells,
      uncertainty,
    },
    { name: options.name, generator: options.generator, timestamp: options.timestamp ?? new Date() },
  );
}

function boxDiagonal(coords: Float64Array, count: number): number {
  if (count === 0) return 0;
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  for (let v = 0; v < count; v++) {
    for (let c = 0; c < 3; c++) {
      const x = coords[v * 3 + c]!;
      if (x < min[c]!) min[c] = x;
      if (x > max[c]!) max[c] = x;
    }
  }
  return Math.hypot(max[0]! - min[0]!, max[1]! - min[1]!, max[2]! - min[2]!);
}
