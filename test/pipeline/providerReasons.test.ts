/**
 * Which provider ran, in one line with short reasons: ONNX Runtime's messages with C++ source paths go
 * to the 'debug' level, the summary to 'info'.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { providerSummary, shortenNativeMessage, shortReason } from '../../src/pipeline/network/providerReasons.js';
import { loadModel } from '../../src/pipeline/network/session.js';
import { writeStandinModels } from '../../src/pipeline/network/standinModel.js';
import type { LogLevel } from '../../src/pipeline/log.js';

const NATIVE_DETAIL = /\.cc:|\.cpp:|onnxruntime\/core|::/;

test("ONNX Runtime's messages shorten to what a user can act on", () => {
  const cases: [string, string][] = [
    [
      '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters',
      'no GPU adapter for WebGPU',
    ],
    [
      '/onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:1778 onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file: No such file or directory',
      'libcublasLt.so.12 not found',
    ],
    [
      '/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_call.cc:129 std::conditional_t<THRW, void, common::Status> onnxruntime::CudaCall(ERRTYPE, const char*) [with ERRTYPE = cudaError] CUDA failure 35: CUDA driver version is insufficient for CUDA runtime version ; GPU=0 ; hostname=h ; file=/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_execution_provider.cc ; line=282 ; expr=cudaSetDevice(info_.device_id);',
      'CUDA driver version is insufficient for CUDA runtime version',
    ],
    ['no available backend found. ERR: [dml] backend not found.', 'not available in this build of ONNX Runtime'],
    ['no Vulkan driver, libvulkan.so.1 not found', 'no Vulkan driver, libvulkan.so.1 not found'],
  ];
  for (const [detail, short] of cases) assert.equal(shortenNativeMessage(detail), short);
  // Whatever the message, no C++ location or signature survives.
  const unknown = shortenNativeMessage('/x/onnxruntime/core/y.cc:12 void onnxruntime::Foo(int, std::string) [T = int] something went wrong');
  assert.doesNotMatch(unknown, NATIVE_DETAIL);
  assert.ok(unknown.length > 0 && unknown.length <= 80);
});

test("cuda's \"Failed to load shared library\" says what is missing, in a few words", async () => {
  const reason = await shortReason('cuda', 'OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library');
  assert.doesNotMatch(reason, NATIVE_DETAIL);
  assert.doesNotMatch(reason, /Failed to load shared library/);
});

test('the summary names the provider that runs and why each before it did not', () => {
  assert.equal(
    providerSummary('cpu', [
      { provider: 'cuda', reason: 'libcudart.so.12 not found' },
      { provider: 'webgpu', reason: 'no Vulkan driver, libvulkan.so.1 not found' },
    ]),
    'Running on cpu (cuda: libcudart.so.12 not found; webgpu: no Vulkan driver, libvulkan.so.1 not found).',
  );
  assert.equal(providerSummary('cuda', []), 'Running on cuda.');
});

test('loading logs one info line; the full errors only at debug', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'i3d-provider-log-'));
  await writeStandinModels(dir);
  const lines: { line: string; level: LogLevel | undefined }[] = [];
  const model = await loadModel(dir, { executionProviders: ['definitely-not-a-provider', 'cpu'], log: (line, level) => lines.push({ line, level }) });
  try {
    const info = lines.filter((l) => l.level !== 'debug').map((l) => l.line);
    assert.deepEqual(info, ['Running on cpu (definitely-not-a-provider: not available in this build of ONNX Runtime).']);
    assert.ok(
      lines.some((l) => l.level === 'debug' && l.line.includes('definitely-not-a-provider') && l.line.includes('backend not found')),
      JSON.stringify(lines),
    );
  } finally {
    await model.dispose();
  }
});
