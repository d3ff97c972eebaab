/**
 * File errors in plain words: real errors from the file system, as users meet them, become messages
 * that say what is wrong with which file, and the safety net in toFailure turns the ones the machine
 * causes into user errors rather than "a bug".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { escapedFileError, fileErrorReason, fileUserError } from '../../src/pipeline/files/fileErrors.js';
import { toFailure } from '../../src/pipeline/failure.js';
import { plainHint } from '../fixtures/userErrors.js';

const work = mkdtempSync(path.join(tmpdir(), 'i3d-file-errors-'));

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected the operation to fail');
}

test('a folder read as a file is "a folder", with advice', async () => {
  const folder = path.join(work, 'model.glb');
  mkdirSync(folder);
  const err = await caught(readFile(folder));
  assert.equal(fileErrorReason(err), 'it is a folder');
  const user = fileUserError(err, `Cannot read "${folder}"`);
  assert.ok(user);
  assert.equal(user.message, `Cannot read "${folder}": it is a folder.`);
  assert.equal(user.code, 'file-access-failed');
  assert.match(plainHint(user.hint), /folder/);
});

test("the caller's code and hint win over the table's", async () => {
  const err = await caught(readFile(path.join(work, 'absent.stl')));
  const user = fileUserError(err, 'Cannot read absent.stl', { code: 'mesh-unreadable', hint: 'Export it again.' });
  assert.equal(user?.message, 'Cannot read absent.stl: it does not exist.');
  assert.equal(user?.code, 'mesh-unreadable');
  assert.equal(plainHint(user!.hint), 'Export it again.');
});

test('a full disk is a disk-full error; an errno the table does not word is left alone', () => {
  const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  assert.equal(fileUserError(full, 'Cannot write a.glb')?.code, 'disk-full');
  assert.equal(fileUserError(full, 'Cannot write a.glb')?.message, 'Cannot write a.glb: the disk is full.');
  const odd = Object.assign(new Error('EWHAT: something'), { code: 'EWHAT' });
  assert.equal(fileUserError(odd, 'x'), undefined);
  assert.equal(fileErrorReason(new Error('no code')), undefined);
});

test('an uncaught rename onto a folder reaches the user as the name they know, not EISDIR', async () => {
  const temp = path.join(work, '.apple.step.tmp');
  const final = path.join(work, 'apple.step');
  writeFileSync(temp, 'data');
  mkdirSync(final);
  const err = await caught(rename(temp, final));
  const failure = toFailure(err);
  assert.equal(failure.kind, 'user');
  assert.ok(failure.kind === 'user');
  assert.equal(failure.message, `Could not write "${final}": it is a folder.`);
  assert.doesNotMatch(failure.message, /EISDIR|illegal operation/);
});

test('missing files and errors without a path stay bugs', async () => {
  const missing = await caught(readFile(path.join(work, 'nothing-here')));
  assert.equal(escapedFileError(missing), undefined);
  assert.equal(toFailure(missing).kind, 'bug');
  const noPath = Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
  assert.equal(toFailure(noPath).kind, 'bug');
  assert.equal(toFailure(Object.assign(noPath, { path: '/x/y', syscall: 'open' })).kind, 'user');
});
