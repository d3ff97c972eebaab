/**
 * onnxruntime-node, loaded in one place for the whole pipeline, on first use.
 *
 * Normally that is the package beside the bundle (the extension's node_modules). ONNX Runtime loads
 * execution providers (CUDA's) only from the folder its own library sits in, and an extension's folder
 * may be read-only (a system-wide or managed install); the CUDA provider then goes into a private
 * copy of onnxruntime-node in the extension's global storage (cudaProvider/privateRuntime.ts), and
 * the host names that copy in IMAGE_TO_3D_ONNXRUNTIME when it starts the pipeline process. A copy
 * that no longer loads is passed over for the bundled package, with the reason kept for the log.
 */
import * as path from 'node:path';
import type * as OnnxRuntime from 'onnxruntime-node';
import { bundledOnnxRuntimePackage, ONNXRUNTIME_PACKAGE_ENV } from './runtimeLocation.js';

export type { OnnxRuntime };

interface Loaded {
  readonly module: typeof OnnxRuntime;
  /** The package folder it came from. */
  readonly packageDir: string;
  /** Why the package named in the environment was not used, when it was not. */
  readonly passedOver?: string;
}

let loaded: Loaded | undefined;

function load(): Loaded {
  const named = process.env[ONNXRUNTIME_PACKAGE_ENV];
  let passedOver: string | undefined;
  if (named) {
    try {
      // A path, so esbuild leaves this require to run time like the external package below.
      const module = require(path.resolve(named)) as typeof OnnxRuntime;
      return { module, packageDir: path.resolve(named) };
    } catch (err) {
      passedOver = `${named} did not load (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); using the bundled ONNX Runtime.`;
    }
  }
  const module = require('onnxruntime-node') as typeof OnnxRuntime;
  return { module, packageDir: bundledOnnxRuntimePackage(), passedOver };
}

/** The onnxruntime-node module this process uses. */
export function onnxRuntime(): typeof OnnxRuntime {
  loaded ??= load();
  return loaded.module;
}

/** Where the onnxruntime-node in use lives, and why a named copy was passed over (if it was). */
export function onnxRuntimeSource(): { readonly packageDir: string; readonly passedOver?: string } {
  loaded ??= load();
  return { packageDir: loaded.packageDir, passedOver: loaded.passedOver };
}
