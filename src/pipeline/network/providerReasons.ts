/**
 * Why an execution provider did not run, in a few words for the one line a user reads ("Running on
 * cpu (cuda: libcudart.so.12 not found; webgpu: no Vulkan driver)"). ONNX Runtime's own messages name
 * C++ source files and functions ("…/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::
 * Initialize(…) adapter_result.status == … was false. Failed to get a WebGPU adapter"), which belong in
 * a log for whoever debugs it, not in every CPU-only run's output.
 */
import { cudaProviderStatus, checkCudaRequirements } from './cudaProvider/install.js';

export interface SkippedProvider {
  readonly provider: string;
  /** A few words, no C++ (shortReason). */
  readonly reason: string;
}

/** "Running on cpu (cuda: the CUDA provider is not installed; webgpu: no Vulkan driver, libvulkan.so.1 not found)." */
export function providerSummary(provider: string, skipped: readonly SkippedProvider[]): string {
  const why = skipped.map((s) => `${s.provider}: ${s.reason}`).join('; ');
  return `Running on ${provider}${why ? ` (${why})` : ''}.`;
}

/** What the short line says about a provider that did not run, from its full reason. */
export async function shortReason(provider: string, detail: string): Promise<string> {
  if (provider === 'cuda' && /failed to load shared library/i.test(detail)) return cudaMissingPart();
  return shortenNativeMessage(detail);
}

/** Known messages first; otherwise the message with C++ locations and assertion text taken out. */
export function shortenNativeMessage(detail: string): string {
  const line = (detail.split('\n').find((l) => l.trim() !== '') ?? detail).trim();
  const library = /(lib[\w.+-]+\.so(?:\.\d+)*): cannot open shared object file/.exec(line);
  if (library) return `${library[1]} not found`;
  if (/Failed to get a WebGPU adapter/i.test(line)) return 'no GPU adapter for WebGPU';
  if (/backend not found/i.test(line)) return 'not available in this build of ONNX Runtime';
  if (/failed to load shared library/i.test(line)) return 'its library is not installed';
  // CUDA runtime errors: "… CUDA failure 35: CUDA driver version is insufficient … ; GPU=0 ; file=… ; line=…".
  const cudaFailure = /CUDA failure \d+: ([^;]+)/.exec(line);
  if (cudaFailure) return cudaFailure[1]!.trim();
  if (!SOURCE_LOCATION.test(line) && !line.includes('::')) return clip(line);
  // ORT_ENFORCE: "<file>.cc:<line> <function> <condition> was false. <message>": the message is what counts.
  const enforced = /\swas false\.\s*(.+)$/.exec(line);
  const cleaned = (enforced ? enforced[1]! : line)
    .replace(new RegExp(SOURCE_LOCATION.source, 'g'), '')
    .replace(/\S*::\S*/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  // What is left of a C++ signature (templates, argument lists) says nothing to a user.
  if (cleaned === '' || /[<>[\]{}()=]/.test(cleaned)) return 'failed to start';
  return clip(cleaned);
}

/** "webgpu_context.cc:136", "/build/…/BackendVk.cpp:368". */
const SOURCE_LOCATION = /\S+\.(?:cc|cpp|cxx|c|h|hpp|mm):\d+/;

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/** onnxruntime's "Failed to load shared library" for cuda: the provider package, or which of its libraries. */
async function cudaMissingPart(): Promise<string> {
  try {
    const status = await cudaProviderStatus();
    if (status.state === 'not-applicable') return 'not available on this platform';
    if (status.state === 'missing') return 'the CUDA provider is not installed';
    if (status.versionMismatch) return `the CUDA provider is for ONNX Runtime ${status.record?.version}, not ${status.ortVersion}`;
    const { unresolved } = await checkCudaRequirements(status.binDir);
    if (unresolved && unresolved.length > 0) return `${unresolved.join(', ')} not found`;
  } catch {
    // The diagnosis is a courtesy; the probe's verdict stands without it.
  }
  return 'its libraries did not load';
}
