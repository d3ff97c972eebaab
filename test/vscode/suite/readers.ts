// The independent readers both suites check files with, loaded from the repository's node_modules
// (kept external by the bundler), and a polling helper.

import * as zlib from 'node:zlib';
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


export interface DecodedPng {
  width: number;
  height: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA). */
  channels: number;
  /** Row-major samples, `channels` per pixel. */
  pixels: Uint8Array;
}

/**
 * Reads an 8-bit, non-interlaced grey, RGB or RGBA PNG with node's zlib alone: the files are checked
 * by a reader that shares nothing with the sharp/libvips code that wrote them.
 */
export function readPng(bytes: Uint8Array): DecodedPng {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!signature.every((b, i) => bytes[i] === b)) throw new Error('not a PNG (signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Uint8Array[] = [];
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const body = bytes.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
      const [depth, colourType, , , interlace] = body.subarray(8, 13);
      channels = ({ 0: 1, 2: 3, 6: 4 } as Record<number, number>)[colourType!] ?? 0;
      if (depth !== 8 || channels === 0 || interlace !== 0) throw new Error(`unsupported PNG: depth ${depth}, colour type ${colourType}, interlace ${interlace}`);
    } else if (type === 'IDAT') {
      data.push(body);
    } else if (type === 'IEND') {
      break;
    }
    at += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(data));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1)) throw new Error(`PNG data holds ${raw.length} bytes, not ${height * (stride + 1)}`);
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const row = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const left = i >= channels ? pixels[y * stride + i - channels]! : 0;
      const up = y > 0 ? pixels[(y - 1) * stride + i]! : 0;
      const upLeft = y > 0 && i >= channels ? pixels[(y - 1) * stride + i - channels]! : 0;
      let predictor: number;
      switch (filter) {
        case 0: predictor = 0; break;
        case 1: predictor = left; break;
        case 2: predictor = up; break;
        case 3: predictor = (left + up) >> 1; break;
        case 4: {
          const p = left + up - upLeft;
          const pa = Math.abs(p - left);
          const pb = Math.abs(p - up);
          const pc = Math.abs(p - upLeft);
          predictor = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
          break;
        }
        default: throw new Error(`PNG row ${y} has filter ${filter}`);
      }
      pixels[y * stride + i] = (row[i]! + predictor) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}
