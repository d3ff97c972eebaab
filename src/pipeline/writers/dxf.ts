import type { Mesh } from '../mesh/mesh.js';
import { distinctTriangles } from '../mesh/triangles.js';

/**
 * AutoCAD R12 (AC1009) ASCII DXF writer: one 3DFACE per triangle. R12 is the oldest version that
 * practically every CAD and CAM program still reads, and it needs no handles or object section. The
 * mesh arrives Z up in millimetres, which is what CAD programs assume for unitless R12 drawings.
 */

export interface DxfOptions {
  /** Layer the faces go on; reduced to the characters R12 allows. */
  readonly layer: string;
}

/** CRLF, as AutoCAD writes it; every reader accepts it. */
const EOL = '\r\n';

/** R12 layer names: at most 31 characters out of A–Z, 0–9, $, - and _. */
const MAX_LAYER_NAME = 31;

export function encodeDxf(mesh: Mesh, options: DxfOptions): string {
  const { positions, indices } = mesh;
  const vertexCount = positions.length / 3;
  if (!Number.isInteger(vertexCount)) throw new RangeError('Mesh positions length is not a multiple of 3.');

  const layer = dxfLayerName(options.layer);
  // Coordinates are formatted once per vertex rather than once per face corner.
  const formatted: (string[] | undefined)[] = new Array(vertexCount);
  const coords = (v: number): string[] => {
    let f = formatted[v];
    if (!f) {
      f = [formatNumber(positions[v * 3]!), formatNumber(positions[v * 3 + 1]!), formatNumber(positions[v * 3 + 2]!)];
      formatted[v] = f;
    }
    return f;
  };

  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  const faces: string[] = [];
  const triangles = distinctTriangles(indices, vertexCount);
  for (let t = 0; t < triangles.length; t += 3) {
    const a = triangles[t]!;
    const b = triangles[t + 1]!;
    const c = triangles[t + 2]!;
    for (const v of [a, b, c]) {
      for (let k = 0; k < 3; k++) {
        const x = positions[v * 3 + k]!;
        if (x < min[k]!) min[k] = x;
        if (x > max[k]!) max[k] = x;
      }
    }
    const pa = coords(a);
    const pb = coords(b);
    const pc = coords(c);
    // A triangle is a 3DFACE whose fourth corner repeats the third.
    faces.push(
      `0${EOL}3DFACE${EOL}8${EOL}${layer}${EOL}` +
        `10${EOL}${pa[0]}${EOL}20${EOL}${pa[1]}${EOL}30${EOL}${pa[2]}${EOL}` +
        `11${EOL}${pb[0]}${EOL}21${EOL}${pb[1]}${EOL}31${EOL}${pb[2]}${EOL}` +
        `12${EOL}${pc[0]}${EOL}22${EOL}${pc[1]}${EOL}32${EOL}${pc[2]}${EOL}` +
        `13${EOL}${pc[0]}${EOL}23${EOL}${pc[1]}${EOL}33${EOL}${pc[2]}${EOL}`,
    );
  }
  if (faces.length === 0) throw new RangeError('Mesh has no non-degenerate triangles to write.');

  const pairs = (...items: (string | number)[]): string => {
    let s = '';
    for (let i = 0; i < items.length; i += 2) s += `${items[i]}${EOL}${items[i + 1]}${EOL}`;
    return s;
  };
  const point = (codeBase: number, p: number[]): (string | number)[] => [
    codeBase, formatNumber(p[0]!), codeBase + 10, formatNumber(p[1]!), codeBase + 20, formatNumber(p[2]!),
  ];

  const header = pairs(
    0, 'SECTION', 2, 'HEADER',
    9, '$ACADVER', 1, 'AC1009',
    9, '$INSBASE', ...point(10, [0, 0, 0]),
    9, '$EXTMIN', ...point(10, min),
    9, '$EXTMAX', ...point(10, max),
    0, 'ENDSEC',
  );
  // CONTINUOUS is defined explicitly: the layer refers to it, and readers that audit references
  // (ezdxf, AutoCAD's RECOVER) complain about an undefined linetype otherwise.
  const tables = pairs(
    0, 'SECTION', 2, 'TABLES',
    0, 'TABLE', 2, 'LTYPE', 70, 1,
    0, 'LTYPE', 2, 'CONTINUOUS', 70, 0, 3, 'Solid line', 72, 65, 73, 0, 40, '0.0',
    0, 'ENDTAB',
    0, 'TABLE', 2, 'LAYER', 70, 1,
    0, 'LAYER', 2, layer, 70, 0, 62, 7, 6, 'CONTINUOUS',
    0, 'ENDTAB',
    0, 'ENDSEC',
  );
  return (
    header +
    tables +
    pairs(0, 'SECTION', 2, 'ENTITIES') +
    faces.join('') +
    pairs(0, 'ENDSEC', 0, 'EOF')
  );
}

/** Upper-cased, characters R12 rejects replaced by '_', at most 31 characters; "MESH" when nothing useful is left. */
export function dxfLayerName(name: string): string {
  const cleaned = name
    .toUpperCase()
    .replace(/[^A-Z0-9$_-]/g, '_')
    .slice(0, MAX_LAYER_NAME);
  return /[A-Z0-9]/.test(cleaned) ? cleaned : 'MESH';
}

/**
 * Fixed-point with up to 6 decimals, trailing zeros dropped: 1 nm at millimetre units, well past what
 * float32 input carries, and never in exponent form, which some R12 readers misparse.
 */
function formatNumber(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`Cannot write a non-finite coordinate (${x}) to DXF.`);
  if (Math.abs(x) >= 1e15) throw new RangeError(`Coordinate ${x} is too large for DXF.`);
  let s = x.toFixed(6);
  if (s.includes('.')) s = s.replace(/\.?0+$/, '');
  return s === '-0' ? '0' : s;
}
