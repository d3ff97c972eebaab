/// <reference types="mocha" />
// End-to-end checks of "Generate 3D Model" inside a real VS Code (code-server + Chromium via run.mjs,
// or Electron via runElectron.mjs). The workspace comes from test/vscode/fixtures.mjs.

import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { sleep, UiDriver } from './driver.js';
import { dxfParser, gltfValidator, occt, readPng, waitFor } from './readers.js';
import { writeTestSegmenter } from '../../fixtures/segmentationNetwork.js';

const EXTENSION_ID = 'imageto3d.image-to-3d';
const GENERATE = 'imageTo3d.generate';
const PREVIEW_STATE = 'imageTo3d._previewState';
const PREVIEW_VIEW_TYPE = 'imageTo3d.preview';
const MENU_LABEL = 'Generate 3D Model';
const FORMATS = ['glb', 'dxf', 'step'] as const;
/** One generation, model load included, on a slow CI machine. */
const GENERATE_TIMEOUT_MS = 180_000;

interface GenerateResult {
  files: string[];
  provider: string;
  model: string;
  metrics: { vertices: number; faces: number; watertight: boolean };
  background: { removedWith?: string; objectShare: number };
}

interface PreviewState {
  rendered: boolean;
  triangles: number;
  inputImage?: { width: number; height: number };
}

function generate(uri: vscode.Uri): Thenable<GenerateResult | undefined> {
  return vscode.commands.executeCommand<GenerateResult | undefined>(GENERATE, uri);
}

function fingerprint(file: string) {
  const stat = fs.statSync(file);
  return { size: stat.size, mtimeMs: stat.mtimeMs, sha256: createHash('sha256').update(fs.readFileSync(file)).digest('hex') };
}

const sorted = (paths: string[]) => paths.map((p) => path.resolve(p)).sort();

suite('Image to 3D in a real VS Code', function () {
  let ws: string;
  let sample: vscode.Uri;
  let driver: UiDriver | undefined;
  let first: GenerateResult | undefined;

  /** The first generation's files, or a clear failure when that test did not get that far. */
  function firstFiles(): Record<(typeof FORMATS)[number], string> {
    assert.ok(first, 'the first generation (sample.png) did not succeed; see the failure above');
    const byExt = Object.fromEntries(first.files.map((f) => [path.extname(f).slice(1).toLowerCase(), f]));
    return { glb: byExt.glb, dxf: byExt.dxf, step: byExt.step };
  }

  function requireDriver(ctx: Mocha.Context): UiDriver {
    if (!driver) {
      console.log('[suite] no browser driver (not run through test/vscode/run.mjs): skipping a browser-only check');
      ctx.skip();
    }
    return driver!;
  }

  suiteSetup(async function () {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'no workspace folder is open');
    ws = folder.uri.fsPath;
    sample = vscode.Uri.file(path.join(ws, 'sample.png'));
    assert.ok(fs.existsSync(sample.fsPath), `fixture missing: ${sample.fsPath}`);
    driver = UiDriver.find(ws);

    // The fixture's .vscode/settings.json sets these; make sure they are in force, as a prompt
    // ("ask") would hang the suite and a full-size grid would slow it down.
    const config = vscode.workspace.getConfiguration('imageTo3d');
    if (config.get('existingFiles') !== 'suffix') {
      await config.update('existingFiles', 'suffix', vscode.ConfigurationTarget.Workspace);
    }
    if (config.get('resolution') !== 48) {
      await config.update('resolution', 48, vscode.ConfigurationTarget.Workspace);
    }
  });

  test('the extension is installed and contributes "Generate 3D Model"', function () {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not loaded`);
    const commands = (ext.packageJSON?.contributes?.commands ?? []) as { command: string; title: string }[];
    const generateCommand = commands.find((c) => c.command === GENERATE);
    assert.ok(generateCommand, `package.json does not contribute ${GENERATE}`);
    assert.equal(generateCommand.title, MENU_LABEL);
  });

  test('generate on sample.png activates the extension and writes sample.glb, .dxf and .step next to it', async function () {
    this.timeout(GENERATE_TIMEOUT_MS + 10_000);
    const result = await generate(sample);
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext?.isActive, 'the extension did not activate on the command');
    assert.ok(result, `${GENERATE} resolved undefined for sample.png (cancelled or failed; see the extension's notifications)`);

    const expected = FORMATS.map((ext) => path.join(ws, `sample.${ext}`));
    assert.deepEqual(sorted(result.files), sorted(expected));
    for (const file of expected) assert.ok(fs.statSync(file).size > 0, `${file} is empty`);
    assert.equal(typeof result.provider, 'string');
    assert.ok(result.provider.length > 0, 'provider is empty');
    assert.ok(result.metrics.vertices > 0, `metrics.vertices = ${result.metrics.vertices}`);
    assert.ok(result.metrics.faces > 0, `metrics.faces = ${result.metrics.faces}`);
    assert.equal(typeof result.metrics.watertight, 'boolean');
    first = result;
  });

  test('sample.glb passes glTF-Validator with no errors', async function () {
    const bytes = fs.readFileSync(firstFiles().glb);
    const report = await gltfValidator().validateBytes(new Uint8Array(bytes), { maxIssues: 50 });
    const errors = report.issues.messages.filter((m) => m.severity === 0);
    assert.equal(
      report.issues.numErrors,
      0,
      `glTF-Validator errors:\n${errors.map((m) => `  ${m.code} at ${m.pointer ?? '?'}: ${m.message}`).join('\n')}`,
    );
    if (report.info?.totalTriangleCount !== undefined) assert.ok(report.info.totalTriangleCount > 0, 'GLB has no triangles');
  });

  test('sample.dxf parses with dxf-parser and holds 3DFACE entities', function () {
    const parsed = dxfParser().parseSync(fs.readFileSync(firstFiles().dxf, 'utf8'));
    assert.ok(parsed, 'dxf-parser returned nothing');
    const faces = parsed.entities.filter((e) => e.type === '3DFACE').length;
    assert.ok(faces > 0, `no 3DFACE entities (entity types: ${[...new Set(parsed.entities.map((e) => e.type))].join(', ') || 'none'})`);
  });

  test('sample.step reads in OpenCascade (occt-import-js) with at least one mesh', async function () {
    this.timeout(120_000);
    const reader = await occt();
    const result = reader.ReadStepFile(new Uint8Array(fs.readFileSync(firstFiles().step)), null);
    assert.ok(result.success, 'ReadStepFile reported failure');
    assert.ok(result.meshes.length >= 1, 'ReadStepFile found no mesh');
    const triangles = result.meshes.reduce((n, m) => n + m.index.array.length / 3, 0);
    assert.ok(triangles > 0, 'the STEP meshes have no triangles');
  });

  test('the preview panel reports the mesh rendered', async function () {
    firstFiles();
    const state = await waitFor('the preview to report rendered', 60_000, async () => {
      const s = await vscode.commands.executeCommand<PreviewState | undefined>(PREVIEW_STATE);
      return s?.rendered ? s : undefined;
    });
    assert.ok(state.triangles > 0, `preview rendered ${state.triangles} triangles`);
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs);
    assert.ok(
      tabs.some((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith(PREVIEW_VIEW_TYPE)),
      `no ${PREVIEW_VIEW_TYPE} tab is open (tabs: ${tabs.map((t) => t.label).join(', ')})`,
    );
  });

  test('a screenshot of the preview shows the mesh', async function () {
    const ui = requireDriver(this);
    firstFiles();
    // Nothing may cover the panel: close notifications (e.g. "model written") and the bottom panel.
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('workbench.action.closePanel');
    await sleep(750);
    const shot = await ui.request('screenshot', { name: 'preview', extensionId: EXTENSION_ID });
    const area = shot.width * shot.height;
    const share = shot.nonBackgroundPixels / area;
    const colouredShare = shot.chromaticPixels / area;
    const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
    console.log(
      `[suite] preview ${shot.width}×${shot.height}: ${pct(share)} not background, ${pct(colouredShare)} coloured, ` +
        `${shot.distinctColours} colours, background rgb(${shot.background.join(',')}), saved ${shot.file}`,
    );
    assert.ok(shot.width >= 200 && shot.height >= 200, `the preview is only ${shot.width}×${shot.height} px`);
    // The viewer's grid, overlay and text alone cover about 4 % of the panel; the framed mesh of the
    // disc fixture covers far more than 10 %.
    assert.ok(share >= 0.1, `only ${pct(share)} of the preview differs from its background (want ≥ 10 %)`);
    // sample.png is orange, so its mesh's vertex colours are: grey UI, grid and text do not count here.
    assert.ok(colouredShare >= 0.05, `only ${pct(colouredShare)} of the preview is coloured (want ≥ 5 %): is the mesh drawn with its colours?`);
    assert.ok(shot.distinctColours >= 16, `only ${shot.distinctColours} distinct colours: a flat fill, not a shaded mesh`);
  });

  test('the Explorer context menu of sample.png offers "Generate 3D Model"', async function () {
    const ui = requireDriver(this);
    await vscode.commands.executeCommand('revealInExplorer', sample);
    const menu = await ui.request('contextMenu', { file: 'sample.png' });
    assert.ok(menu.items.includes(MENU_LABEL), `menu items: ${menu.items.join(' | ')}`);
  });

  test('the Explorer context menu of notes.txt does not offer "Generate 3D Model"', async function () {
    const ui = requireDriver(this);
    const notes = vscode.Uri.file(path.join(ws, 'notes.txt'));
    await vscode.commands.executeCommand('revealInExplorer', notes);
    const menu = await ui.request('contextMenu', { file: 'notes.txt' });
    // The menu really opened (it is the Explorer's, with its usual entries), so the absence means something.
    assert.ok(menu.items.includes('Copy Path'), `not the Explorer's file menu: ${menu.items.join(' | ')}`);
    assert.ok(!menu.items.includes(MENU_LABEL), `menu items: ${menu.items.join(' | ')}`);
  });

  test('a second run with existingFiles "suffix" writes "sample (2).*" and leaves the first files untouched', async function () {
    this.timeout(GENERATE_TIMEOUT_MS + 10_000);
    const originals = Object.values(firstFiles());
    const before = originals.map(fingerprint);
    const result = await generate(sample);
    assert.ok(result, `${GENERATE} resolved undefined on the second run`);
    const expected = FORMATS.map((ext) => path.join(ws, `sample (2).${ext}`));
    assert.deepEqual(sorted(result.files), sorted(expected));
    for (const file of expected) assert.ok(fs.statSync(file).size > 0, `${file} is empty`);
    assert.deepEqual(originals.map(fingerprint), before, 'the first run\'s files changed');
  });

  test('a corrupt PNG makes the command resolve undefined and writes nothing next to it', async function () {
    this.timeout(GENERATE_TIMEOUT_MS + 10_000);
    const bad = vscode.Uri.file(path.join(ws, 'bad.png'));
    const before = new Set(fs.readdirSync(ws));
    const result = await generate(bad);
    assert.equal(result, undefined);
    await sleep(500); // a straggling write would show up here
    const added = fs.readdirSync(ws).filter((name) => !before.has(name));
    assert.deepEqual(added, [], `files appeared next to bad.png: ${added.join(', ')}`);
  });

  test('with a TripoSR checkpoint configured, generate converts it and runs the TripoSR graphs', async function () {
    this.timeout(GENERATE_TIMEOUT_MS + 10_000);
    const checkpoint = path.join(ws, 'triposr', 'model.ckpt');
    assert.ok(fs.existsSync(checkpoint), `fixture missing: ${checkpoint}`);
    const image = path.join(ws, 'tripo.png');
    fs.copyFileSync(sample.fsPath, image);
    const config = vscode.workspace.getConfiguration('imageTo3d');
    await config.update('model', 'triposr', vscode.ConfigurationTarget.Workspace);
    await config.update('checkpointPath', checkpoint, vscode.ConfigurationTarget.Workspace);
    try {
      const result = await generate(vscode.Uri.file(image));
      assert.ok(result, `${GENERATE} resolved undefined with the TripoSR checkpoint`);
      assert.equal(result.model, 'triposr');
      assert.deepEqual(sorted(result.files), sorted(FORMATS.map((ext) => path.join(ws, `tripo.${ext}`))));
      const cached = fs.readdirSync(path.join(ws, 'triposr', '.image-to-3d')).filter((n) => !n.endsWith('.json'));
      assert.equal(cached.length, 1, `converted graphs beside the checkpoint: ${cached.join(', ')}`);
    } finally {
      await config.update('model', 'standin', vscode.ConfigurationTarget.Workspace);
      await config.update('checkpointPath', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
  test('sample.png has its own transparency, so its background is kept and no network removes it', function () {
    assert.ok(first, 'the first generation (sample.png) did not succeed; see the failure above');
    assert.equal(first.background.removedWith, undefined);
    // The disc of radius 44 covers π·44²/128² ≈ 37 % of the picture; its alpha is the mask.
    assert.ok(Math.abs(first.background.objectShare - 0.371) < 0.02, `objectShare ${first.background.objectShare}`);
  });

  test('an opaque photo has its background removed; the network input and mask are written and the preview shows the input', async function () {
    this.timeout(GENERATE_TIMEOUT_MS + 30_000);
    const photo = vscode.Uri.file(path.join(ws, 'photo.png'));
    assert.ok(fs.existsSync(photo.fsPath), `fixture missing: ${photo.fsPath}`);
    // A generated network with u2net's interface (320² in, a mask out) that calls "object" whatever
    // is far in colour from the top-left corner: the blue ellipse, not the grey backdrop.
    const network = writeTestSegmenter(path.join(ws, 'segmenter'), 'u2net-test.onnx', { width: 320, height: 320 });
    const config = vscode.workspace.getConfiguration('imageTo3d');
    await config.update('backgroundModelPath', network, vscode.ConfigurationTarget.Workspace);
    await config.update('saveNetworkInput', true, vscode.ConfigurationTarget.Workspace);
    // Not the default (0.85), so the framing below shows the setting reached the pipeline.
    await config.update('foregroundRatio', 0.7, vscode.ConfigurationTarget.Workspace);
    // Only this run's preview open, so the screenshot below is of it.
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    try {
      const result = await generate(photo);
      assert.ok(result, `${GENERATE} resolved undefined for photo.png (cancelled or failed; see the extension's notifications)`);
      const inputFile = path.join(ws, 'photo.input.png');
      const maskFile = path.join(ws, 'photo.mask.png');
      assert.deepEqual(sorted(result.files), sorted([...FORMATS.map((ext) => path.join(ws, `photo.${ext}`)), inputFile, maskFile]));
      assert.equal(result.background.removedWith, 'u2net');
      // The ellipse (radii 50 × 40) covers π·50·40/(192·144) ≈ 22.7 % of the photo.
      assert.ok(Math.abs(result.background.objectShare - 0.227) < 0.03, `objectShare ${result.background.objectShare}`);

      // The mask is at the photo's size and marks the ellipse: inside high, backdrop low.
      const mask = readPng(fs.readFileSync(maskFile));
      assert.deepEqual([mask.width, mask.height], [192, 144]);
      const maskAt = (x: number, y: number) => mask.pixels[(y * mask.width + x) * mask.channels]!;
      assert.ok(maskAt(96, 72) >= 200, `mask at the ellipse's centre is ${maskAt(96, 72)}`);
      assert.ok(maskAt(60, 60) >= 200, `mask inside the ellipse is ${maskAt(60, 60)}`);
      assert.ok(maskAt(4, 4) <= 30, `mask in the corner is ${maskAt(4, 4)}`);
      assert.ok(maskAt(36, 72) <= 30, `mask 10 px left of the ellipse is ${maskAt(36, 72)}`);

      // What the network saw: 512² RGB, the blue object framed on TripoSR's 0.5 grey (truncated to 127),
      // its longer side (the ellipse's width) filling the foreground ratio of the frame.
      const input = readPng(fs.readFileSync(inputFile));
      assert.deepEqual([input.width, input.height, input.channels], [512, 512, 3]);
      const rgbAt = (x: number, y: number) => [...input.pixels.subarray((y * 512 + x) * 3, (y * 512 + x) * 3 + 3)];
      assert.deepEqual(rgbAt(2, 2), [127, 127, 127], 'the backdrop was not replaced by grey');
      const [r, g, b] = rgbAt(256, 256);
      assert.ok(b! > r! + 60 && b! > g! + 40, `the centre of the input is rgb(${r},${g},${b}), not the blue object`);
      const objectColumns = Array.from({ length: 512 }, (_, x) => x).filter((x) => rgbAt(x, 256).some((v) => Math.abs(v - 127) > 2));
      const span = (objectColumns[objectColumns.length - 1]! - objectColumns[0]! + 1) / 512;
      assert.ok(Math.abs(span - 0.7) < 0.04, `the object spans ${(100 * span).toFixed(1)} % of the input's width, not the 70 % asked for`);

      const state = await waitFor('the preview to render the mesh and show the network input', 60_000, async () => {
        const s = await vscode.commands.executeCommand<PreviewState | undefined>(PREVIEW_STATE);
        return s?.rendered && s.inputImage ? s : undefined;
      });
      assert.ok(state.triangles > 0, `preview rendered ${state.triangles} triangles`);
      assert.deepEqual(state.inputImage, { width: 512, height: 512 });
      if (driver) {
        await vscode.commands.executeCommand('notifications.clearAll');
        await sleep(500);
        const shot = await driver.request('screenshot', { name: 'preview-photo', extensionId: EXTENSION_ID });
        console.log(`[suite] preview of photo.png with the network input saved as ${shot.file}`);
      }
    } finally {
      await config.update('backgroundModelPath', undefined, vscode.ConfigurationTarget.Workspace);
      await config.update('saveNetworkInput', undefined, vscode.ConfigurationTarget.Workspace);
      await config.update('foregroundRatio', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
});
