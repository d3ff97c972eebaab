import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hintText, NEUTRAL_HINT_WORDS, type Hint, type HintWords } from '../../src/pipeline/hint.js';
import { UserError } from '../../src/pipeline/errors.js';
import { toFailure } from '../../src/pipeline/failure.js';
import { CancelledError } from '../../src/pipeline/progress.js';

const WORDS: HintWords = {
  option: (id, value) => (value === undefined ? `opt(${id})` : `opt(${id}=${value})`),
  action: (id) => `do ${id}`,
};

test('a hint renders its parts in the words given, values included', () => {
  const hint: Hint = ['Lower the threshold (', { option: 'threshold' }, ') or keep the background (', { option: 'background', value: 'keep' }, ').'];
  assert.equal(hintText(hint, WORDS), 'Lower the threshold (opt(threshold)) or keep the background (opt(background=keep)).');
  assert.equal(hintText(hint, NEUTRAL_HINT_WORDS), 'Lower the threshold (<threshold>) or keep the background (<background: keep>).');
});

test('a reference that opens a sentence is capitalised; one inside a sentence is not', () => {
  const hint: Hint = [{ action: 'reinstall' }, ', then try again. ', { action: 'reinstall' }, ' or ', { action: 'reinstall' }, '.'];
  assert.equal(hintText(hint, WORDS), 'Do reinstall, then try again. Do reinstall or do reinstall.');
});

test('a plain-string hint stays as it was', () => {
  const err = new UserError('Broken.', 'Check the file and its permissions.', 'model-invalid');
  assert.deepEqual(err.hint, ['Check the file and its permissions.']);
  assert.equal(hintText(err.hint, WORDS), 'Check the file and its permissions.');
  assert.deepEqual(err.details, {});
});

test('toFailure sorts a cancel, a user error and a bug, into plain data that survives structured clone', () => {
  assert.deepEqual(toFailure(new CancelledError()), { kind: 'cancelled' });

  const user = new UserError('a.glb already exists.', ['Use ', { option: 'existing' }, '.'], 'output-exists', { existingFiles: ['/x/a.glb'] });
  const failure = toFailure(user);
  assert.deepEqual(failure, {
    kind: 'user',
    message: 'a.glb already exists.',
    hint: ['Use ', { option: 'existing' }, '.'],
    code: 'output-exists',
    details: { existingFiles: ['/x/a.glb'] },
  });
  assert.deepEqual(structuredClone(failure), failure);

  const bug = toFailure(new TypeError('x is undefined'));
  assert.equal(bug.kind, 'bug');
  assert.ok(bug.kind === 'bug' && bug.message === 'x is undefined' && bug.stack?.includes('TypeError'));
  assert.deepEqual(toFailure('thrown string'), { kind: 'bug', message: 'thrown string' });
});
