/**
 * Execution providers: which to try on this platform, and whether each one can start here at all.
 * onnxruntime-node throws when a provider's native library is missing instead of falling back, so each
 * candidate is probed once per process with a one-node in-memory model.
 */
import { onnxRuntime } from './ort.js';
import { GraphBuilder } from './onnx/graphBuilder.js';
import { findUnresolvedLibraries } from './cudaProvider/requirements.js';

export function autoExecutionProviders(platform: NodeJS.Platform = process.platform): string[] {
  const list: string[] = [];
  if (platform === 'linux' || platform === 'win32') list.push('cuda');
  if (platform === 'win32') list.push('dml');
  if (platform === 'darwin') list.push('coreml');
  list.push('webgpu', 'cpu');
  return list;
}

export function providerList(requested: readonly string[] | 'auto'): string[] {
  const list = requested === 'auto' ? autoExecutionProviders() : requested.map((p) => p.trim().toLowerCase());
  const unique = [...new Set(list.filter((p) => p !== ''))];
  if (!unique.includes('cpu')) unique.push('cpu');
  return unique;
}

export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n').find((l) => l.trim() !== '') ?? text).trim();
}

let probeModel: Uint8Array | undefined;
/** Why each provider is unavailable ('' when it works); probing is per process, the answer cannot change. */
const probeResults = new Map<string, Promise<string>>();

export function probe(provider: string): Promise<string> {
  let result = probeResults.get(provider);
  if (result === undefined) {
    quietOrt();
    if (probeModel === undefined) {
      const g = new GraphBuilder('provider_probe');
      g.input('x', 'float32', [1]);
      g.node('Identity', ['x'], ['y']);
      g.output('y', 'float32', [1]);
      probeModel = g.toModel({ opset: 17, producer: 'image-to-3d provider probe' });
    }
    const bytes = probeModel;
    result = missingPrerequisite(provider).then(
      (missing) =>
        missing ??
        onnxRuntime().InferenceSession.create(bytes, { executionProviders: [provider], logSeverityLevel: 3 }).then(
          async (s) => {
            await s.release();
            return '';
          },
          (e: unknown) => firstLine(e) || 'unknown error',
        ),
    );
    probeResults.set(provider, result);
  }
  return result;
}

let ortLogLevelSet = false;
export function quietOrt(): void {
  // Provider failures are reported through `log`; onnxruntime's own line for them would be noise. This
  // takes effect only before the first session in the process, hence once.
  if (!ortLogLevelSet) {
    onnxRuntime().env.logLevel = 'fatal';
    ortLogLevelSet = true;
  }
}

/**
 * A reason to skip the native probe: WebGPU on Linux runs on Vulkan, and without Vulkan's loader Dawn
 * (WebGPU's engine inside ONNX Runtime) writes a warning with its C++ source path straight to the
 * process's stderr, where no log level reaches it. Checking for the library first spares every CPU-only
 * run that line. Undefined when nothing is known to be missing (or the check cannot tell): probe.
 */
async function missingPrerequisite(provider: string): Promise<string | undefined> {
  if (provider !== 'webgpu' || process.platform !== 'linux') return undefined;
  const unresolved = await findUnresolvedLibraries([VULKAN_LOADER]).catch(() => undefined);
  return unresolved && unresolved.length > 0 ? `no Vulkan driver, ${VULKAN_LOADER} not found` : undefined;
}

const VULKAN_LOADER = 'libvulkan.so.1';
