/**
 * The library serves two front ends, so its words must fit both: a setting name or a flag in a string
 * would be wrong in one of them. Hints name options and actions as data instead (src/pipeline/hint.ts),
 * and each front end words them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTION_IDS, OPTION_IDS } from '../../src/pipeline/hint.js';
import { pipelineText } from '../fixtures/hintReferences.js';

/** A command-line flag as users type it: two dashes and a lower-case word, not inside a longer token. */
const FLAG = /(^|[^\w-])--[a-z][a-z-]*/;

test('no string in src/pipeline names an extension setting or a command-line flag', () => {
  const offending = pipelineText()
    .strings.filter((s) => s.text.includes('imageTo3d.') || FLAG.test(s.text))
    .map((s) => `${s.at}: ${JSON.stringify(s.text)}`);
  assert.deepEqual(offending, [], 'use { option } or { action } hint parts, worded by each front end');
});

test('the scan sees the strings and hint parts it checks', () => {
  // Guards the test above against passing because the scan found nothing.
  const { strings, references } = pipelineText();
  assert.ok(strings.some((s) => s.text === 'Check the file and its permissions.'), 'finds plain strings');
  assert.ok(strings.some((s) => s.text.startsWith(') below ')), 'finds template pieces');
  assert.ok(references.some((r) => r.option === 'threshold'), 'finds option references');
  assert.ok(references.some((r) => r.action === 'choose-output-folder'), 'finds action references');
});

test('every option and action id is one some hint uses, and every hint part uses a known id', () => {
  const { references } = pipelineText();
  const options = new Set(references.flatMap((r) => (r.option ? [r.option] : [])));
  const actions = new Set(references.flatMap((r) => (r.action ? [r.action] : [])));
  assert.deepEqual(OPTION_IDS.filter((id) => !options.has(id)), [], 'option ids no hint names: drop them from OPTION_IDS');
  assert.deepEqual(ACTION_IDS.filter((id) => !actions.has(id)), [], 'action ids no hint names: drop them from ACTION_IDS');
  const known: ReadonlySet<string> = new Set<string>([...OPTION_IDS, ...ACTION_IDS]);
  const unknown = references.filter((r) => !known.has((r.option ?? r.action)!)).map((r) => `${r.at}: ${r.option ?? r.action}`);
  assert.deepEqual(unknown, []);
});
