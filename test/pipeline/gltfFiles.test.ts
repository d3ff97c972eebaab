/**
 * glTF files in parts and glTF data that lies about its size: a .gltf reads its buffers from files in
 * its folder (or below it), never from anywhere else, and every accessor, buffer view and buffer must
 * fit what holds it. The Khronos validator judges each fixture independently of the reader.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { convertMeshFile } from '../../src/pipeline/convert.js';
import { UserError } from '../../src/pipeline/errors.js';
import { folderResourceLoader, meshFormatLabel, readMeshFile } from '../../src/pipeline/readers/index.js';
import { resolveResourceUri } from '../../src/pipeline/readers/gltfUri.js';
import { folderState, assertUnchanged } from '../fixtures/folderState.js';
import { plainHint } from '../fixtures/userErrors.js';
import {
  gltfText,
  handLaidTriangle,
  packGlb,
  PNG_1X1,
  texturedCube,
  validatorErrors,
  withSparsePosition,
  writeFiles,
  type GltfJson,
  type TexturedCube,
} from '../fixtures/gltfAssets.js';

let root: string;
let caseNumber = 0;
async function freshDir(): Promise<string> {
  const dir = path.join(root, `case${++caseNumber}`);
  await fsp.mkdir(dir);
  return dir;
}

before(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'i3d-gltf-files-'));
});
after(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Reads `<dir>/<name>` as the converter does: its folder lent through a loader. */
async function readFromFolder(dir: string, name: string, maxBytes = 2 ** 31): Promise<Awaited<ReturnType<typeof readMeshFile>>> {
  const bytes = new Uint8Array(await fsp.readFile(path.join(dir, name)));
  return readMeshFile(bytes, 'glb', { resources: folderResourceLoader(dir, { maxBytes, usedBytes: bytes.length }) });
}

/** The error a failed conversion gave, after checking it is a UserError and that the folder is untouched. */
async function refusedConversion(dir: string, meshPath: string, options: { maxInputBytes?: number } = {}): Promise<UserError> {
  const before = folderState(dir);
  let caught: unknown;
  try {
    await convertMeshFile({ meshPath, formats: ['stl', 'step'], existing: 'fail', ...options });
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof UserError, `a UserError, not ${String(caught)}`);
  const after = folderState(dir);
  assertUnchanged(before, after);
  assert.deepEqual([...after.keys()], [...before.keys()], 'nothing written');
  return caught;
}

// ---------------------------------------------------------------------------------------------

describe('resolveResourceUri', () => {
  it('decodes relative references and data: URIs', () => {
    const file = (uri: string): string => {
      const ref = resolveResourceUri(uri, 'buffer 0');
      assert.equal(ref.kind, 'file', uri);
      return ref.kind === 'file' ? ref.path : '';
    };
    assert.equal(file('model.bin'), 'model.bin');
    assert.equal(file('./buffers/model.bin'), 'buffers/model.bin');
    assert.equal(file('a/../model.bin'), 'model.bin', 'a ".." that stays inside is resolved, not refused');
    assert.equal(file('my%20mesh.bin'), 'my mesh.bin');
    assert.equal(file('m%C3%A9sh%2Bparts.bin'), 'mésh+parts.bin');
    assert.equal(file('100%.bin'), '100%.bin', 'broken percent-encoding taken as written');
    const embedded = (uri: string): number[] => {
      const ref = resolveResourceUri(uri, 'buffer 0');
      assert.equal(ref.kind, 'embedded', uri);
      return ref.kind === 'embedded' ? Array.from(ref.bytes) : [];
    };
    assert.deepEqual(embedded('data:application/octet-stream;base64,AAEC/w=='), [0, 1, 2, 255]);
    assert.deepEqual(embedded('DATA:application/gltf-buffer;BASE64,AAEC'), [0, 1, 2]);
    assert.deepEqual(embedded('data:,%00%01A'), [0, 1, 65]);
  });

  it('refuses URLs, absolute paths, escapes and nonsense, naming the uri', () => {
    const refused: [unknown, RegExp][] = [
      ['../x.bin', /"\.\.\/x\.bin" is outside the glTF file's folder/],
      ['a/../../x.bin', /outside the glTF file's folder/],
      ['%2E%2E/x.bin', /outside the glTF file's folder/],
      ['..\\x.bin', /outside the glTF file's folder/],
      ['/abs/x.bin', /absolute path "\/abs\/x\.bin"/],
      ['%2Fabs%2Fx.bin', /absolute path/],
      ['C:/models/x.bin', /absolute path/],
      ['C:\\models\\x.bin', /absolute path/],
      ['\\\\server\\share\\x.bin', /absolute path/],
      ['//server/x.bin', /absolute path/],
      ['http://example.com/x.bin', /URL "http:\/\/example\.com\/x\.bin".*http: URLs are never followed/],
      ['HTTPS://example.com/x.bin', /https: URLs are never followed/],
      ['file:///etc/passwd', /file: URLs are never followed/],
      ['blob:abc', /blob: URLs are never followed/],
      ['', /names no file/],
      ['./', /names no file/],
      ['a%00.bin', /NUL/],
      ['data:application/octet-stream;base64,AA@C', /base64 data is damaged/],
      ['data:application/octet-stream;base64', /without a ","/],
      [5, /not text/],
    ];
    for (const [uri, message] of refused) {
      assert.throws(() => resolveResourceUri(uri, 'buffer 0'), (e: Error) => e instanceof RangeError && message.test(e.message), String(uri));
    }
  });
});

describe('.gltf files with their buffers beside them', () => {
  let cube: TexturedCube;
  before(async () => {
    cube = await texturedCube();
  });

  it('reads .gltf + .bin (+ texture) as the same mesh as the equivalent .glb, and converts it', async () => {
    const dir = await freshDir();
    await writeFiles(dir, { 'model.gltf': JSON.stringify(cube.json), 'model.bin': cube.bin, 'texture.png': PNG_1X1, 'model.glb': cube.glb });
    assert.deepEqual(await validatorErrors(cube.glb), []);
    assert.deepEqual(await validatorErrors(text(JSON.stringify(cube.json)), dir), []);

    const fromGlb = await readMeshFile(cube.glb, 'glb');
    const fromGltf = await readFromFolder(dir, 'model.gltf');
    assert.equal(fromGltf.mesh.indices.length, 36);
    assert.deepEqual(Array.from(fromGltf.mesh.positions), Array.from(fromGlb.mesh.positions));
    assert.deepEqual(Array.from(fromGltf.mesh.indices), Array.from(fromGlb.mesh.indices));
    assert.ok(fromGltf.notes.includes('Ignored 1 external texture image(s).'), fromGltf.notes.join(' | '));

    const result = await convertMeshFile({ meshPath: path.join(dir, 'model.gltf'), formats: ['stl'], existing: 'fail' });
    assert.deepEqual(result.files, [path.join(dir, 'model.stl')]);
    assert.equal(result.notes[0], 'Read as glTF, Y up, in metres');
    assert.equal(result.metrics.faces, 12);
    // The STL from the .glb is byte for byte the same, past the 80-byte header naming the source.
    const glbDir = await freshDir();
    await fsp.writeFile(path.join(glbDir, 'model.glb'), cube.glb);
    const fromGlbFile = await convertMeshFile({ meshPath: path.join(glbDir, 'model.glb'), formats: ['stl'], existing: 'fail' });
    const [a, b] = await Promise.all([fsp.readFile(result.files[0]!), fsp.readFile(fromGlbFile.files[0]!)]);
    assert.deepEqual(a.subarray(80), b.subarray(80));
  });

  it('reads a buffer embedded as a base64 data: URI, with no folder at all', async () => {
    const gltf = gltfText(cube.json, `data:application/octet-stream;base64,${Buffer.from(cube.bin).toString('base64')}`);
    const dir = await freshDir();
    await writeFiles(dir, { 'texture.png': PNG_1X1 });
    assert.deepEqual(await validatorErrors(text(gltf), dir), []);
    const read = await readMeshFile(text(gltf), 'glb');
    assert.deepEqual(Array.from(read.mesh.positions), Array.from((await readMeshFile(cube.glb, 'glb')).mesh.positions));
  });

  it('never opens the texture: a missing image is no obstacle', async () => {
    const dir = await freshDir();
    await writeFiles(dir, { 'model.gltf': JSON.stringify(cube.json), 'model.bin': cube.bin });
    const read = await readFromFolder(dir, 'model.gltf');
    assert.equal(read.mesh.indices.length, 36);
  });

  it('reads buffers in a subfolder and percent-encoded names', async () => {
    for (const [uri, file] of [
      ['buffers/model.bin', 'buffers/model.bin'],
      ['my%20mesh.bin', 'my mesh.bin'],
      ['sub%20dir/m%C3%A9sh%23.bin', 'sub dir/mésh#.bin'],
      ['./buffers/../model.bin', 'model.bin'],
    ] as const) {
      const dir = await freshDir();
      const gltf = gltfText(cube.json, uri);
      await writeFiles(dir, { 'model.gltf': gltf, [file]: cube.bin, 'texture.png': PNG_1X1 });
      assert.deepEqual(await validatorErrors(text(gltf), dir), [], uri);
      const read = await readFromFolder(dir, 'model.gltf');
      assert.equal(read.mesh.indices.length, 36, uri);
    }
  });

  it('reads a GLB whose buffer is a separate file', async () => {
    const dir = await freshDir();
    const glb = packGlb(cube.json);
    await writeFiles(dir, { 'model.glb': glb, 'model.bin': cube.bin, 'texture.png': PNG_1X1 });
    assert.deepEqual(await validatorErrors(glb, dir), []);
    const read = await readFromFolder(dir, 'model.glb');
    assert.deepEqual(Array.from(read.mesh.positions), Array.from((await readMeshFile(cube.glb, 'glb')).mesh.positions));
  });

  it('follows a link that stays in the folder', { skip: process.platform === 'win32' && 'symbolic links need privileges' }, async () => {
    const dir = await freshDir();
    await writeFiles(dir, { 'model.gltf': gltfText(cube.json, 'linked.bin'), 'data/model.bin': cube.bin });
    await fsp.symlink(path.join('data', 'model.bin'), path.join(dir, 'linked.bin'));
    const read = await readFromFolder(dir, 'model.gltf');
    assert.equal(read.mesh.indices.length, 36);
  });

  it('refuses buffers outside the folder, by path, URL or link, and writes nothing', async () => {
    const caseDir = await freshDir();
    const outside = path.join(caseDir, 'outside.bin');
    const dir = path.join(caseDir, 'model');
    await writeFiles(caseDir, { 'outside.bin': cube.bin });
    const cases: [string, RegExp][] = [
      ['../outside.bin', /could not be read as glTF: The glTF file's buffer 0 "\.\.\/outside\.bin" is outside the glTF file's folder/],
      [outside, /could not be read as glTF: The glTF file's buffer 0 is the absolute path ".*outside\.bin"/],
      ['http://127.0.0.1:9/outside.bin', /could not be read as glTF: The glTF file's buffer 0 is the URL "http:\/\/127\.0\.0\.1:9\/outside\.bin".*never followed/],
      ['https://example.com/outside.bin', /https: URLs are never followed/],
      [`file://${outside}`, /file: URLs are never followed/],
    ];
    if (process.platform !== 'win32') cases.push(['escape.bin', /escape\.bin, which model\.gltf refers to, is a link to .*outside\.bin, outside the folder of model\.gltf/]);
    await fsp.mkdir(dir);
    if (process.platform !== 'win32') await fsp.symlink(path.join('..', 'outside.bin'), path.join(dir, 'escape.bin'));
    for (const [uri, message] of cases) {
      await fsp.writeFile(path.join(dir, 'model.gltf'), gltfText(cube.json, uri));
      const error = await refusedConversion(caseDir, path.join(dir, 'model.gltf'));
      assert.match(error.message, message, uri);
      assert.equal(error.code, 'mesh-unreadable', uri);
    }
  });

  it('names a missing .bin, and refuses one whose size does not match', async () => {
    const dir = await freshDir();
    await writeFiles(dir, { 'model.gltf': gltfText(cube.json, 'parts/model.bin') });
    const missing = await refusedConversion(dir, path.join(dir, 'model.gltf'));
    assert.match(missing.message, new RegExp(`${path.join(dir, 'parts', 'model.bin').replace(/[\\/.]/g, '\\$&')} is missing: model\\.gltf keeps part of the model in it`));
    assert.match(plainHint(missing.hint), /next to the \.gltf file.*single \.glb/);

    const byteLength = cube.bin.length;
    for (const wrong of [cube.bin.subarray(0, byteLength - 4), new Uint8Array([...cube.bin, 0, 0, 0, 0])]) {
      await writeFiles(dir, { 'parts/model.bin': wrong });
      const error = await refusedConversion(dir, path.join(dir, 'model.gltf'));
      assert.match(error.message, new RegExp(`could not be read as glTF: Buffer 0 is the file "parts/model\\.bin", which holds ${wrong.length} bytes, but the glTF file says ${byteLength}`));
    }
  });

  it('counts the buffers toward the input limit', async () => {
    const dir = await freshDir();
    const gltf = gltfText(cube.json, 'model.bin');
    await writeFiles(dir, { 'model.gltf': gltf, 'model.bin': cube.bin });
    const total = text(gltf).length + cube.bin.length;
    const error = await refusedConversion(dir, path.join(dir, 'model.gltf'), { maxInputBytes: total - 1 });
    assert.equal(error.code, 'mesh-too-large');
    assert.match(error.message, /^Together with model\.gltf, the files it refers to come to more than the 0\.00 MiB this converter reads \(.*model\.bin alone is 0\.00 MiB\)/);
    const fits = await convertMeshFile({ meshPath: path.join(dir, 'model.gltf'), formats: ['stl'], existing: 'fail', maxInputBytes: total });
    assert.equal(fits.metrics.faces, 12);
  });

  it('without a loader, names the separate file it cannot read', async () => {
    await assert.rejects(readMeshFile(text(gltfText(cube.json, 'model.bin')), 'glb'), /keeps buffer 0 in the separate file "model\.bin", and no folder was given/);
  });

  it('a loader handed an escaping path refuses it too', async () => {
    const dir = await freshDir();
    const load = folderResourceLoader(dir, { maxBytes: 2 ** 20 });
    await assert.rejects(load('../x.bin'), /x\.bin is outside .*, the folder of the glTF file/);
  });
});

// ---------------------------------------------------------------------------------------------

/** Reads hand-laid glTF both as a GLB (binary chunk) and as .gltf + .bin; checks the validator's verdict on each. */
async function readBothWays(json: GltfJson, bin: Uint8Array, validatorSays: string | undefined): Promise<PromiseSettledResult<Awaited<ReturnType<typeof readMeshFile>>>[]> {
  const dir = await freshDir();
  const glb = packGlb(json, bin);
  const gltf = gltfText(json, 'triangle.bin');
  await writeFiles(dir, { 'triangle.glb': glb, 'triangle.gltf': gltf, 'triangle.bin': bin });
  for (const errors of [await validatorErrors(glb), await validatorErrors(text(gltf), dir)]) {
    if (validatorSays === undefined) assert.deepEqual(errors, []);
    else assert.ok(errors.some((e) => e.startsWith(validatorSays)), `validator: ${errors.join(' | ') || 'no errors'}`);
  }
  return Promise.allSettled([readMeshFile(glb, 'glb'), readFromFolder(dir, 'triangle.gltf')]);
}

function assertRefused(results: PromiseSettledResult<unknown>[], message: RegExp): void {
  assert.equal(results.length, 2);
  for (const [i, result] of results.entries()) {
    assert.equal(result.status, 'rejected', `${i === 0 ? 'GLB' : '.gltf'} was accepted`);
    if (result.status === 'rejected') assert.match((result.reason as Error).message, message);
  }
}

describe('glTF data must fit what holds it', () => {
  it('reads the hand-laid triangle, interleaved data filling its view exactly', async () => {
    const { json, bin } = handLaidTriangle();
    for (const result of await readBothWays(json, bin, undefined)) {
      assert.equal(result.status, 'fulfilled');
      if (result.status === 'fulfilled') {
        assert.deepEqual(Array.from(result.value.mesh.positions), [0, 0, 0, 1, 0, 0, 0, 1, 0]);
        assert.ok(result.value.mesh.colors, 'colours read from the interleaved accessor');
      }
    }
  });

  it('refuses an accessor that claims more elements than its buffer view holds', async () => {
    const { json, bin } = handLaidTriangle();
    json.accessors![0]!.count = 6;
    assertRefused(await readBothWays(json, bin, 'ACCESSOR_TOO_LONG'), /Accessor 0 claims 6 elements of 12 bytes \(stride 24, from byte 0\), 132 bytes in all, but its buffer view 0 holds 72/);
    const interleaved = handLaidTriangle();
    interleaved.json.accessors![1]!.count = 4; // 12 + 24 × 3 + 12 = 96 > 72: one element past the view
    assertRefused(await readBothWays(interleaved.json, interleaved.bin, 'ACCESSOR_TOO_LONG'), /Accessor 1 claims 4 elements/);
  });

  it('refuses a buffer view that runs past its buffer', async () => {
    const { json, bin } = handLaidTriangle();
    json.bufferViews![3]!.byteLength = 16; // 84 + 16 > 96
    assertRefused(await readBothWays(json, bin, 'BUFFER_VIEW_TOO_LONG'), /Buffer view 3 runs to byte 100 of buffer 0, which holds 96/);
  });

  it('refuses a GLB whose buffer is longer than its binary chunk', async () => {
    const { json, bin } = handLaidTriangle();
    json.buffers![0]!.byteLength = 100;
    const glb = packGlb(json, bin);
    assert.ok((await validatorErrors(glb)).some((e) => e.startsWith('BUFFER_BYTE_LENGTH_MISMATCH')));
    await assert.rejects(readMeshFile(glb, 'glb'), /Buffer 0 declares 100 bytes but only 96 are there/);
  });

  it('refuses indices beyond the vertices', async () => {
    const { json, bin } = handLaidTriangle();
    new DataView(bin.buffer).setUint16(76, 3, true); // the third index: vertex 3 of 3
    assertRefused(await readBothWays(json, bin, 'ACCESSOR_INDEX_OOB'), /indexes vertex 3 of 3/);
  });

  it('applies sparse values, and refuses a sparse index past the end', async () => {
    const good = handLaidTriangle(2);
    for (const result of await readBothWays(withSparsePosition(good.json), good.bin, undefined)) {
      assert.equal(result.status, 'fulfilled');
      if (result.status === 'fulfilled') assert.deepEqual(Array.from(result.value.mesh.positions), [0, 0, 0, 1, 0, 0, 0, 2, 0]);
    }
    const bad = handLaidTriangle(3);
    assertRefused(await readBothWays(withSparsePosition(bad.json), bad.bin, 'ACCESSOR_SPARSE_INDEX_OOB'), /Sparse accessor 0 replaces element 3, but it has only 3/);
  });

  it('says glTF, not GLB, when a .gltf cannot be read', async () => {
    const dir = await freshDir();
    const { json, bin } = handLaidTriangle();
    json.accessors![0]!.count = 6;
    await writeFiles(dir, { 'triangle.gltf': gltfText(json, 'triangle.bin'), 'triangle.bin': bin });
    const error = await refusedConversion(dir, path.join(dir, 'triangle.gltf'));
    assert.match(error.message, /triangle\.gltf could not be read as glTF: Accessor 0 claims 6 elements/);
    assert.equal(meshFormatLabel('x.GLTF'), 'glTF');
    assert.equal(meshFormatLabel('x.glb'), 'GLB');
    assert.equal(meshFormatLabel('x.stl'), 'STL');
  });
});
