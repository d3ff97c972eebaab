import type { Mesh } from '../mesh/mesh.js';
import { distinctTriangles } from '../mesh/triangles.js';

/**
 * STEP (ISO 10303-21, AP214) writer. The mesh becomes a boundary representation with shared topology:
 * each vertex, and each edge between two faces, is written once and referenced by every face that
 * uses it. That is what lets a CAD program recognise a closed mesh as a solid rather than a heap of
 * loose faces. The mesh arrives Z up in millimetres.
 */

export interface StepOptions {
  /** Product, representation and file name inside the file. */
  readonly name: string;
  /** Written as the preprocessor and originating system in the header. */
  readonly generator: string;
  /** Header time stamp; now when left out. */
  readonly timestamp?: Date;
}

/**
 * Linear tolerance in millimetres, written as the context's uncertainty. Faces thinner than this are
 * dropped, so no edge is shorter than what a reader treats as a single point.
 */
const TOLERANCE_MM = 1e-6;
/** Decimals for coordinates (1 nm at millimetre units: far below float32 resolution at part sizes). */
const COORD_DECIMALS = 6;
/**
 * Decimals for unit directions, more than for coordinates: rounding tilts a line or plane by ~1e-12,
 * a few nanometres over 10 m, where 6 decimals would move the far end of a 1 m edge by a micrometre.
 */
const DIRECTION_DECIMALS = 12;
/** References per line in long lists, to keep lines readable in an editor. */
const REFS_PER_LINE = 16;

/**
 * A planar face: an outer loop, counter-clockwise seen from the side `normal` points to, and holes
 * wound the other way. Vertices are indices into the welded vertex list. Today every face is a
 * triangle; merging coplanar triangles only has to produce more of these.
 */
export interface PolygonFace {
  readonly outer: readonly number[];
  readonly inner: readonly (readonly number[])[];
}

/** Vertices merged wherever they coincide once written, with the coordinates the file will hold. */
interface WeldedVertices {
  /** x, y, z per welded vertex, as parsed back from the written text. */
  readonly coords: number[];
  /** The written coordinate text per welded vertex. */
  readonly text: string[];
}

interface Edge {
  readonly start: number;
  readonly end: number;
  /** Uses running start → end, and end → start. */
  forward: number;
  backward: number;
  id: number;
}

export function encodeStep(mesh: Mesh, options: StepOptions): string {
  const { welded, faces } = buildFaces(mesh);
  if (faces.length === 0) throw new RangeError('Mesh has no non-degenerate triangles to write.');
  return writeBrep(welded, faces, options);
}

/**
 * Welds the mesh's vertices by their written coordinates and turns each triangle with a non-zero
 * area into a face. Welding on the written text means that two vertices the file could not tell
 * apart are never two topological vertices.
 */
function buildFaces(mesh: Mesh): { welded: WeldedVertices; faces: PolygonFace[] } {
  const { positions, indices } = mesh;
  const vertexCount = positions.length / 3;
  if (!Number.isInteger(vertexCount)) throw new RangeError('Mesh positions length is not a multiple of 3.');
  if (indices.length % 3 !== 0) throw new RangeError('Mesh indices length is not a multiple of 3.');

  const welded: WeldedVertices = { coords: [], text: [] };
  const byText = new Map<string, number>();
  const weldOf = new Int32Array(vertexCount).fill(-1);
  const weld = (v: number): number => {
    let w = weldOf[v]!;
    if (w < 0) {
      const x = formatReal(positions[v * 3]!, COORD_DECIMALS);
      const y = formatReal(positions[v * 3 + 1]!, COORD_DECIMALS);
      const z = formatReal(positions[v * 3 + 2]!, COORD_DECIMALS);
      const text = `${x},${y},${z}`;
      const existing = byText.get(text);
      if (existing !== undefined) {
        w = existing;
      } else {
        w = welded.text.length;
        welded.text.push(text);
        welded.coords.push(Number(x), Number(y), Number(z));
        byText.set(text, w);
      }
      weldOf[v] = w;
    }
    return w;
  };

  const faces: PolygonFace[] = [];
  const c = welded.coords;
  const triangles = distinctTriangles(indices, vertexCount);
  for (let t = 0; t < triangles.length; t += 3) {
    const ia = triangles[t]!;
    const ib = triangles[t + 1]!;
    const ic = triangles[t + 2]!;
    const a = weld(ia);
    const b = weld(ib);
    const d = weld(ic);
    if (a === b || b === d || a === d) continue;
    // The triangle's smallest height (twice the area over the longest side) catches both slivers
    // through collinear points and near-duplicate vertices, in one scale-aware test.
    const abx = c[b * 3]! - c[a * 3]!, aby = c[b * 3 + 1]! - c[a * 3 + 1]!, abz = c[b * 3 + 2]! - c[a * 3 + 2]!;
    const adx = c[d * 3]! - c[a * 3]!, ady = c[d * 3 + 1]! - c[a * 3 + 1]!, adz = c[d * 3 + 2]! - c[a * 3 + 2]!;
    const bdx = adx - abx, bdy = ady - aby, bdz = adz - abz;
    const twiceArea = Math.hypot(aby * adz - abz * ady, abz * adx - abx * adz, abx * ady - aby * adx);
    const longest = Math.max(Math.hypot(abx, aby, abz), Math.hypot(adx, ady, adz), Math.hypot(bdx, bdy, bdz));
    if (!(twiceArea / longest > TOLERANCE_MM)) continue;
    faces.push({ outer: [a, b, d], inner: [] });
  }
  return { welded, faces };
}

/** Writes the whole exchange structure for faces over welded vertices. */
function writeBrep(welded: WeldedVertices, faces: readonly PolygonFace[], options: StepOptions): string {
  const lines: string[] = [];
  let nextId = 1;
  const add = (entity: string): number => {
    lines.push(`#${nextId}=${entity};`);
    return nextId++;
  };
  const refs = (ids: readonly number[]): string => {
    let s = '(';
    for (let i = 0; i < ids.length; i++) {
      if (i > 0) s += i % REFS_PER_LINE === 0 ? ',\n' : ',';
      s += `#${ids[i]}`;
    }
    return s + ')';
  };
  const name = stepString(options.name);

  // Product structure: the minimal set AP214 readers need to see a part with a shape.
  const appContext = add(`APPLICATION_CONTEXT('core data for automotive mechanical design processes')`);
  add(`APPLICATION_PROTOCOL_DEFINITION('international standard','automotive_design',2000,#${appContext})`);
  const productContext = add(`PRODUCT_CONTEXT('',#${appContext},'mechanical')`);
  const product = add(`PRODUCT(${name},${name},'',(#${productContext}))`);
  add(`PRODUCT_RELATED_PRODUCT_CATEGORY('part',$,(#${product}))`);
  const formation = add(`PRODUCT_DEFINITION_FORMATION('','',#${product})`);
  const definitionContext = add(`PRODUCT_DEFINITION_CONTEXT('part definition',#${appContext},'design')`);
  const definition = add(`PRODUCT_DEFINITION('design','',#${formation},#${definitionContext})`);
  const definitionShape = add(`PRODUCT_DEFINITION_SHAPE('','',#${definition})`);

  // Units and tolerance. Complex instances list their partial types in alphabetical order, as
  // ISO 10303-21 requires.
  const lengthUnit = add(`( LENGTH_UNIT() NAMED_UNIT(*) SI_UNIT(.MILLI.,.METRE.) )`);
  const angleUnit = add(`( NAMED_UNIT(*) PLANE_ANGLE_UNIT() SI_UNIT($,.RADIAN.) )`);
  const solidAngleUnit = add(`( NAMED_UNIT(*) SI_UNIT($,.STERADIAN.) SOLID_ANGLE_UNIT() )`);
  const uncertainty = add(
    `UNCERTAINTY_MEASURE_WITH_UNIT(LENGTH_MEASURE(${formatReal(TOLERANCE_MM, COORD_DECIMALS)}),#${lengthUnit},` +
      `'distance_accuracy_value','maximum distance between points considered equal')`,
  );
  const context = add(
    `( GEOMETRIC_REPRESENTATION_CONTEXT(3) GLOBAL_UNCERTAINTY_ASSIGNED_CONTEXT((#${uncertainty})) ` +
      `GLOBAL_UNIT_ASSIGNED_CONTEXT((#${lengthUnit},#${angleUnit},#${solidAngleUnit})) ` +
      `REPRESENTATION_CONTEXT('3D','3D context with millimetre units') )`,
  );

  const origin = add(`CARTESIAN_POINT('',(0.,0.,0.))`);
  const zAxis = add(`DIRECTION('',(0.,0.,1.))`);
  const xAxis = add(`DIRECTION('',(1.,0.,0.))`);
  const placement = add(`AXIS2_PLACEMENT_3D('',#${origin},#${zAxis},#${xAxis})`);

  // Topology is analysed before anything is written so shells can be classified.
  const edges = new Map<number, Edge>();
  const vertexTotal = welded.text.length;
  const edgeKey = (a: number, b: number): number => (a < b ? a * vertexTotal + b : b * vertexTotal + a);
  const faceEdges: Edge[][] = faces.map((face) => {
    const used: Edge[] = [];
    for (const loop of [face.outer, ...face.inner]) {
      for (let i = 0; i < loop.length; i++) {
        const a = loop[i]!;
        const b = loop[(i + 1) % loop.length]!;
        const key = edgeKey(a, b);
        let edge = edges.get(key);
        if (!edge) {
          edge = { start: a, end: b, forward: 0, backward: 0, id: 0 };
          edges.set(key, edge);
        }
        if (edge.start === a) edge.forward++;
        else edge.backward++;
        used.push(edge);
      }
    }
    return used;
  });
  const shells = classifyShells(faces.length, faceEdges);

  // Geometry and topology, in the order faces need it.
  const pointIds = new Int32Array(vertexTotal);
  const vertexIds = new Int32Array(vertexTotal);
  const vertex = (v: number): number => {
    if (vertexIds[v] === 0) {
      pointIds[v] = add(`CARTESIAN_POINT('',(${welded.text[v]}))`);
      vertexIds[v] = add(`VERTEX_POINT('',#${pointIds[v]})`);
    }
    return vertexIds[v]!;
  };
  const coords = welded.coords;
  const edgeDirectionIds = new Map<Edge, number>();
  const edgeCurve = (edge: Edge): number => {
    if (edge.id === 0) {
      const vs = vertex(edge.start);
      const ve = vertex(edge.end);
      const s = edge.start * 3;
      const e = edge.end * 3;
      const dx = coords[e]! - coords[s]!;
      const dy = coords[e + 1]! - coords[s + 1]!;
      const dz = coords[e + 2]! - coords[s + 2]!;
      const length = Math.hypot(dx, dy, dz);
      // ISO 10303-42 would accept the raw difference as direction ratios, but unit directions are
      // what every exporter writes and what a naive reader expects.
      const direction = add(
        `DIRECTION('',(${formatReal(dx / length, DIRECTION_DECIMALS)},${formatReal(dy / length, DIRECTION_DECIMALS)},${formatReal(dz / length, DIRECTION_DECIMALS)}))`,
      );
      edgeDirectionIds.set(edge, direction);
      const vector = add(`VECTOR('',#${direction},${formatReal(length, COORD_DECIMALS)})`);
      const line = add(`LINE('',#${pointIds[edge.start]},#${vector})`);
      edge.id = add(`EDGE_CURVE('',#${vs},#${ve},#${line},.T.)`);
    }
    return edge.id;
  };

  const faceIds = new Int32Array(faces.length);
  faces.forEach((face, f) => {
    const bounds: number[] = [];
    const used = faceEdges[f]!;
    let u = 0;
    const loops = [face.outer, ...face.inner];
    loops.forEach((loop, l) => {
      const oriented: number[] = [];
      for (let i = 0; i < loop.length; i++) {
        const edge = used[u++]!;
        const id = edgeCurve(edge);
        oriented.push(add(`ORIENTED_EDGE('',*,*,#${id},${edge.start === loop[i] ? '.T.' : '.F.'})`));
      }
      const edgeLoop = add(`EDGE_LOOP('',(${oriented.map((id) => `#${id}`).join(',')}))`);
      bounds.push(add(`${l === 0 ? 'FACE_OUTER_BOUND' : 'FACE_BOUND'}('',#${edgeLoop},.T.)`));
    });
    const [nx, ny, nz] = newellNormal(face.outer, coords);
    const normal = add(
      `DIRECTION('',(${formatReal(nx, DIRECTION_DECIMALS)},${formatReal(ny, DIRECTION_DECIMALS)},${formatReal(nz, DIRECTION_DECIMALS)}))`,
    );
    // Any in-plane direction serves as the plane's reference axis; the first edge's is already written.
    const firstEdge = used[0]!;
    const axis = add(`AXIS2_PLACEMENT_3D('',#${pointIds[face.outer[0]!]},#${normal},#${edgeDirectionIds.get(firstEdge)})`);
    const plane = add(`PLANE('',#${axis})`);
    faceIds[f] = add(`ADVANCED_FACE('',${refs(bounds)},#${plane},.T.)`);
  });

  let representation: number;
  if (shells.every((s) => s.closed)) {
    const solids = shells.map((shell) => {
      const closedShell = add(`CLOSED_SHELL('',${refs(shell.faces.map((f) => faceIds[f]!))})`);
      return add(`MANIFOLD_SOLID_BREP(${name},#${closedShell})`);
    });
    representation = add(`ADVANCED_BREP_SHAPE_REPRESENTATION(${name},${refs([placement, ...solids])},#${context})`);
  } else {
    // A surface model may hold closed shells too, so closed parts of a partly open mesh keep their shape.
    const shellIds = shells.map((shell) =>
      add(`${shell.closed ? 'CLOSED_SHELL' : 'OPEN_SHELL'}('',${refs(shell.faces.map((f) => faceIds[f]!))})`),
    );
    const model = add(`SHELL_BASED_SURFACE_MODEL(${name},${refs(shellIds)})`);
    representation = add(`MANIFOLD_SURFACE_SHAPE_REPRESENTATION(${name},${refs([placement, model])},#${context})`);
  }
  add(`SHAPE_DEFINITION_REPRESENTATION(#${definitionShape},#${representation})`);

  const generator = stepString(options.generator);
  const header = [
    'ISO-10303-21;',
    'HEADER;',
    `FILE_DESCRIPTION((${stepString('Mesh converted to a boundary representation')}),'2;1');`,
    `FILE_NAME(${name},'${stepTimestamp(options.timestamp ?? new Date())}',(''),(''),${generator},${generator},'');`,
    `FILE_SCHEMA(('AUTOMOTIVE_DESIGN { 1 0 10303 214 1 1 1 1 }'));`,
    'ENDSEC;',
    'DATA;',
  ];
  return `${header.join('\n')}\n${lines.join('\n')}\nENDSEC;\nEND-ISO-10303-21;\n`;
}

interface Shell {
  readonly faces: number[];
  /** Every edge used by exactly two faces of the shell, in opposite directions. */
  readonly closed: boolean;
}

/**
 * Groups faces into edge-connected shells. A shell is closed only when each of its edges is used
 * once in each direction: that is both watertight and consistently oriented, which a closed shell of
 * a solid must be.
 */
function classifyShells(faceCount: number, faceEdges: readonly Edge[][]): Shell[] {
  const parent = new Int32Array(faceCount);
  for (let i = 0; i < faceCount; i++) parent[i] = i;
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  const firstFace = new Map<Edge, number>();
  faceEdges.forEach((used, f) => {
    for (const edge of used) {
      const other = firstFace.get(edge);
      if (other === undefined) firstFace.set(edge, f);
      else parent[find(f)] = find(other);
    }
  });
  const byRoot = new Map<number, { faces: number[]; closed: boolean }>();
  faceEdges.forEach((used, f) => {
    const root = find(f);
    let shell = byRoot.get(root);
    if (!shell) {
      shell = { faces: [], closed: true };
      byRoot.set(root, shell);
    }
    shell.faces.push(f);
    if (shell.closed && used.some((e) => e.forward !== 1 || e.backward !== 1)) shell.closed = false;
  });
  return [...byRoot.values()];
}

/** Unit normal of a planar polygon by Newell's method, which also works for non-convex loops. */
function newellNormal(loop: readonly number[], coords: readonly number[]): [number, number, number] {
  let nx = 0;
  let ny = 0;
  let nz = 0;
  for (let i = 0; i < loop.length; i++) {
    const p = loop[i]! * 3;
    const q = loop[(i + 1) % loop.length]! * 3;
    nx += (coords[p + 1]! - coords[q + 1]!) * (coords[p + 2]! + coords[q + 2]!);
    ny += (coords[p + 2]! - coords[q + 2]!) * (coords[p]! + coords[q]!);
    nz += (coords[p]! - coords[q]!) * (coords[p + 1]! + coords[q + 1]!);
  }
  const length = Math.hypot(nx, ny, nz);
  return [nx / length, ny / length, nz / length];
}

/**
 * A STEP real: fixed point, trailing zeros trimmed, always with the '.' that tells a real from an
 * integer, never in exponent form.
 */
function formatReal(x: number, decimals: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`Cannot write a non-finite number (${x}) to STEP.`);
  if (Math.abs(x) >= 1e15) throw new RangeError(`Number ${x} is too large for STEP.`);
  let s = x.toFixed(decimals).replace(/0+$/, '');
  if (s === '-0.') s = '0.';
  return s;
}

/**
 * A quoted STEP string. Apostrophes and backslashes are doubled; anything outside printable ASCII
 * goes through the \X2\ (UTF-16) and \X4\ (UTF-32) escapes of ISO 10303-21.
 */
function stepString(value: string): string {
  let out = "'";
  let wide = '';
  let wider = '';
  const flush = (): void => {
    if (wide) out += `\\X2\\${wide}\\X0\\`;
    if (wider) out += `\\X4\\${wider}\\X0\\`;
    wide = '';
    wider = '';
  };
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (code >= 0x20 && code <= 0x7e) {
      flush();
      out += ch === "'" ? "''" : ch === '\\' ? '\\\\' : ch;
    } else if (code <= 0xffff) {
      if (wider) flush();
      wide += code.toString(16).toUpperCase().padStart(4, '0');
    } else {
      if (wide) flush();
      wider += code.toString(16).toUpperCase().padStart(8, '0');
    }
  }
  flush();
  return `${out}'`;
}

/** ISO 8601 in UTC, to the second, as FILE_NAME expects. */
function stepTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}+00:00`;
}
