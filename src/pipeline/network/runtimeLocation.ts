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

/** The record an installed CUDA provider leaves beside it (cudaProvider/install.ts writes it). */
export const CUDA_PROVIDER_RECORD = 'cuda-provider.json';

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
    if (!existsSync(path.join(bin, 'onnxruntime_binding.node')) || !existsSync(path.join(bin, CUDA_PROVIDER_RECORD))) return undefined;
    return privateRuntimePackage(storageDir, version);
  } catch {
    return undefined;
  }
}

/** The onnxruntime-node package folder this bundle resolves to (resolution only: nothing is loaded). */
export function bundledOnnxRuntimePackage(): string {
  return packageRootOf(require.resolve('onnxruntime-node'), 'onnxruntime-node');
}

/** The version of the bundled onnxruntime-node, or undefined when there is none. */
export function bundledOnnxRuntimeVersion(): string | undefined {
  try {
    return (JSON.parse(readFileSync(path.join(bundledOnnxRuntimePackage(), 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * The private copy the pipeline should load, when Install CUDA Support had to put the provider in
 * one under `storageParent` (the extension's global storage, or the CLI's cache folder), else undefined.
 */
export function installedPrivateRuntime(storageParent: string): string | undefined {
  const version = bundledOnnxRuntimeVersion();
  return version === undefined ? undefined : privateRuntimeFor(privateRuntimeStorage(storageParent), version);
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
