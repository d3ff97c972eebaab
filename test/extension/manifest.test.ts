import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { IMAGE_EXTENSIONS } from '../../src/pipeline/image/imageFormats.js';

interface Manifest {
  engines: { vscode: string };
  activationEvents: string[];
  capabilities: { untrustedWorkspaces: { supported: boolean | string; description?: string } };
  devDependencies: Record<string, string>;
  contributes: {
    commands: { command: string; title: string; category: string }[];
    menus: Record<string, { command: string; when?: string }[]>;
    configuration: { properties: Record<string, { markdownDescription?: string; description?: string; default?: unknown }> };
  };
}

const root = path.join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Manifest;

/** Evaluates the `resourceExtname =~ /…/flags` part of a when clause the way VS Code does. */
function extnameRegex(when: string): RegExp {
  const match = /resourceExtname =~ \/(.+)\/([a-z]*)/.exec(when);
  assert.ok(match, `no resourceExtname test in "${when}"`);
  return new RegExp(match[1], match[2]);
}

test('the Explorer menu offers the command for exactly the image extensions the decoder reads, in any letter case', () => {
  const entry = manifest.contributes.menus['explorer/context'].find((m) => m.command === 'imageTo3d.generate');
  assert.ok(entry?.when);
  assert.match(entry.when, /!explorerResourceIsFolder/);
  const regex = extnameRegex(entry.when);
  const missing: string[] = [];
  for (const ext of IMAGE_EXTENSIONS) {
    const mixed = ext[0].toUpperCase() + ext.slice(1);
    for (const variant of [ext, ext.toUpperCase(), mixed]) if (!regex.test(`.${variant}`)) missing.push(`.${variant}`);
  }
  assert.deepEqual(missing, [], `${entry.when} must match every extension of src/pipeline/image/imageFormats.ts`);
  // Formats sharp knows but the product does not read, near misses of every listed extension, and others.
  const others = ['svg', 'svgz', 'heic', 'heif', 'jp2', 'jxl', 'ppm', 'pdf', 'v', 'dib', 'txt', 'glb', 'jp', 'tifff', 'pngx', 'xpng'];
  const nearMisses = IMAGE_EXTENSIONS.flatMap((ext) => [ext.slice(1), ext.slice(0, -1), `${ext}x`, `x${ext}`, `${ext}.gz`]);
  const offered = [...others, ...nearMisses]
    .filter((ext) => !IMAGE_EXTENSIONS.includes(ext))
    .map((ext) => `.${ext}`)
    .concat(['', '.', 'png', '..png'])
    .filter((ext) => regex.test(ext));
  assert.deepEqual(offered, [], `${entry.when} offers the command for files the decoder does not read`);
});

test('the command is in the palette with its category', () => {
  const command = manifest.contributes.commands.find((c) => c.command === 'imageTo3d.generate');
  assert.deepEqual(command, { command: 'imageTo3d.generate', title: 'Generate 3D Model', category: 'Image to 3D' });
});

test('activation comes from contributions only', () => {
  assert.deepEqual(manifest.activationEvents, []);
});

test('@types/vscode matches the pinned engine', () => {
  const engine = /^\^(\d+\.\d+)\./.exec(manifest.engines.vscode)?.[1];
  const types = /^~(\d+\.\d+)\./.exec(manifest.devDependencies['@types/vscode'])?.[1];
  assert.ok(engine && types);
  assert.equal(types, engine);
});

test('untrusted workspaces are declared at the top level with a reason', () => {
  assert.equal(manifest.capabilities.untrustedWorkspaces.supported, false);
  assert.match(manifest.capabilities.untrustedWorkspaces.description ?? '', /trusted/);
});

test('every setting the issue names exists and is described', () => {
  const props = manifest.contributes.configuration.properties;
  for (const key of ['modelPath', 'executionProviders', 'resolution', 'threshold', 'outputFormats', 'longestSideMm', 'existingFiles']) {
    const setting = props[`imageTo3d.${key}`];
    assert.ok(setting, `imageTo3d.${key} is missing`);
    assert.ok((setting.markdownDescription ?? setting.description ?? '').length > 20, `imageTo3d.${key} needs a description`);
    assert.ok('default' in setting, `imageTo3d.${key} needs a default`);
  }
});

test('the background settings are declared, described, and take their choices and defaults from the pipeline', async () => {
  // One source of truth: the enums and defaults the pipeline uses are the ones the manifest declares.
  const { BACKGROUND_MODES } = await import('../../src/pipeline/image/backgroundOptions.js');
  const { SEGMENTATION_NETWORKS } = await import('../../src/pipeline/image/segmentation.js');
  const { GENERATE_DEFAULTS } = await import('../../src/pipeline/generateOptions.js');
  type Declared = { markdownDescription?: string; description?: string; default?: unknown; enum?: unknown[]; enumDescriptions?: string[]; type?: string };
  const props = manifest.contributes.configuration.properties as Record<string, Declared>;
  const expected: Record<string, { type: string; default: unknown; enum?: readonly unknown[] }> = {
    background: { type: 'string', default: GENERATE_DEFAULTS.backgroundMode, enum: BACKGROUND_MODES },
    backgroundNetwork: { type: 'string', default: GENERATE_DEFAULTS.backgroundNetwork, enum: SEGMENTATION_NETWORKS },
    backgroundModelPath: { type: 'string', default: '' },
    foregroundRatio: { type: 'number', default: GENERATE_DEFAULTS.foregroundRatio },
    saveNetworkInput: { type: 'boolean', default: false },
  };
  for (const [key, want] of Object.entries(expected)) {
    const setting = props[`imageTo3d.${key}`];
    assert.ok(setting, `imageTo3d.${key} is missing`);
    assert.ok((setting.markdownDescription ?? setting.description ?? '').length > 20, `imageTo3d.${key} needs a description`);
    assert.ok('default' in setting, `imageTo3d.${key} needs a default`);
    assert.equal(setting.type, want.type, `imageTo3d.${key} type`);
    assert.deepEqual(setting.default, want.default, `imageTo3d.${key} default`);
    if (want.enum) {
      assert.deepEqual(setting.enum, [...want.enum], `imageTo3d.${key} choices`);
      assert.equal(setting.enumDescriptions?.length, want.enum.length, `imageTo3d.${key}: one description per choice`);
    } else {
      assert.equal(setting.enum, undefined, `imageTo3d.${key} has no fixed choices`);
    }
  }
});
