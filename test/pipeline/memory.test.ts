/** Running out of memory reads as what needed the memory and how to need less, not as V8's RangeError. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainOutOfMemory, isAllocationFailure, refusedLength } from '../../src/pipeline/memory.js';
import { toFailure } from '../../src/pipeline/failure.js';
import { namesOption, rejectsWith } from '../fixtures/userErrors.js';

function thrownBy(make: () => unknown): unknown {
  try {
    make();
  } catch (err) {
    return err;
  }
  assert.fail('expected a throw');
}

const tooLong = thrownBy(() => new Float32Array(12_000_000_000));

test("V8's refusals of huge lengths are allocation failures; a bad length is not", () => {
  assert.ok(isAllocationFailure(tooLong), String(tooLong));
  assert.equal(refusedLength(tooLong), 12_000_000_000);
  assert.ok(isAllocationFailure(new RangeError('Array buffer allocation failed')));
  assert.equal(isAllocationFailure(thrownBy(() => new Float32Array(-1))), false);
  assert.equal(isAllocationFailure(new TypeError('x is not a function')), false);
  // ONNX Runtime's arena running out, as a session run reports it.
  assert.ok(isAllocationFailure(new Error('/onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:376 void* onnxruntime::BFCArena::AllocateRawInternal(size_t) Failed to allocate memory for requested buffer of size 4294967296')));
});

test('a grid that does not fit says how much it needs and which option lowers it', async () => {
  const err = await rejectsWith(
    explainOutOfMemory(async () => new Float32Array(12_000_000_000), 'the 512³ surface grid', 9 * 512 ** 3, ['Lower the resolution (', { option: 'resolution' }, ').']),
    'out-of-memory',
  );
  assert.equal(err.message, 'There is not enough memory for the 512³ surface grid: it needs about 1.21 GB.');
  assert.ok(namesOption(err.hint, 'resolution'));
});

test('other errors pass through unchanged', async () => {
  const bug = new RangeError('Invalid typed array length: -1');
  await assert.rejects(explainOutOfMemory(async () => Promise.reject(bug), 'x', 1, 'y'), (e) => e === bug);
});

test('an allocation failure nobody caught is still the user\'s to act on, not a bug', () => {
  const failure = toFailure(tooLong);
  assert.equal(failure.kind, 'user');
  assert.ok(failure.kind === 'user' && failure.code === 'out-of-memory');
  assert.doesNotMatch(failure.message, /Invalid typed array length/);
});
