/// <reference types="mocha" />
// End-to-end checks of "Convert Mesh to CAD Formats…" inside a real VS Code: part.stl (a 40 × 30 × 10 mm
// box, see test/vscode/fixtures.mjs) becomes STEP, DXF and GLB next to it, read back by independent readers.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { UiDriver } from './driver.js';
import { dxfParser, gltfValidator, occt, waitFor } from './readers.js';

const CONVERT = 'imageTo3d.convertMesh';
const PREVIEW_STATE = 'imageTo3d._previewState';
const MENU_LABEL = 'Convert Mesh to CAD Formats…';
const GENERATE_LABEL = 'Generate 3D Model';

interface ConvertResult {
  files: string[];
  metrics: { vertices: number; faces: number; watertight: boolean };
}

/** Volume of a closed triangle mesh by the divergence theorem. */
function volume(positions: ArrayLike<number>, indices: ArrayLike<number>): number {
  let v = 0;
  for (let t = 0; t < indices.length; t += 3) {
    const [a, b, c] = [0, 1, 2].map((k) => indices[t + k]! * 3);
    v +=
      positions[a]! * (positions[b + 1]! * positions[c + 2]! - positions[b + 2]! * positions[c + 1]!) -
      positions[a + 1]! * (positions[b]! * positions[c + 2]! - positions[b + 2]! * positions[c]!) +
      positions[a + 2]! * (positions[b]! * positions[c + 1]! - positions[b + 1]! * positions[c]!);
  }
  return v / 6;
}

suite('Mesh to CAD in a real VS Code', function () {
  let ws: string;
  let part: vscode.Uri;
  let driver: UiDriver | undefined;

  suiteSetup(function () {
    ws = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
    part = vscode.Uri.file(path.join(ws, 'part.stl'));
    assert.ok(fs.existsSync(part.fsPath), `fixture missing: ${part.fsPath}`);
    driver = UiDriver.find(ws);
  });

  test('convert part.stl writes part.step, part.dxf and part.glb that independent readers accept', async function () {
    this.timeout(60_000);
    const source = fs.readFileSync(part.fsPath);
    const result = await vscode.commands.executeCommand<ConvertResult | undefined>(CONVERT, part, [part], { formats: ['step', 'dxf', 'glb'] });
    assert.ok(result, `${CONVERT} resolved undefined`);
    assert.deepEqual(result.files, ['part.step', 'part.dxf', 'part.glb'].map((f) => path.join(ws, f)));
    assert.deepEqual(result.metrics, { vertices: 8, faces: 12, watertight: true });
    assert.deepEqual(fs.readFileSync(part.fsPath), source, 'the source STL changed');

    const step = (await occt()).ReadStepFile(new Uint8Array(fs.readFileSync(result.files[0]!)), null);
    assert.ok(step.success, 'OpenCascade could not read part.step');
    const stepVolume = step.meshes.reduce((sum, m) => sum + volume(m.attributes.position.array, m.index.array), 0);
    assert.ok(Math.abs(stepVolume - 12_000) < 1, `part.step holds ${stepVolume} mm³, not the box's 12000`);

    const dxf = dxfParser().parseSync(fs.readFileSync(result.files[1]!, 'utf8'));
    assert.equal(dxf?.entities.filter((e) => e.type === '3DFACE').length, 12);

    const report = await gltfValidator().validateBytes(new Uint8Array(fs.readFileSync(result.files[2]!)));
    assert.equal(report.issues.numErrors, 0, report.issues.messages.map((m) => m.message).join('\n'));
    assert.equal(report.issues.numWarnings, 0, report.issues.messages.map((m) => m.message).join('\n'));

    const state = await waitFor('the preview of part.stl to render', 30_000, async () => {
      const s = await vscode.commands.executeCommand<{ rendered: boolean; triangles: number } | undefined>(PREVIEW_STATE);
      return s?.rendered && s.triangles === 12 ? s : undefined;
    });
    assert.equal(state.triangles, 12);
  });

  test('the Explorer context menu of part.stl offers the conversion, and not "Generate 3D Model"', async function () {
    if (!driver) this.skip();
    await vscode.commands.executeCommand('revealInExplorer', part);
    const menu = await driver!.request('contextMenu', { file: 'part.stl' });
    assert.ok(menu.items.includes(MENU_LABEL), `menu items: ${menu.items.join(' | ')}`);
    assert.ok(!menu.items.includes(GENERATE_LABEL), `menu items: ${menu.items.join(' | ')}`);
  });
});
