/**
 * The CLI converts a .gltf whose buffer is a .bin beside it, as exported by most modelling programs,
 * and refuses one whose buffer lies outside its folder without writing anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../fixtures/cli.js';
import { gltfText, PNG_1X1, texturedCube, writeFiles } from '../fixtures/gltfAssets.js';

test('converts model.gltf with model.bin beside it to STL', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'i3d-cli-gltf-'));
  const cube = await texturedCube();
  await writeFiles(dir, { 'model.gltf': JSON.stringify(cube.json), 'model.bin': cube.bin, 'texture.png': PNG_1X1 });
  const run = await runCli([path.join(dir, 'model.gltf'), '--formats', 'stl']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.trim(), path.join(dir, 'model.stl'));
  assert.match(run.stderr, /Read as glTF/);
  const stl = readFileSync(path.join(dir, 'model.stl'));
  assert.equal(stl.readUInt32LE(80), 12, 'the cube’s 12 triangles');
  assert.equal(stl.length, 84 + 50 * 12);
});

test('refuses a .gltf whose buffer is outside its folder, writing nothing', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'i3d-cli-gltf-'));
  const cube = await texturedCube();
  await writeFiles(root, { 'model.bin': cube.bin, 'inner/model.gltf': gltfText(cube.json, '../model.bin') });
  const run = await runCli([path.join(root, 'inner', 'model.gltf'), '--formats', 'stl']);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /could not be read as glTF: .*"\.\.\/model\.bin" is outside the glTF file's folder/);
  assert.deepEqual(readdirSync(path.join(root, 'inner')), ['model.gltf']);
});
