// The independent readers both suites check files with, loaded from the repository's node_modules
// (kept external by the bundler), and a polling helper.

import { sleep } from './driver.js';

export interface GltfReport {
  issues: { numErrors: number; numWarnings: number; messages: { code: string; message: string; pointer?: string; severity: number }[] };
  info?: { totalTriangleCount?: number; totalVertexCount?: number };
}
export const gltfValidator = () =>
  require('gltf-validator') as { validateBytes(data: Uint8Array, options?: { maxIssues?: number }): Promise<GltfReport> };
interface DxfEntity { type: string }
export const dxfParser = () => {
  const mod = require('dxf-parser') as { default?: unknown };
  const Parser = (mod.default ?? mod) as new () => { parseSync(text: string): { entities: DxfEntity[] } | null };
  return new Parser();
};
export interface OcctResult {
  success: boolean;
  meshes: { attributes: { position: { array: ArrayLike<number> } }; index: { array: ArrayLike<number> } }[];
}
export const occt = () =>
  (require('occt-import-js') as () => Promise<{ ReadStepFile(data: Uint8Array, params: null): OcctResult }>)();

/** Polls until `probe` returns a value, or fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

