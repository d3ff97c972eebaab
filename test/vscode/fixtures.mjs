// Builds the throwaway workspace the end-to-end suite runs in (shared by run.mjs and runElectron.mjs).
//
//   sample.png   128×128 RGBA: a shaded disc on a transparent background (the happy path)
//   photo.png    192×144 opaque RGB: a shaded blue object on a plain backdrop (background removal)
//   bad.png      4 KiB of seeded pseudo-random bytes with an image name (the failure path)
//   notes.txt    a text file (the Explorer context menu must not offer the command on it)
//   part.stl     a 40 × 30 × 10 mm box as binary STL, 12 unshared facets (mesh → CAD conversion)
//   .vscode/settings.json   small grid resolution for speed, "suffix" so re-runs never prompt
//   .e2e/        the suite ↔ driver mailbox (see suite/driver.ts); results.json lands here
//
// User settings (for the user-data dir) keep the workbench quiet and deterministic.

import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The suite ↔ driver mailbox inside the workspace (same name as MAILBOX_DIR in suite/driver.ts). */
export const MAILBOX_DIR = '.e2e';

export const workspaceSettings = {
  // The demonstration model: TripoSR would ask to download 1.7 GB.
  'imageTo3d.model': 'standin',
  'imageTo3d.resolution': 48,
  'imageTo3d.existingFiles': 'suffix',
};

export const userSettings = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'npm.autoDetect': 'off',
  'typescript.disableAutomaticTypeAcquisition': true,
  'window.restoreWindows': 'none',
  'files.hotExit': 'off',
  'chat.commandCenter.enabled': false,
};

/** 128×128 RGBA PNG: a lit orange disc (radius 44, soft edge) on full transparency. */
export async function samplePng() {
  const sharp = createRequire(path.join(repoRoot, 'package.json'))('sharp');
  const size = 128;
  const radius = 44;
  const px = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = x + 0.5 - size / 2;
      const dy = y + 0.5 - size / 2;
      const d = Math.hypot(dx, dy);
      const coverage = Math.min(1, Math.max(0, radius + 0.5 - d));
      if (coverage === 0) continue;
      // Fake Lambert shading of a sphere lit from the upper left, so the image is not a flat colour.
      const nz = Math.sqrt(Math.max(0, 1 - (d / radius) ** 2));
      const light = Math.max(0.15, (-dx * 0.45 - dy * 0.55) / radius + nz * 0.7);
      const i = (y * size + x) * 4;
      px[i] = Math.min(255, Math.round(235 * light + 20));
      px[i + 1] = Math.min(255, Math.round(120 * light + 10));
      px[i + 2] = Math.min(255, Math.round(40 * light + 5));
      px[i + 3] = Math.round(255 * coverage);
    }
  }
  return sharp(px, { raw: { width: size, height: size, channels: 4 } }).png().toBuffer();
}

/**
 * 192×144 opaque RGB PNG (no alpha channel), like a product photo: a shaded blue ellipse (radii 50 × 40,
 * soft edge) on a warm grey backdrop with a gentle vertical gradient and faint seeded noise, so neither
 * part is a flat colour.
 */
export async function photoPng() {
  const sharp = createRequire(path.join(repoRoot, 'package.json'))('sharp');
  const [width, height] = [192, 144];
  const [rx, ry] = [50, 40];
  const px = Buffer.alloc(width * height * 3);
  let seed = 0x9e3779b9;
  const noise = () => {
    seed ^= seed << 13; seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5; seed >>>= 0;
    return (seed % 3) - 1; // −1 … 1
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = (x + 0.5 - width / 2) / rx;
      const v = (y + 0.5 - height / 2) / ry;
      const r = Math.hypot(u, v);
      // About one pixel of soft edge, as a lens gives.
      const coverage = Math.min(1, Math.max(0, (1 - r) * Math.min(rx, ry) + 0.5));
      const light = 0.55 + 0.45 * Math.max(0, -0.5 * u - 0.6 * v + 0.6 * Math.sqrt(Math.max(0, 1 - r * r)));
      const object = [40 * light, 95 * light, 215 * light];
      const grade = -2 * (y / height);
      const backdrop = [212 + grade, 205 + grade, 194 + grade];
      const n = noise();
      const i = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) px[i + c] = Math.round(coverage * object[c] + (1 - coverage) * (backdrop[c] + n));
    }
  }
  return sharp(px, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/** Deterministic garbage (xorshift32), guaranteed not to start with any image signature. */
export function garbageBytes(length = 4096, seed = 0x2545f491) {
  const out = Buffer.alloc(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[i] = s & 0xff;
  }
  out.write('JUNK', 0, 'latin1');
  return out;
}

/** Binary STL of an axis-aligned box from the origin to `size` (mm), two facets a side, normals left zero. */
export function boxStl(size = [40, 30, 10]) {
  // Corners by bits (x = 1, y = 2, z = 4); two outward triangles per side.
  const sides = [0, 2, 3, 0, 3, 1, 4, 5, 7, 4, 7, 6, 0, 1, 5, 0, 5, 4, 2, 6, 7, 2, 7, 3, 0, 4, 6, 0, 6, 2, 1, 3, 7, 1, 7, 5];
  const triangles = sides.length / 3;
  const out = Buffer.alloc(84 + 50 * triangles);
  out.write('part.stl: end-to-end fixture', 0, 'latin1');
  out.writeUInt32LE(triangles, 80);
  sides.forEach((corner, i) => {
    const at = 84 + 50 * Math.floor(i / 3) + 12 + 12 * (i % 3);
    for (let axis = 0; axis < 3; axis++) out.writeFloatLE(corner & (1 << axis) ? size[axis] : 0, at + 4 * axis);
  });
  return out;
}

/** Creates the workspace folder `ws` with its fixtures. */
export async function createWorkspace(ws) {
  await mkdir(path.join(ws, '.vscode'), { recursive: true });
  await mkdir(path.join(ws, MAILBOX_DIR), { recursive: true });
  // E2E_SAMPLE (an image path) replaces the drawn disc, e.g. to take the README's picture.
  await writeFile(path.join(ws, 'sample.png'), process.env.E2E_SAMPLE ? await readFile(process.env.E2E_SAMPLE) : await samplePng());
  await writeFile(path.join(ws, 'photo.png'), await photoPng());
  await writeFile(path.join(ws, 'bad.png'), garbageBytes());
  await writeFile(path.join(ws, 'part.stl'), boxStl());
  await writeFile(path.join(ws, 'notes.txt'), 'Not an image: the "Generate 3D Model" menu item must not appear here.\n');
  await writeFile(path.join(ws, '.vscode', 'settings.json'), JSON.stringify(workspaceSettings, null, 2) + '\n');
  // A tiny random-weight TripoSR checkpoint (TripoSR's exact layout) for the real-network test.
  const made = spawnSync('/usr/bin/python3', [path.join(repoRoot, 'test', 'reference', 'make_checkpoint.py'), '--config', 'tiny', '--out', path.join(ws, 'triposr'), '--seed', '11'], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`make_checkpoint.py failed: ${made.stderr}`);
}

/** Writes the user settings into a VS Code user-data dir (`<dir>/User/settings.json`). */
export async function writeUserSettings(userDataDir) {
  await mkdir(path.join(userDataDir, 'User'), { recursive: true });
  await writeFile(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(userSettings, null, 2) + '\n');
}

/**
 * The run's totals from the suite's `<ws>/.e2e/results.json` (or, when it never wrote one, the tests
 * `seen` in its log). A run that failed without a failing test (crash, timeout, setup error) counts one
 * failure, so "0 failed" always means the suite ran and passed.
 */
export async function suiteTotals(ws, exitCode, seen = { passed: 0, failed: 0 }) {
  const results = await readFile(path.join(ws, MAILBOX_DIR, 'results.json'), 'utf8').then(JSON.parse).catch(() => undefined);
  const passed = results?.passed ?? seen.passed;
  let failed = results?.failed ?? seen.failed;
  if (failed === 0 && (exitCode !== 0 || !results)) failed = 1;
  return { passed, failed, skipped: results?.skipped ?? 0, tests: results?.tests ?? [] };
}
