/**
 * Where the pipeline's ONNX Runtime comes from: the bundled onnxruntime-node, or the private copy
 * that holds the CUDA provider when the extension's folder is read-only (cudaProvider/privateRuntime.ts
 * makes it; network/ort.ts loads it). File checks and names only: the extension host reads this each
 * time it starts the pipeline process, and must load nothing native.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** Environment variable naming an onnxruntime-node package folder to load instead of the bundled one (network/ort.ts). */
export const ONNXRUNTIME_PACKAGE_ENV = 'IMAGE_TO_3D_ONNXRUNTIME';

export interface RuntimePlatform {
  readonly platform: string;
  readonly arch: string;
}

/** The folder a private copy of onnxruntime-node `version` lives in under `storageDir`. */
export function privateRuntimeRoot(storageDir: string, version: string): string {
  return path.join(storageDir, `onnxruntime-node-${version}`);
}

/** The onnxruntime-node package folder of that copy (what IMAGE_TO_3D_ONNXRUNTIME names). */
export function privateRuntimePackage(storageDir: string, version: string): string {
  return path.join(privateRuntimeRoot(storageDir, version), 'node_modules', 'onnxruntime-node');
}

/** The native folder of that copy, where the provider goes. */
export function privateRuntimeBinDir(storageDir: string, version: string, { platform, arch }: RuntimePlatform): string {
  return path.join(privateRuntimePackage(storageDir, version), 'bin', 'napi-v6', platform, arch);
}

/** Where an extension keeps its private runtimes: a folder of its global storage. */
export function privateRuntimeStorage(globalStoragePath: string): string {
  return path.join(globalStoragePath, 'onnxruntime');
}

/**
 * The copy's package folder when a private runtime of `version` with an installed CUDA provider record
 * exists under `storageDir`, else undefined. A few small synchronous reads: the extension host asks
 * this each time it starts the pipeline process, and loads nothing native.
 */
export function privateRuntimeFor(storageDir: string, version: string, host: RuntimePlatform = process): string | undefined {
  const bin = privateRuntimeBinDir(storageDir, version, host);
  try {
    const { name, version: found } = JSON.parse(readFileSync(path.join(privateRuntimePackage(storageDir, version), 'package.json'), 'utf8')) as { name?: string; version?: string };
    if (name !== 'onnxruntime-node' || found !== version) return undefined;
    if (!existsSync(path.join(bin, 'onnxruntime_binding.node')) || !existsSync(path.join(bin, 'cuda-provider.json'))) return undefined;
    return privateRuntimePackage(storageDir, version);
  } catch {
    return undefined;
  }
}

/**
 * The version of the onnxruntime-node this bundle resolves to (resolution only: nothing is loaded),
 * or undefined when there is none.
 */
export function bundledOnnxRuntimeVersion(): string | undefined {
  try {
    const dir = packageRootOf(require.resolve('onnxruntime-node'), 'onnxruntime-node');
    return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** The folder of package `name` that `entry` (a file inside it) belongs to. Its exports may hide package.json from require.resolve. */
export function packageRootOf(entry: string, name: string): string {
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      if ((JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name === name) return dir;
    } catch {
      // No package.json here: go up.
    }
  }
  throw new Error(`No ${name} package above ${entry}.`);
}
