/**
 * The extension words hints with its settings. These tests tie those words to package.json, so renaming
 * a setting without rewording the hints that point at it fails here rather than misleading users.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ACTION_IDS, hintText, OPTION_IDS, type Hint, type OptionId } from '../../src/pipeline/hint.js';
import { EXTENSION_HINT_WORDS, settingName } from '../../src/extension/hintWords.js';
import { pipelineText } from '../fixtures/hintReferences.js';
import { libraryHints } from '../fixtures/libraryHints.js';

interface SettingSchema {
  readonly type?: string | string[];
  readonly enum?: readonly unknown[];
}

const root = path.join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, SettingSchema> } };
};
const settings = manifest.contributes.configuration.properties;

test('every option a hint can name is a setting the extension contributes', () => {
  const missing = OPTION_IDS.filter((id) => !(settingName(id) in settings)).map((id) => `${id} → ${settingName(id)}`);
  assert.deepEqual(missing, [], 'hintWords.ts names settings that package.json does not contribute');
  for (const id of OPTION_IDS) {
    assert.equal(EXTENSION_HINT_WORDS.option(id), `the setting ${settingName(id)}`);
    assert.match(settingName(id), /^imageTo3d\.[A-Za-z]+$/);
  }
});

test('every value a library hint suggests is one its setting accepts', () => {
  const bad: string[] = [];
  for (const ref of pipelineText().references) {
    if (ref.option === undefined || ref.value === undefined) continue;
    const schema = settings[settingName(ref.option as OptionId)];
    if (!schema?.enum?.includes(ref.value)) bad.push(`${ref.at}: ${ref.option} = ${ref.value} (${JSON.stringify(schema?.enum)})`);
  }
  assert.deepEqual(bad, []);
});

test('every action has words, none of them the command line\'s', () => {
  for (const id of ACTION_IDS) {
    const words = EXTENSION_HINT_WORDS.action(id);
    assert.ok(words.trim().length > 0, id);
    assert.doesNotMatch(words, /(^|\s)--[a-z]/, `${id}: ${words}`);
    assert.equal(words, words.charAt(0).toLowerCase() + words.slice(1), `${id} is worded to sit mid-sentence`);
  }
});

test('a hint reads as a sentence with settings in it', () => {
  const hint: Hint = [
    { action: 'allow-download' },
    ', point at a file you have (',
    { option: 'backgroundModelPath' },
    '), or keep the background (',
    { option: 'background', value: 'keep' },
    ').',
  ];
  assert.equal(
    hintText(hint, EXTENSION_HINT_WORDS),
    'Allow the download when asked, point at a file you have (the setting imageTo3d.backgroundModelPath), or keep the background (imageTo3d.background: keep).',
  );
  assert.equal(hintText(['Lower the target triangle count (', { option: 'targetTriangles' }, ')'], EXTENSION_HINT_WORDS), 'Lower the target triangle count (the setting imageTo3d.targetTriangles)');
  assert.equal(EXTENSION_HINT_WORDS.option('existing'), 'the setting imageTo3d.existingFiles');
});

/** Every hint src/pipeline can give, each branch of it, as the extension shows it. */
function renderedHints(): { at: string; text: string; hint: Hint }[] {
  return libraryHints().flatMap((h) => h.variants.map((hint) => ({ at: h.at, text: hintText(hint, EXTENSION_HINT_WORDS), hint })));
}

test("no hint the library gives reads, in the extension's words, as the command line's", () => {
  const rendered = renderedHints();
  assert.ok(rendered.length > 100, `only ${rendered.length} hints found`);
  const bad = rendered.filter((r) => /(^|[\s(])--[a-z]/.test(r.text)).map((r) => `${r.at}: ${r.text}`);
  assert.deepEqual(bad, []);
});

test('hints about existing outputs name only values imageTo3d.existingFiles takes', () => {
  const accepted = settings[settingName('existing')]?.enum ?? [];
  const policies = ['ask', 'fail', 'suffix', 'overwrite'];
  const aboutExisting = renderedHints().filter((r) => r.hint.some((part) => typeof part === 'object' && 'option' in part && part.option === 'existing'));
  assert.ok(aboutExisting.length >= 2, 'the output-exists hints are found');
  for (const { at, text } of aboutExisting) {
    const named = policies.filter((p) => new RegExp(`\\b${p}\\b`).test(text));
    assert.ok(named.length > 0, `${at}: ${text} names a policy`);
    for (const p of named) assert.ok(accepted.includes(p), `${at}: ${text} names ${p}, which the setting does not take`);
  }
});
