import * as path from 'node:path';
import type { Settings } from './settings.js';

export interface ModelLocation {
  readonly dir: string;
  /** True for the demonstration model built with the extension, not a reconstruction network. */
  readonly builtIn: boolean;
}

/** The model the user configured, else the stand-in model the build puts beside the bundle. */
export function resolveModel(settings: Settings, extensionPath: string): ModelLocation {
  if (settings.modelPath) return { dir: settings.modelPath, builtIn: false };
  return { dir: path.join(extensionPath, 'dist', 'models', 'standin'), builtIn: true };
}
