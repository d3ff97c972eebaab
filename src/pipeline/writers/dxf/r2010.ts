import { DEFAULT_ACI } from './color.js';
import type { DxfModel } from './model.js';
import { splitTriangles } from './split.js';
import { decimalDigitCount } from '../numberText.js';
import { DxfWriter, EOL, formatIndices, formatNumber, hexHandle, pointTags, tags, vertexTextLength } from './text.js';

/**
 * AutoCAD 2010 (AC1024) ASCII DXF holding the mesh as MESH entities (AcDbSubDMesh).
 *
 * Why AC1024: MESH was introduced with AutoCAD 2010, whose native DXF version this is. ezdxf reads
 * (and writes) MESH in any R2000+ file, but declaring R2000 would promise readers of that version an
 * entity it does not have (AutoCAD strips or converts objects newer than the format it saves to).
 * AC1024 also allows true colour on layers (group 420, since R2004). Every AutoCAD since 2010 opens
 * it, and so do BricsCAD, ODA-based tools and ezdxf. LibreCAD cannot show MESH: libdxfrw
 * skips entity types it does not know, and MESH is one of them (LibreCAD 2.2 also drops polyface
 * meshes), so for LibreCAD the default 3DFACE file is the one to use.
 *
 * The structure is the minimum that AutoCAD accepts for R2000+ DXF (as documented by ezdxf's "Minimal
 * DXF Content" and the DXF reference): HEADER with $ACADVER and $HANDSEED; all nine symbol tables
 * with their required entries (VPORT *Active; LTYPE ByBlock, ByLayer, Continuous; LAYER 0; STYLE
 * Standard; APPID ACAD; DIMSTYLE Standard; BLOCK_RECORD *Model_Space and *Paper_Space); BLOCKS for
 * both spaces; OBJECTS with the root dictionary and its ACAD_GROUP dictionary. Layouts are left out:
 * AutoCAD and ezdxf create the default ones when a file has none.
 */

/**
 * Most faces in one MESH entity: AutoCAD's SMOOTHMESHMAXFACE (default 1 000 000) caps the faces of a
 * mesh object, so a larger mesh is written as several MESH entities.
 */
export const MESH_FACE_LIMIT = 1_000_000;

/** Header, classes, tables, blocks and objects stay well under this; it pads the size estimate. */
const STRUCTURE_BYTES = 8192;
/** Group-code lines around one vertex: "10\r\n", "\r\n20\r\n", "\r\n30\r\n", "\r\n". */
const VERTEX_FRAME_BYTES = 18;
/** Group-code lines of one face besides its indices: "90\r\n3\r\n90\r\n", twice "\r\n90\r\n", "\r\n". */
const FACE_FRAME_BYTES = 25;

/** Handles are hexadecimal and unique per file; 0 means "no owner". */
class HandleSeed {
  private next = 1;
  take(): string {
    return hexHandle(this.next++);
  }
  /** The first handle not used, which $HANDSEED must name. */
  seed(): string {
    return hexHandle(this.next);
  }
}

/** Handles of the fixed document structure, taken before any entity so that owners are known early. */
interface Structure {
  readonly tables: Record<TableName, string>;
  readonly vportActive: string;
  readonly linetypes: readonly [string, string, string];
  readonly layer0: string;
  readonly modelLayer: string | undefined;
  readonly styleStandard: string;
  readonly appAcad: string;
  readonly dimStandard: string;
  readonly modelRecord: string;
  readonly paperRecord: string;
  readonly modelBlock: readonly [string, string];
  readonly paperBlock: readonly [string, string];
  readonly rootDictionary: string;
  readonly groupDictionary: string;
}

type TableName = 'VPORT' | 'LTYPE' | 'LAYER' | 'STYLE' | 'VIEW' | 'UCS' | 'APPID' | 'DIMSTYLE' | 'BLOCK_RECORD';
/** The order AutoCAD writes them in. */
const TABLE_ORDER: readonly TableName[] = ['VPORT', 'LTYPE', 'LAYER', 'STYLE', 'VIEW', 'UCS', 'APPID', 'DIMSTYLE', 'BLOCK_RECORD'];

export function writeR2010Mesh(model: DxfModel): DxfWriter {
  const { coordinates } = model;
  const blocks = splitTriangles(model.triangles, model.vertexCount, model.vertexCount, MESH_FACE_LIMIT);
  let expected = STRUCTURE_BYTES;
  for (const block of blocks) {
    expected += 256 + block.vertices.length * VERTEX_FRAME_BYTES;
    for (const v of block.vertices) expected += vertexTextLength(coordinates, v);
    expected += (block.faces.length / 3) * (FACE_FRAME_BYTES + 3 * decimalDigitCount(block.vertices.length));
  }
  const out = new DxfWriter(expected);

  const handles = new HandleSeed();
  const s = allocateStructure(handles, model.layer);
  const meshHandles = blocks.map(() => handles.take());

  writeHeader(out, model, handles.seed());
  // MESH is a class-based entity in AutoCAD's database, so AutoCAD lists it in CLASSES; other
  // readers do not need the record.
  out.text(
    tags(
      0, 'SECTION', 2, 'CLASSES',
      0, 'CLASS', 1, 'MESH', 2, 'AcDbSubDMesh', 3, 'ObjectDBX Classes', 90, 0, 91, blocks.length, 280, 0, 281, 1,
      0, 'ENDSEC',
    ),
  );
  writeTables(out, model, s);
  writeBlocks(out, s);

  out.text(tags(0, 'SECTION', 2, 'ENTITIES'));
  const vertexRoom = VERTEX_FRAME_BYTES + 3 * coordinates.longest;
  blocks.forEach((block, i) => {
    // Colour stays BYLAYER: the layer carries both the index and the true colour.
    out.text(
      tags(
        0, 'MESH', 5, meshHandles[i]!, 330, s.modelRecord, 100, 'AcDbEntity', 8, model.layer,
        100, 'AcDbSubDMesh', 71, 2, 72, 0, 91, 0, 92, block.vertices.length,
      ),
    );
    for (const v of block.vertices) {
      out.reserve(vertexRoom);
      out.putVertex(coordinates, v, '10\r\n', '\r\n20\r\n', '\r\n30\r\n');
    }
    const f = block.faces;
    const names = formatIndices(0, block.vertices.length);
    // The face list counts its group-90 values: a size and three indices (0-based) per triangle.
    out.text(tags(93, (f.length / 3) * 4));
    for (let k = 0; k < f.length; k += 3) {
      out.reserve(FACE_FRAME_BYTES + 30);
      out.put('90\r\n3\r\n90\r\n');
      out.putIndex(names, f[k]!);
      out.put('\r\n90\r\n');
      out.putIndex(names, f[k + 1]!);
      out.put('\r\n90\r\n');
      out.putIndex(names, f[k + 2]!);
      out.put(EOL);
    }
    // No creased edges and no per-face property overrides; the counts are still required.
    out.text(tags(94, 0, 95, 0, 90, 0));
  });
  out.text(tags(0, 'ENDSEC'));

  out.text(
    tags(
      0, 'SECTION', 2, 'OBJECTS',
      0, 'DICTIONARY', 5, s.rootDictionary, 330, 0, 100, 'AcDbDictionary', 281, 1, 3, 'ACAD_GROUP', 350, s.groupDictionary,
      0, 'DICTIONARY', 5, s.groupDictionary, 330, s.rootDictionary, 100, 'AcDbDictionary', 281, 1,
      0, 'ENDSEC',
      0, 'EOF',
    ),
  );
  return out;
}

function allocateStructure(h: HandleSeed, layer: string): Structure {
  const tables = {} as Record<TableName, string>;
  for (const name of TABLE_ORDER) tables[name] = h.take();
  return {
    tables,
    vportActive: h.take(),
    linetypes: [h.take(), h.take(), h.take()],
    layer0: h.take(),
    // Layer names compare case-insensitively; a model named "0" goes on layer 0 itself.
    modelLayer: layer === '0' ? undefined : h.take(),
    styleStandard: h.take(),
    appAcad: h.take(),
    dimStandard: h.take(),
    modelRecord: h.take(),
    paperRecord: h.take(),
    modelBlock: [h.take(), h.take()],
    paperBlock: [h.take(), h.take()],
    rootDictionary: h.take(),
    groupDictionary: h.take(),
  };
}

function writeHeader(out: DxfWriter, model: DxfModel, handseed: string): void {
  const { min, max } = model;
  out.text(
    tags(
      0, 'SECTION', 2, 'HEADER',
      9, '$ACADVER', 1, 'AC1024',
      9, '$DWGCODEPAGE', 3, 'ANSI_1252',
      9, '$INSBASE', ...pointTags(10, 0, 0, 0),
      9, '$EXTMIN', ...pointTags(10, min[0], min[1], min[2]),
      9, '$EXTMAX', ...pointTags(10, max[0], max[1], max[2]),
      // 4 = millimetres; 1 = metric drawing (metric linetype and hatch files).
      9, '$INSUNITS', 70, 4,
      9, '$MEASUREMENT', 70, 1,
      9, '$HANDSEED', 5, handseed,
      0, 'ENDSEC',
    ),
  );
}

function writeTables(out: DxfWriter, model: DxfModel, s: Structure): void {
  const entry = (type: string, handle: string, table: TableName, subclass: string, ...rest: (string | number)[]): string =>
    tags(0, type, 5, handle, 330, s.tables[table], 100, 'AcDbSymbolTableRecord', 100, subclass, ...rest);
  const table = (name: TableName, records: readonly string[], extra: readonly (string | number)[] = []): string =>
    tags(0, 'TABLE', 2, name, 5, s.tables[name], 330, 0, 100, 'AcDbSymbolTable', 70, records.length, ...extra) +
    records.join('') +
    tags(0, 'ENDTAB');

  const colour = model.color;
  const layerColour = (isModel: boolean): (string | number)[] =>
    isModel && colour ? [62, colour.aci, 420, colour.trueColor] : [62, DEFAULT_ACI];
  const layers = [
    entry('LAYER', s.layer0, 'LAYER', 'AcDbLayerTableRecord', 2, '0', 70, 0, ...layerColour(!s.modelLayer), 6, 'Continuous', 370, -3),
  ];
  if (s.modelLayer) {
    layers.push(
      entry('LAYER', s.modelLayer, 'LAYER', 'AcDbLayerTableRecord', 2, model.layer, 70, 0, ...layerColour(true), 6, 'Continuous', 370, -3),
    );
  }
  const linetype = (handle: string, name: string, description: string): string =>
    entry('LTYPE', handle, 'LTYPE', 'AcDbLinetypeTableRecord', 2, name, 70, 0, 3, description, 72, 65, 73, 0, 40, 0);
  const blockRecord = (handle: string, name: string): string =>
    entry('BLOCK_RECORD', handle, 'BLOCK_RECORD', 'AcDbBlockTableRecord', 2, name, 70, 0, 280, 1, 281, 0);
  // DIMSTYLE records carry their handle in group 105, not 5.
  const dimStyle = tags(
    0, 'DIMSTYLE', 105, s.dimStandard, 330, s.tables.DIMSTYLE,
    100, 'AcDbSymbolTableRecord', 100, 'AcDbDimStyleTableRecord', 2, 'Standard', 70, 0,
  );

  out.text(tags(0, 'SECTION', 2, 'TABLES'));
  out.text(table('VPORT', [entry('VPORT', s.vportActive, 'VPORT', 'AcDbViewportTableRecord', 2, '*Active', 70, 0, ...planView(model))]));
  out.text(
    table('LTYPE', [
      linetype(s.linetypes[0], 'ByBlock', ''),
      linetype(s.linetypes[1], 'ByLayer', ''),
      linetype(s.linetypes[2], 'Continuous', 'Solid line'),
    ]),
  );
  out.text(table('LAYER', layers));
  out.text(
    table('STYLE', [
      entry('STYLE', s.styleStandard, 'STYLE', 'AcDbTextStyleTableRecord', 2, 'Standard', 70, 0, 40, 0, 41, 1, 50, 0, 71, 0, 42, 2.5, 3, 'txt', 4, ''),
    ]),
  );
  out.text(table('VIEW', []));
  out.text(table('UCS', []));
  out.text(table('APPID', [entry('APPID', s.appAcad, 'APPID', 'AcDbRegAppTableRecord', 2, 'ACAD', 70, 0)]));
  out.text(table('DIMSTYLE', [dimStyle], [100, 'AcDbDimStyleTable']));
  out.text(table('BLOCK_RECORD', [blockRecord(s.modelRecord, '*Model_Space'), blockRecord(s.paperRecord, '*Paper_Space')]));
  out.text(tags(0, 'ENDSEC'));
}

/** The active viewport: a plan view centred on the model, tall enough to show all of it. */
function planView(model: DxfModel): (string | number)[] {
  const { min, max } = model;
  const aspect = 1.5;
  const height = Math.max(max[1] - min[1], (max[0] - min[0]) / aspect, 1e-3) * 1.1;
  return [
    10, 0, 20, 0, 11, 1, 21, 1,
    12, (min[0] + max[0]) / 2, 22, (min[1] + max[1]) / 2,
    13, 0, 23, 0, 14, 1, 24, 1, 15, 10, 25, 10,
    16, 0, 26, 0, 36, 1, 17, 0, 27, 0, 37, 0,
    40, height, 41, aspect, 42, 50, 43, 0, 44, 0, 50, 0, 51, 0,
    71, 0, 72, 1000, 73, 1, 74, 3, 75, 0, 76, 0, 77, 0, 78, 0,
  ].map((v, i) => (i % 2 === 1 ? formatNumber(v) : v));
}

function writeBlocks(out: DxfWriter, s: Structure): void {
  const block = (handles: readonly [string, string], record: string, name: string, paper: boolean): string =>
    tags(
      0, 'BLOCK', 5, handles[0], 330, record, 100, 'AcDbEntity', ...(paper ? [67, 1] : []), 8, '0',
      100, 'AcDbBlockBegin', 2, name, 70, 0, 10, 0, 20, 0, 30, 0, 3, name, 1, '',
      0, 'ENDBLK', 5, handles[1], 330, record, 100, 'AcDbEntity', ...(paper ? [67, 1] : []), 8, '0', 100, 'AcDbBlockEnd',
    );
  out.text(
    tags(0, 'SECTION', 2, 'BLOCKS') +
      block(s.modelBlock, s.modelRecord, '*Model_Space', false) +
      block(s.paperBlock, s.paperRecord, '*Paper_Space', true) +
      tags(0, 'ENDSEC'),
  );
}
