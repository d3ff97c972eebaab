import { writeAnalyticSurface } from './analytic.js';
import { ascii, AsciiWriter, stepString, stepTimestamp } from './ascii.js';
import type { FaceSet } from './faces.js';
import { Int32List } from './lists.js';
import type { Shells } from './shells.js';
import { directionDecimals, roundDirection, type Uncertainty } from './tolerance.js';
import { COORD_DECIMALS } from './weld.js';

/**
 * Writes the exchange structure: header, the AP214 product structure, then the boundary
 * representation with every vertex and edge written once and referenced by each face that uses it.
 *
 * Entities come in blocks of fixed layout (two per vertex, four per edge), so every id is computed
 * rather than looked up, and a referenced entity always precedes its users.
 */
export interface BrepInput {
  /** Welded vertex coordinates in grid units. */
  readonly grid: Float64Array;
  readonly vertexCount: number;
  readonly tri: Int32Array;
  /** Per half-edge, its undirected mesh edge. */
  readonly edgeOf: Int32Array;
  readonly edgeCount: number;
  readonly faces: FaceSet;
  /** Per vertex, 1 where loops have a corner; every loop vertex is one when absent. */
  readonly corner: Uint8Array | undefined;
  readonly shells: Shells;
  readonly uncertainty: Uncertainty;
}

export interface BrepNames {
  readonly name: string;
  readonly generator: string;
  readonly timestamp: Date;
}

/** References per line in long lists, to keep lines readable in an editor. */
const REFS_PER_LINE = 16;

/**
 * The written topology: corners become vertices, chains of mesh edges between corners become edges,
 * and each loop becomes a list of edge uses.
 */
interface Topology {
  /** Welded vertex of each written vertex, in order of first use. */
  readonly vertexOrder: Int32Array;
  /** Per welded vertex, its written index, or -1. */
  readonly vertexIndex: Int32Array;
  /** Per written edge, its start and end as written vertex indices. */
  readonly edgeStart: Int32Array;
  readonly edgeEnd: Int32Array;
  /** Edge uses, loop after loop: 2 · edge, plus 1 when the loop runs the edge backwards. */
  readonly uses: Int32Array;
  /** Per loop, its first use; one entry more than there are loops. */
  readonly useStart: Int32Array;
}

export function writeBrep(input: BrepInput, names: BrepNames): Uint8Array {
  const topology = buildTopology(input);
  const out = new AsciiWriter(estimateSize(input, topology));
  const name = stepString(names.name);
  const generator = stepString(names.generator);
  out.text(
    'ISO-10303-21;\nHEADER;\n' +
      `FILE_DESCRIPTION((${stepString('Mesh converted to a boundary representation')}),'2;1');\n` +
      `FILE_NAME(${name},'${stepTimestamp(names.timestamp)}',(''),(''),${generator},${generator},'');\n` +
      `FILE_SCHEMA(('AUTOMOTIVE_DESIGN { 1 0 10303 214 1 1 1 1 }'));\nENDSEC;\nDATA;\n`,
  );
  const writer = new EntityWriter(out);
  const context = writeContext(writer, name, input.uncertainty);
  const faceIds = writeGeometry(writer, input, topology);
  writeShape(writer, input.shells, input.faces.count, faceIds, name, context);
  out.text('ENDSEC;\nEND-ISO-10303-21;\n');
  return out.bytes();
}

/** Numbers entities as they are written. */
export class EntityWriter {
  id = 0;
  constructor(readonly out: AsciiWriter) {}

  /** Writes `#id=` for the next id and returns it. */
  open(): number {
    this.id++;
    this.out.ref(this.id);
    this.out.char(61); // '='
    return this.id;
  }

  /** A whole entity from text. */
  add(entity: string): number {
    const id = this.open();
    this.out.text(entity);
    this.out.text(';\n');
    return id;
  }

  /** `(#a,#b,…)`, broken into lines of REFS_PER_LINE. */
  refs(ids: ArrayLike<number>, from = 0, to = ids.length): void {
    const { out } = this;
    out.char(40); // '('
    for (let i = from; i < to; i++) {
      if (i > from) {
        out.char(44); // ','
        if ((i - from) % REFS_PER_LINE === 0) out.char(10);
      }
      out.ref(ids[i]!);
    }
    out.char(41); // ')'
  }

  /** `(#first,#first+1,…,#first+count-1)`, for runs of consecutive ids. */
  refRun(first: number, count: number): void {
    const { out } = this;
    out.char(40);
    for (let i = 0; i < count; i++) {
      if (i > 0) {
        out.char(44);
        if (i % REFS_PER_LINE === 0) out.char(10);
      }
      out.ref(first + i);
    }
    out.char(41);
  }
}

interface Context {
  readonly definitionShape: number;
  readonly context: number;
  readonly placement: number;
}

/** The product structure, units and tolerance: the minimal set AP214 readers need to see a part with a shape. */
function writeContext(w: EntityWriter, name: string, uncertainty: Uncertainty): Context {
  const appContext = w.add(`APPLICATION_CONTEXT('core data for automotive mechanical design processes')`);
  w.add(`APPLICATION_PROTOCOL_DEFINITION('international standard','automotive_design',2000,#${appContext})`);
  const productContext = w.add(`PRODUCT_CONTEXT('',#${appContext},'mechanical')`);
  const product = w.add(`PRODUCT(${name},${name},'',(#${productContext}))`);
  w.add(`PRODUCT_RELATED_PRODUCT_CATEGORY('part',$,(#${product}))`);
  const formation = w.add(`PRODUCT_DEFINITION_FORMATION('','',#${product})`);
  const definitionContext = w.add(`PRODUCT_DEFINITION_CONTEXT('part definition',#${appContext},'design')`);
  const definition = w.add(`PRODUCT_DEFINITION('design','',#${formation},#${definitionContext})`);
  const definitionShape = w.add(`PRODUCT_DEFINITION_SHAPE('','',#${definition})`);

  // Complex instances list their partial types in alphabetical order, as ISO 10303-21 requires.
  const lengthUnit = w.add(`( LENGTH_UNIT() NAMED_UNIT(*) SI_UNIT(.MILLI.,.METRE.) )`);
  const angleUnit = w.add(`( NAMED_UNIT(*) PLANE_ANGLE_UNIT() SI_UNIT($,.RADIAN.) )`);
  const solidAngleUnit = w.add(`( NAMED_UNIT(*) SI_UNIT($,.STERADIAN.) SOLID_ANGLE_UNIT() )`);
  const uncertaintyId = w.open();
  w.out.text('UNCERTAINTY_MEASURE_WITH_UNIT(LENGTH_MEASURE(');
  if (uncertainty.exponent < 0) w.out.fixed(uncertainty.mantissa, -uncertainty.exponent);
  else w.out.fixed(uncertainty.mantissa * 10 ** uncertainty.exponent, 0);
  w.out.text(`),#${lengthUnit},'distance_accuracy_value','maximum distance between points considered equal');\n`);
  const context = w.add(
    `( GEOMETRIC_REPRESENTATION_CONTEXT(3) GLOBAL_UNCERTAINTY_ASSIGNED_CONTEXT((#${uncertaintyId})) ` +
      `GLOBAL_UNIT_ASSIGNED_CONTEXT((#${lengthUnit},#${angleUnit},#${solidAngleUnit})) ` +
      `REPRESENTATION_CONTEXT('3D','3D context with millimetre units') )`,
  );
  const origin = w.add(`CARTESIAN_POINT('',(0.,0.,0.))`);
  const zAxis = w.add(`DIRECTION('',(0.,0.,1.))`);
  const xAxis = w.add(`DIRECTION('',(1.,0.,0.))`);
  const placement = w.add(`AXIS2_PLACEMENT_3D('',#${origin},#${zAxis},#${xAxis})`);
  return { definitionShape, context, placement };
}

/**
 * Corners become vertices and the chains of mesh edges between them become edges. A chain is named
 * by the mesh edge at its lower-numbered corner, which both faces along it reach, so the two faces
 * find the same written edge (see corners.ts for why they run along the same chain).
 */
function buildTopology(input: BrepInput): Topology {
  const { tri, edgeOf, faces, corner } = input;
  const { loopStart, loopEdges } = faces;
  const loopCount = loopStart.length - 1;
  const isCorner = (v: number): boolean => corner === undefined || corner[v] === 1;
  const vertexIndex = new Int32Array(input.vertexCount).fill(-1);
  const vertexOrder = new Int32List();
  const writtenEdge = new Int32Array(input.edgeCount).fill(-1);
  const edgeStart = new Int32List();
  const edgeEnd = new Int32List();
  const uses = new Int32List(loopEdges.length);
  const useStart = new Int32Array(loopCount + 1);
  const vertexOf = (v: number): number => {
    let i = vertexIndex[v]!;
    if (i < 0) {
      i = vertexIndex[v] = vertexOrder.length;
      vertexOrder.push(v);
    }
    return i;
  };

  for (let l = 0; l < loopCount; l++) {
    useStart[l] = uses.length;
    const start = loopStart[l]!;
    const n = loopStart[l + 1]! - start;
    let first = 0;
    while (first < n && !isCorner(tri[loopEdges[start + first]!]!)) first++;
    if (first === n) throw new Error('STEP writer: a face loop has no corner.');
    for (let i = first; i < first + n; ) {
      const head = loopEdges[start + (i % n)]!;
      let j = i + 1;
      while (!isCorner(tri[loopEdges[start + (j % n)]!]!)) j++;
      const tail = loopEdges[start + ((j - 1) % n)]!;
      const s = tri[head]!;
      const e = tri[loopEdges[start + (j % n)]!]!;
      const key = s < e ? edgeOf[head]! : edgeOf[tail]!;
      let edge = writtenEdge[key]!;
      const si = vertexOf(s);
      const ei = vertexOf(e);
      if (edge < 0) {
        edge = writtenEdge[key] = edgeStart.length;
        edgeStart.push(si);
        edgeEnd.push(ei);
      }
      const forward = edgeStart.get(edge) === si && edgeEnd.get(edge) === ei;
      if (!forward && !(edgeStart.get(edge) === ei && edgeEnd.get(edge) === si)) {
        throw new Error('STEP writer: faces disagree on the ends of a shared edge.');
      }
      uses.push(edge * 2 + (forward ? 0 : 1));
      i = j;
    }
  }
  useStart[loopCount] = uses.length;
  return {
    vertexOrder: vertexOrder.toArray(),
    vertexIndex,
    edgeStart: edgeStart.toArray(),
    edgeEnd: edgeEnd.toArray(),
    uses: uses.toArray(),
    useStart,
  };
}

/** Bytes the file will take, roughly, so the buffer rarely grows. */
function estimateSize(input: BrepInput, topology: Topology): number {
  return 4096 + 100 * topology.vertexOrder.length + 190 * topology.edgeStart.length + 45 * topology.uses.length + 300 * input.faces.count;
}

// The fixed text of the entities written per vertex, edge and face, encoded once.
const POINT_OPEN = ascii("CARTESIAN_POINT('',(");
const CLOSE2 = ascii('));\n');
const VERTEX_OPEN = ascii("VERTEX_POINT('',");
const CLOSE1 = ascii(');\n');
const DIRECTION_OPEN = ascii("DIRECTION('',(");
const VECTOR_OPEN = ascii("VECTOR('',");
const UNIT_CLOSE = ascii(',1.);\n');
const LINE_OPEN = ascii("LINE('',");
const EDGE_CURVE_OPEN = ascii("EDGE_CURVE('',");
const TRUE_CLOSE = ascii(',.T.);\n');
const ORIENTED_EDGE_OPEN = ascii("ORIENTED_EDGE('',*,*,");
const FALSE_CLOSE = ascii(',.F.);\n');
const EDGE_LOOP_OPEN = ascii("EDGE_LOOP('',");
const OUTER_BOUND_OPEN = ascii("FACE_OUTER_BOUND('',");
const BOUND_OPEN = ascii("FACE_BOUND('',");
const AXIS_OPEN = ascii("AXIS2_PLACEMENT_3D('',");
const PLANE_OPEN = ascii("PLANE('',");
const FACE_OPEN = ascii("ADVANCED_FACE('',");

/** Vertices, edges and faces; returns the id of each ADVANCED_FACE. */
function writeGeometry(w: EntityWriter, input: BrepInput, topology: Topology): Int32Array {
  const { out } = w;
  const { grid, faces, uncertainty } = input;
  const { vertexOrder, vertexIndex, edgeStart, edgeEnd, uses, useStart } = topology;

  const vertexBase = w.id + 1;
  const pointId = (i: number): number => vertexBase + 2 * i;
  const point = (x: number, y: number, z: number): void => {
    out.raw(POINT_OPEN);
    out.fixed(x, COORD_DECIMALS);
    out.char(44);
    out.fixed(y, COORD_DECIMALS);
    out.char(44);
    out.fixed(z, COORD_DECIMALS);
    out.raw(CLOSE2);
  };
  for (let i = 0; i < vertexOrder.length; i++) {
    const v = vertexOrder[i]! * 3;
    w.open();
    point(grid[v]!, grid[v + 1]!, grid[v + 2]!);
    w.open();
    out.raw(VERTEX_OPEN);
    out.ref(pointId(i));
    out.raw(CLOSE1);
  }

  const edgeBase = w.id + 1;
  const direction = new Float64Array(3);
  const writeDirection = (decimals: number): void => {
    out.raw(DIRECTION_OPEN);
    out.fixed(direction[0]!, decimals);
    out.char(44);
    out.fixed(direction[1]!, decimals);
    out.char(44);
    out.fixed(direction[2]!, decimals);
    out.raw(CLOSE2);
  };
  for (let j = 0; j < edgeStart.length; j++) {
    const s = edgeStart[j]!;
    const e = edgeEnd[j]!;
    const sv = vertexOrder[s]! * 3;
    const ev = vertexOrder[e]! * 3;
    const dx = grid[ev]! - grid[sv]!, dy = grid[ev + 1]! - grid[sv + 1]!, dz = grid[ev + 2]! - grid[sv + 2]!;
    const length = Math.sqrt(dx * dx + dy * dy + dz * dz);
    const decimals = directionDecimals(length / 10 ** COORD_DECIMALS, uncertainty.value);
    roundDirection(dx, dy, dz, decimals, direction, 0);
    const directionId = w.open();
    writeDirection(decimals);
    w.open();
    out.raw(VECTOR_OPEN);
    out.ref(directionId);
    // A unit magnitude, as OpenCascade writes it: the edge is bounded by its vertices, not the vector.
    out.raw(UNIT_CLOSE);
    w.open();
    out.raw(LINE_OPEN);
    out.ref(pointId(s));
    out.char(44);
    out.ref(directionId + 1);
    out.raw(CLOSE1);
    w.open();
    out.raw(EDGE_CURVE_OPEN);
    out.ref(pointId(s) + 1);
    out.char(44);
    out.ref(pointId(e) + 1);
    out.char(44);
    out.ref(directionId + 2);
    out.raw(TRUE_CLOSE);
  }
  const edgeCurveId = (edge: number): number => edgeBase + 4 * edge + 3;
  const edgeDirectionId = (edge: number): number => edgeBase + 4 * edge;

  const faceIds = new Int32Array(faces.count);
  const bounds: number[] = [];
  for (let f = 0; f < faces.count; f++) {
    bounds.length = 0;
    const firstLoop = faces.faceLoops[f]!;
    const curved = faces.surfaceOf[f]!;
    for (let l = firstLoop; l < faces.faceLoops[f + 1]!; l++) {
      const firstUse = w.id + 1;
      for (let u = useStart[l]!; u < useStart[l + 1]!; u++) {
        w.open();
        out.raw(ORIENTED_EDGE_OPEN);
        out.ref(edgeCurveId(uses[u]! >> 1));
        out.raw(uses[u]! & 1 ? FALSE_CLOSE : TRUE_CLOSE);
      }
      const loop = w.open();
      out.raw(EDGE_LOOP_OPEN);
      w.refRun(firstUse, useStart[l + 1]! - useStart[l]!);
      out.raw(CLOSE1);
      bounds.push(w.open());
      // On a curved face no loop is marked outer: which one is depends on how the surface is parameterised.
      out.raw(l === firstLoop && curved < 0 ? OUTER_BOUND_OPEN : BOUND_OPEN);
      out.ref(loop);
      out.raw(TRUE_CLOSE);
    }
    if (curved >= 0) {
      const surface = writeAnalyticSurface(w, faces.surfaces[curved]!);
      faceIds[f] = w.open();
      out.raw(FACE_OPEN);
      w.refs(bounds);
      out.char(44);
      out.ref(surface);
      out.raw(faces.sameSense[curved] ? TRUE_CLOSE : FALSE_CLOSE);
      continue;
    }
    // The plane sits on one of the face's own vertices when it has one in the file, else on a point of its own.
    const originVertex = faces.originVertex[f]!;
    let location: number;
    if (originVertex >= 0 && vertexIndex[originVertex]! >= 0) {
      location = pointId(vertexIndex[originVertex]!);
    } else {
      location = w.open();
      if (originVertex >= 0) point(grid[originVertex * 3]!, grid[originVertex * 3 + 1]!, grid[originVertex * 3 + 2]!);
      else point(faces.origin[f * 3]!, faces.origin[f * 3 + 1]!, faces.origin[f * 3 + 2]!);
    }
    direction[0] = faces.normal[f * 3]!;
    direction[1] = faces.normal[f * 3 + 1]!;
    direction[2] = faces.normal[f * 3 + 2]!;
    const normal = w.open();
    writeDirection(faces.normalDecimals[f]!);
    // Any in-plane direction serves as the reference axis; the first edge's is already written.
    const axis = w.open();
    out.raw(AXIS_OPEN);
    out.ref(location);
    out.char(44);
    out.ref(normal);
    out.char(44);
    out.ref(edgeDirectionId(uses[useStart[firstLoop]!]! >> 1));
    out.raw(CLOSE1);
    const plane = w.open();
    out.raw(PLANE_OPEN);
    out.ref(axis);
    out.raw(CLOSE1);
    faceIds[f] = w.open();
    out.raw(FACE_OPEN);
    w.refs(bounds);
    out.char(44);
    out.ref(plane);
    out.raw(TRUE_CLOSE);
  }
  return faceIds;
}

/** Shells, solids or a surface model, and the representation tying them to the product. */
function writeShape(w: EntityWriter, shells: Shells, faceCount: number, faceIds: Int32Array, name: string, context: Context): void {
  const { out } = w;
  // Faces grouped by shell, in face order within each.
  const start = new Int32Array(shells.count + 1);
  for (let f = 0; f < faceCount; f++) start[shells.shellOf[f]! + 1]!++;
  for (let s = 0; s < shells.count; s++) start[s + 1]! += start[s]!;
  const grouped = new Int32Array(faceCount);
  const fill = start.slice(0, shells.count);
  for (let f = 0; f < faceCount; f++) grouped[fill[shells.shellOf[f]!]!++] = faceIds[f]!;

  const shellIds: number[] = [];
  for (let s = 0; s < shells.count; s++) {
    shellIds.push(w.open());
    out.text(shells.closed[s] ? "CLOSED_SHELL('',": "OPEN_SHELL('',");
    w.refs(grouped, start[s]!, start[s + 1]!);
    out.text(');\n');
  }
  let representation: number;
  if (shells.closed.every((c) => c === 1)) {
    const solids = shellIds.map((shell) => w.add(`MANIFOLD_SOLID_BREP(${name},#${shell})`));
    representation = w.open();
    out.text(`ADVANCED_BREP_SHAPE_REPRESENTATION(${name},`);
    w.refs([context.placement, ...solids]);
    out.text(`,#${context.context});\n`);
  } else {
    // A surface model may hold closed shells too, so closed parts of a partly open mesh keep their shape.
    const model = w.open();
    out.text(`SHELL_BASED_SURFACE_MODEL(${name},`);
    w.refs(shellIds);
    out.text(');\n');
    representation = w.open();
    out.text(`MANIFOLD_SURFACE_SHAPE_REPRESENTATION(${name},`);
    w.refs([context.placement, model]);
    out.text(`,#${context.context});\n`);
  }
  w.add(`SHAPE_DEFINITION_REPRESENTATION(#${context.definitionShape},#${representation})`);
}
