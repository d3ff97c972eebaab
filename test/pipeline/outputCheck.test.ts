import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { checkOutputsBeforeRun } from '../../src/pipeline/writers/outputCheck.js';
import { namesAction, namesOption, plainHint, rejectsWith } from '../fixtures/userErrors.js';

test('under "fail", every planned output already there is named and listed for the front end, not just the first', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'i3d-outcheck-'));
  const image = path.join(dir, 'apple.png');
  writeFileSync(image, '');
  for (const name of ['apple.dxf', 'apple.step', 'apple.mask.png']) writeFileSync(path.join(dir, name), 'mine');
  const err = await rejectsWith(
    checkOutputsBeforeRun({ sourcePath: image, formats: ['glb', 'dxf', 'step'], saveInput: true, existing: 'fail' }),
    'output-exists',
  );
  const expected = ['apple.dxf', 'apple.step', 'apple.mask.png'].map((f) => path.join(dir, f));
  assert.deepEqual(err.details.existingFiles, expected);
  for (const file of expected) assert.ok(err.message.includes(file), err.message);
  assert.ok(!err.message.includes('apple.glb'), err.message);
  assert.ok(namesOption(err.hint, 'existing'), plainHint(err.hint));
});

test('other policies go ahead whatever exists; a folder that cannot be written asks for another one', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'i3d-outcheck-'));
  const image = path.join(dir, 'apple.png');
  writeFileSync(image, '');
  writeFileSync(path.join(dir, 'apple.glb'), 'mine');
  await checkOutputsBeforeRun({ sourcePath: image, formats: ['glb'], existing: 'suffix' });
  await checkOutputsBeforeRun({ sourcePath: image, formats: ['glb'], existing: 'overwrite' });
  // A file where the output folder should be: no permissions involved, so this holds as root too.
  const err = await rejectsWith(
    checkOutputsBeforeRun({ sourcePath: image, outDir: path.join(dir, 'apple.glb', 'sub'), formats: ['glb'], existing: 'fail' }),
    'output-not-writable',
  );
  assert.ok(namesAction(err.hint, 'choose-output-folder'), plainHint(err.hint));
});
