import { DEFAULT_ACI } from './color.js';
import type { DxfModel } from './model.js';
import { splitTriangles } from './split.js';
import { decimalDigitCount } from '../numberText.js';
import { DxfWriter, EOL, formatIndices, pointTags, tags, vertexTextLength } from './text.js';

/**
 * AutoCAD R12 (AC1009) ASCII DXF: the oldest version practically every CAD and CAM program still
 * reads, with no handles and no OBJECTS section. The mesh is written either as one 3DFACE per
 * triangle or as polyface meshes (POLYLINE flag 64).
 *
 * There is no $INSUNITS here: the variable arrived with AutoCAD 2000 and R12 defines no unit
 * variable at all (ezdxf's header table also lists $INSUNITS from R2000 on), so writing it would be
 * an unknown variable to a strict R12 reader. The drawing is unitless; the values are millimetres.
 */

/**
 * Most vertices, and most faces, in one polyface mesh: groups 71 and 72 of the POLYLINE hold the
 * counts and AutoCAD reads them as 16-bit signed integers, so a larger mesh is split.
 */
export const POLYFACE_LIMIT = 32767;

/** Header and tables stay well under this; it pads the size estimates. */
const PREAMBLE_BYTES = 4096;

/** Group-code lines around one vertex's coordinates: "1x\r\n", "\r\n2x\r\n", "\r\n3x\r\n", "\r\n". */
const VERTEX_FRAME_BYTES = 18;

export function writeR12Faces(model: DxfModel): DxfWriter {
  const { triangles, coordinates } = model;
  const start = `0${EOL}3DFACE${EOL}8${EOL}${model.layer}${EOL}`;
  let expected = PREAMBLE_BYTES + (triangles.length / 3) * (start.length + 4 * VERTEX_FRAME_BYTES);
  for (let t = 0; t < triangles.length; t += 3) {
    expected += vertexTextLength(coordinates, triangles[t]!) + vertexTextLength(coordinates, triangles[t + 1]!);
    expected += 2 * vertexTextLength(coordinates, triangles[t + 2]!);
  }

  const out = new DxfWriter(expected);
  writeHeaderAndTables(out, model);
  const room = start.length + 4 * VERTEX_FRAME_BYTES + 12 * coordinates.longest;
  for (let t = 0; t < triangles.length; t += 3) {
    const c = triangles[t + 2]!;
    out.reserve(room);
    out.put(start);
    // A triangle is a 3DFACE whose fourth corner repeats the third.
    out.putVertex(coordinates, triangles[t]!, '10\r\n', '\r\n20\r\n', '\r\n30\r\n');
    out.putVertex(coordinates, triangles[t + 1]!, '11\r\n', '\r\n21\r\n', '\r\n31\r\n');
    out.putVertex(coordinates, c, '12\r\n', '\r\n22\r\n', '\r\n32\r\n');
    out.putVertex(coordinates, c, '13\r\n', '\r\n23\r\n', '\r\n33\r\n');
  }
  out.text(tags(0, 'ENDSEC', 0, 'EOF'));
  return out;
}

/**
 * Polyface meshes: a POLYLINE with flag 64, its vertices (flag 192: polyface vertex + 3D mesh vertex),
 * each mesh vertex once, then one face record per triangle (flag 128) naming its corners by 1-based
 * position, all edges visible (positive indices), and SEQEND. Every VERTEX and the SEQEND repeat the
 * POLYLINE's layer, which AutoCAD and ezdxf's audit expect.
 */
export function writeR12Polyfaces(model: DxfModel): DxfWriter {
  const { coordinates, layer } = model;
  const blocks = splitTriangles(model.triangles, model.vertexCount, POLYFACE_LIMIT, POLYFACE_LIMIT);
  const vertexStart = `0${EOL}VERTEX${EOL}8${EOL}${layer}${EOL}`;
  const vertexEnd = `70${EOL}192${EOL}`;
  const faceStart = `${vertexStart}10${EOL}0${EOL}20${EOL}0${EOL}30${EOL}0${EOL}70${EOL}128${EOL}71${EOL}`;
  const faceFrame = faceStart.length + 14; // "\r\n72\r\n", "\r\n73\r\n", "\r\n"
  let expected = PREAMBLE_BYTES;
  for (const block of blocks) {
    expected += 256 + block.vertices.length * (vertexStart.length + VERTEX_FRAME_BYTES + vertexEnd.length);
    for (const v of block.vertices) expected += vertexTextLength(coordinates, v);
    expected += (block.faces.length / 3) * (faceFrame + 3 * decimalDigitCount(block.vertices.length));
  }

  const out = new DxfWriter(expected);
  writeHeaderAndTables(out, model);
  const vertexRoom = vertexStart.length + VERTEX_FRAME_BYTES + vertexEnd.length + 3 * coordinates.longest;
  const faceRoom = faceFrame + 3 * 10;
  for (const block of blocks) {
    const faceCount = block.faces.length / 3;
    out.text(
      tags(0, 'POLYLINE', 8, layer, 66, 1, 10, 0, 20, 0, 30, 0, 70, 64, 71, block.vertices.length, 72, faceCount),
    );
    for (const v of block.vertices) {
      out.reserve(vertexRoom);
      out.put(vertexStart);
      out.putVertex(coordinates, v, '10\r\n', '\r\n20\r\n', '\r\n30\r\n');
      out.put(vertexEnd);
    }
    const f = block.faces;
    const names = formatIndices(1, block.vertices.length);
    for (let i = 0; i < f.length; i += 3) {
      out.reserve(faceRoom);
      out.put(faceStart);
      out.putIndex(names, f[i]!);
      out.put('\r\n72\r\n');
      out.putIndex(names, f[i + 1]!);
      out.put('\r\n73\r\n');
      out.putIndex(names, f[i + 2]!);
      out.put(EOL);
    }
    out.text(tags(0, 'SEQEND', 8, layer));
  }
  out.text(tags(0, 'ENDSEC', 0, 'EOF'));
  return out;
}

/** HEADER, TABLES (linetype and layer) and the opening of ENTITIES. */
function writeHeaderAndTables(out: DxfWriter, model: DxfModel): void {
  const { min, max, layer } = model;
  out.text(
    tags(
      0, 'SECTION', 2, 'HEADER',
      9, '$ACADVER', 1, 'AC1009',
      9, '$INSBASE', ...pointTags(10, 0, 0, 0),
      9, '$EXTMIN', ...pointTags(10, min[0], min[1], min[2]),
      9, '$EXTMAX', ...pointTags(10, max[0], max[1], max[2]),
      0, 'ENDSEC',
    ),
  );
  // CONTINUOUS is defined explicitly: the layer refers to it, and readers that audit references
  // (ezdxf, AutoCAD's RECOVER) complain about an undefined linetype otherwise. R12 has index colours
  // only, so the layer carries the nearest ACI of the model's mean colour.
  out.text(
    tags(
      0, 'SECTION', 2, 'TABLES',
      0, 'TABLE', 2, 'LTYPE', 70, 1,
      0, 'LTYPE', 2, 'CONTINUOUS', 70, 0, 3, 'Solid line', 72, 65, 73, 0, 40, '0.0',
      0, 'ENDTAB',
      0, 'TABLE', 2, 'LAYER', 70, 1,
      0, 'LAYER', 2, layer, 70, 0, 62, model.color?.aci ?? DEFAULT_ACI, 6, 'CONTINUOUS',
      0, 'ENDTAB',
      0, 'ENDSEC',
      0, 'SECTION', 2, 'ENTITIES',
    ),
  );
}
