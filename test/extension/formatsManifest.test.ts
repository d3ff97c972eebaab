/**
 * The settings that choose output formats list, in package.json, exactly the formats the writers know,
 * in the registry's order and with its descriptions word for word: src/pipeline/writers/outputFormats.ts
 * is the one place a format is described, and this test fails when either side changes alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { OUTPUT_FORMAT_IDS, OUTPUT_FORMATS } from '../../src/pipeline/writers/outputFormats.js';

interface FormatListSetting {
  readonly items?: { readonly enum?: readonly string[]; readonly enumDescriptions?: readonly string[] };
}

interface ConfigurationSection {
  readonly properties?: Readonly<Record<string, FormatListSetting>>;
}

const root = path.join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  contributes: { configuration: ConfigurationSection | readonly ConfigurationSection[] };
};

/** A setting wherever it is declared: VS Code takes one configuration section or several. */
function setting(key: string): FormatListSetting {
  const { configuration } = manifest.contributes;
  const sections: readonly ConfigurationSection[] = Array.isArray(configuration) ? configuration : [configuration as ConfigurationSection];
  const found = sections.map((s) => s.properties?.[key]).find((p) => p !== undefined);
  assert.ok(found, `package.json declares ${key}`);
  return found;
}

for (const key of ['imageTo3d.outputFormats', 'imageTo3d.conversionFormats']) {
  test(`${key} offers the registry's formats, in its order, described in its words`, () => {
    const { items } = setting(key);
    assert.deepEqual(items?.enum, [...OUTPUT_FORMAT_IDS], `${key} items.enum`);
    assert.deepEqual(
      items?.enumDescriptions,
      OUTPUT_FORMAT_IDS.map((id) => OUTPUT_FORMATS[id].description),
      `${key} items.enumDescriptions`,
    );
  });
}

test('every format has its own extension and a label that names it', () => {
  const extensions = OUTPUT_FORMAT_IDS.map((id) => OUTPUT_FORMATS[id].extension);
  assert.equal(new Set(extensions).size, extensions.length, 'no two formats write the same extension');
  for (const id of OUTPUT_FORMAT_IDS) {
    const facts = OUTPUT_FORMATS[id];
    assert.match(facts.extension, /^[a-z0-9]+$/, `${id} extension`);
    assert.ok(facts.label.startsWith(`${id.toUpperCase()} — `), `${id} label "${facts.label}"`);
    assert.ok(facts.maxTriangles > 0, `${id} maxTriangles`);
  }
});
