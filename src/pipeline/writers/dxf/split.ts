/**
 * Splits a triangle list into consecutive blocks that each stay within a vertex and a face limit,
 * for entities that carry their own vertex list (polyface meshes, MESH).
 */

export interface TriangleBlock {
  /** Mesh vertex ids in the order the block lists them (first use, or the mesh's order when one block holds all), each once. */
  readonly vertices: Uint32Array;
  /** Three block-local, 0-based vertex positions per triangle, in the input order. */
  readonly faces: Uint32Array;
}

/**
 * Greedy and order-preserving: triangles are taken in order and a block closes when the next one
 * would pass either limit. Neighbouring triangles usually share vertices, so blocks stay compact.
 */
export function splitTriangles(
  triangles: Uint32Array,
  vertexCount: number,
  maxVertices: number,
  maxFaces: number,
): TriangleBlock[] {
  if (maxVertices < 3 || maxFaces < 1) throw new RangeError('Block limits must allow at least one triangle.');
  if (triangles.length / 3 <= maxFaces && vertexCount <= maxVertices && usesEveryVertex(triangles, vertexCount)) {
    // The usual case for a pipeline mesh: one block, in the mesh's own vertex order.
    const vertices = new Uint32Array(vertexCount);
    for (let v = 0; v < vertexCount; v++) vertices[v] = v;
    return [{ vertices, faces: triangles }];
  }
  // blockOf[v] is the block that last listed v, localOf[v] its position there: no clearing between blocks.
  const blockOf = new Int32Array(vertexCount).fill(-1);
  const localOf = new Uint32Array(vertexCount);
  const faceCapacity = Math.min(triangles.length, maxFaces * 3);
  const vertexCapacity = Math.min(vertexCount, maxVertices);
  const vertices = new Uint32Array(vertexCapacity);
  const faces = new Uint32Array(faceCapacity);
  let usedVertices = 0;
  let usedFaces = 0;
  let block = 0;
  const blocks: TriangleBlock[] = [];

  const close = (last: boolean): void => {
    // A block that is the whole mesh keeps the scratch buffers; others need copies, as the buffers are reused.
    const whole = last && blocks.length === 0;
    blocks.push({
      vertices: whole ? vertices.subarray(0, usedVertices) : vertices.slice(0, usedVertices),
      faces: whole ? faces.subarray(0, usedFaces * 3) : faces.slice(0, usedFaces * 3),
    });
    block++;
    usedVertices = 0;
    usedFaces = 0;
  };

  for (let t = 0; t < triangles.length; t += 3) {
    let fresh = 0;
    for (let k = 0; k < 3; k++) if (blockOf[triangles[t + k]!] !== block) fresh++;
    if (usedFaces === maxFaces || usedVertices + fresh > maxVertices) close(false);
    for (let k = 0; k < 3; k++) {
      const v = triangles[t + k]!;
      if (blockOf[v] !== block) {
        blockOf[v] = block;
        localOf[v] = usedVertices;
        vertices[usedVertices++] = v;
      }
      faces[usedFaces * 3 + k] = localOf[v]!;
    }
    usedFaces++;
  }
  if (usedFaces > 0) close(true);
  return blocks;
}

function usesEveryVertex(triangles: Uint32Array, vertexCount: number): boolean {
  const used = new Uint8Array(vertexCount);
  for (let i = 0; i < triangles.length; i++) used[triangles[i]!] = 1;
  return used.indexOf(0) === -1;
}
