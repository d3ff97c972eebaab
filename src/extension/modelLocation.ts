import * as path from 'node:path';
import type { Settings } from './settings.js';
import type { ModelRequest } from '../pipeline/generate.js';

export interface ModelLocation {
  readonly request: ModelRequest;
  /** True for the demonstration model built with the extension, not a reconstruction network. */
  readonly builtIn: boolean;
}

export interface StoragePaths {
  readonly extensionPath: string;
  /** The extension's global storage: downloads and conversion caches live here. */
  readonly globalStoragePath: string;
}

export function standinDir(extensionPath: string): string {
  return path.join(extensionPath, 'dist', 'models', 'standin');
}

/**
 * The model the settings ask for, most specific first: a ready ONNX pair, the user's own checkpoint,
 * then TripoSR downloaded into global storage. `allowDownload` is decided by the caller, after asking.
 */
export function resolveModel(settings: Settings, paths: StoragePaths, allowDownload = false): ModelLocation {
  const common = { precision: settings.precision, executionProviders: settings.executionProviders };
  if (settings.model === 'standin') {
    return { request: { ...common, spec: { kind: 'onnx', dir: standinDir(paths.extensionPath) } }, builtIn: true };
  }
  if (settings.modelPath) return { request: { ...common, spec: { kind: 'onnx', dir: settings.modelPath } }, builtIn: false };
  if (settings.checkpointPath) {
    const spec = {
      kind: 'checkpoint' as const,
      checkpointPath: settings.checkpointPath,
      configPath: path.join(path.dirname(settings.checkpointPath), 'config.yaml'),
      cacheDir: paths.globalStoragePath,
    };
    return { request: { ...common, spec }, builtIn: false };
  }
  const spec = { kind: 'managed' as const, storeDir: paths.globalStoragePath, urlOverrides: settings.downloadUrls, allowDownload };
  return { request: { ...common, spec }, builtIn: false };
}
