import type { Mesh } from './mesh.js';

export interface CloseHolesResult {
  readonly mesh: Mesh;
  /** Boundary loops that were filled. */
  readonly closed: number;
}

/**
 * Outgoing directed edges per vertex in CSR form: the targets of `from`'s half-edges are
 * `to[start[from] .. start[from + 1])`. Vertex degrees are small, so linear scans of a row are
 * cheaper than any hashing, and nothing is allocated per edge.
 */
function outgoingEdges(indices: Uint32Array, vertexCount: number): { start: Uint32Array; to: Uint32Array } {
  const halfEdges = indices.length - (indices.length % 3);
  const start = new Uint32Array(vertexCount + 1);
  for (let e = 0; e < halfEdges; e++) start[indices[e]! + 1]++;
  for (let v = 0; v < vertexCount; v++) start[v + 1] += start[v]!;
  const fill = start.slice(0, vertexCount);
  const to = new Uint32Array(halfEdges);
  for (let e = 0; e < halfEdges; e++) to[fill[indices[e]!]!++] = indices[e % 3 === 2 ? e - 2 : e + 1]!;
  return { start, to };
}

function countIn(to: Uint32Array, lo: number, hi: number, target: number): number {
  let n = 0;
  for (let i = lo; i < hi; i++) if (to[i] === target) n++;
  return n;
}

/**
 * Fills boundary loops of at most `maxEdges` edges; larger holes are left alone because a flat or
 * fanned patch over a big opening would invent geometry the network never produced.
 *
 * A boundary edge is an undirected edge used by exactly one triangle. The fill walks each such edge
 * backwards (the existing triangle has a→b, so the patch gets b→a), which makes the patch's winding
 * agree with the surrounding surface by construction, whatever the hole's shape.
 *
 * Triangles close with one face; longer loops get a fan around a new vertex at the loop's centroid,
 * whose colour (and normal) is the loop average. A fan never produces the folded or overlapping
 * triangles that ear clipping can on strongly non-planar loops, and the holes filled here are small.
 *
 * Where several boundary loops touch at one vertex the walk may join them into one loop; the fan
 * still closes every edge it visits exactly once, so the result stays consistently oriented.
 */
export function closeSmallHoles(mesh: Mesh, maxEdges: number): CloseHolesResult {
  if (!Number.isInteger(maxEdges) || maxEdges < 0) throw new RangeError(`closeSmallHoles: maxEdges must be an integer >= 0, got ${maxEdges}`);
  const { positions, indices, colors, normals } = mesh;
  const vertexCount = Math.floor(positions.length / 3);
  const faceCount = Math.floor(indices.length / 3);
  for (let i = 0; i < 3 * faceCount; i++) {
    if (indices[i]! >= vertexCount) throw new RangeError(`closeSmallHoles: index ${indices[i]} out of range (${vertexCount} vertices)`);
  }
  if (maxEdges < 3) return { mesh, closed: 0 };

  const { start, to } = outgoingEdges(indices, vertexCount);

  // Hole half-edges (b→a for every boundary a→b), again bucketed by their start vertex.
  const holeStart = new Uint32Array(vertexCount + 1);
  let holeEdges = 0;
  for (let a = 0; a < vertexCount; a++) {
    for (let i = start[a]!; i < start[a + 1]!; i++) {
      const b = to[i]!;
      if (a === b) continue;
      if (countIn(to, start[a]!, start[a + 1]!, b) === 1 && countIn(to, start[b]!, start[b + 1]!, a) === 0) {
        holeStart[b + 1]++;
        holeEdges++;
      }
    }
  }
  if (holeEdges === 0) return { mesh, closed: 0 };
  for (let v = 0; v < vertexCount; v++) holeStart[v + 1] += holeStart[v]!;
  const holeFill = holeStart.slice(0, vertexCount);
  const holeTo = new Uint32Array(holeEdges);
  for (let a = 0; a < vertexCount; a++) {
    for (let i = start[a]!; i < start[a + 1]!; i++) {
      const b = to[i]!;
      if (a === b) continue;
      if (countIn(to, start[a]!, start[a + 1]!, b) === 1 && countIn(to, start[b]!, start[b + 1]!, a) === 0) {
        holeTo[holeFill[b]!++] = a;
      }
    }
  }

  // Loops to fill, as vertex runs in `loopVerts` delimited by `loopEnds`; both bounded by holeEdges.
  const used = new Uint8Array(holeEdges);
  const walk = new Uint32Array(holeEdges);
  const loopVerts = new Uint32Array(holeEdges);
  const loopEnds: number[] = [];
  let loopVertCount = 0;
  let extraVertices = 0;
  let extraFaces = 0;
  for (let first = 0; first < vertexCount; first++) {
    for (let h = holeStart[first]!; h < holeStart[first + 1]!; h++) {
      if (used[h]) continue;
      used[h] = 1;
      let length = 0;
      walk[length++] = first;
      let v = holeTo[h]!;
      let closedLoop = true;
      while (v !== first) {
        let next = -1;
        for (let k = holeStart[v]!; k < holeStart[v + 1]!; k++) {
          if (!used[k]) {
            next = k;
            break;
          }
        }
        // Unbalanced boundary (non-manifold input): no way back to the start, so leave it open.
        if (next < 0) {
          closedLoop = false;
          break;
        }
        used[next] = 1;
        walk[length++] = v;
        v = holeTo[next]!;
      }
      if (!closedLoop || length > maxEdges || length < 3) continue;
      loopVerts.set(walk.subarray(0, length), loopVertCount);
      loopVertCount += length;
      loopEnds.push(loopVertCount);
      if (length > 3) {
        extraVertices++;
        extraFaces += length;
      } else extraFaces++;
    }
  }
  if (loopEnds.length === 0) return { mesh, closed: 0 };

  const outPositions = new Float32Array(3 * (vertexCount + extraVertices));
  outPositions.set(positions.subarray(0, 3 * vertexCount));
  const outColors = colors ? new Float32Array(outPositions.length) : undefined;
  outColors?.set(colors!.subarray(0, 3 * vertexCount));
  const outNormals = normals ? new Float32Array(outPositions.length) : undefined;
  outNormals?.set(normals!.subarray(0, 3 * vertexCount));
  const outIndices = new Uint32Array(3 * faceCount + 3 * extraFaces);
  outIndices.set(indices.subarray(0, 3 * faceCount));

  let o = 3 * faceCount;
  let nextVertex = vertexCount;
  let loopStart = 0;
  for (const loopEnd of loopEnds) {
    const n = loopEnd - loopStart;
    if (n === 3) {
      outIndices[o++] = loopVerts[loopStart]!;
      outIndices[o++] = loopVerts[loopStart + 1]!;
      outIndices[o++] = loopVerts[loopStart + 2]!;
    } else {
      const c = nextVertex++;
      for (const [src, dst] of [
        [positions, outPositions],
        [colors, outColors],
        [normals, outNormals],
      ] as const) {
        if (!src || !dst) continue;
        let x = 0, y = 0, z = 0;
        for (let i = loopStart; i < loopEnd; i++) {
          const v = loopVerts[i]!;
          x += src[3 * v]!;
          y += src[3 * v + 1]!;
          z += src[3 * v + 2]!;
        }
        dst[3 * c] = x / n;
        dst[3 * c + 1] = y / n;
        dst[3 * c + 2] = z / n;
      }
      if (outNormals) {
        const x = outNormals[3 * c]!, y = outNormals[3 * c + 1]!, z = outNormals[3 * c + 2]!;
        const len = Math.hypot(x, y, z);
        // Opposing loop normals can cancel; +z matches what vertexNormals does for the same case.
        if (len > 0) {
          outNormals[3 * c] = x / len;
          outNormals[3 * c + 1] = y / len;
          outNormals[3 * c + 2] = z / len;
        } else outNormals.set([0, 0, 1], 3 * c);
      }
      for (let i = loopStart; i < loopEnd; i++) {
        outIndices[o++] = loopVerts[i]!;
        outIndices[o++] = loopVerts[i + 1 < loopEnd ? i + 1 : loopStart]!;
        outIndices[o++] = c;
      }
    }
    loopStart = loopEnd;
  }

  return {
    mesh: {
      positions: outPositions,
      indices: outIndices,
      ...(outColors ? { colors: outColors } : {}),
      ...(outNormals ? { normals: outNormals } : {}),
    },
    closed: loopEnds.length,
  };
}
