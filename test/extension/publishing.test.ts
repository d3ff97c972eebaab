import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { PACKAGE_TARGETS } from '../../scripts/package/targets.js';

/*
 * What the Marketplace and Open VSX show: the manifest's publishing fields, an icon they accept, a
 * README that starts with what a user needs (Install) and whose relative links resolve (vsce rewrites
 * them to the repository), a CHANGELOG entry for this version; and the README's Install section names
 * the platforms scripts/package/targets.ts builds, no more, no fewer.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown> & {
  version: string;
  icon: string;
  categories: string[];
  keywords: string[];
  galleryBanner: { color: string; theme: string };
  repository: { type: string; url: string };
};
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The categories the Marketplace offers (vsce rejects others). */
const MARKETPLACE_CATEGORIES = new Set([
  'Azure', 'Chat', 'Data Science', 'Debuggers', 'Education', 'Extension Packs', 'Formatters', 'Keymaps', 'Language Packs', 'Linters',
  'Machine Learning', 'Notebooks', 'Other', 'Programming Languages', 'SCM Providers', 'Snippets', 'Testing', 'Themes', 'Visualization', 'AI',
]);

function section(heading: string): string {
  const start = readme.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `README has no "## ${heading}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

test('the manifest carries what the galleries show', async () => {
  for (const field of ['displayName', 'description', 'publisher', 'license', 'icon', 'galleryBanner', 'repository', 'bugs', 'homepage']) {
    assert.ok(manifest[field], `package.json has no ${field}`);
  }
  assert.match(manifest.repository.url, /^https:\/\/github\.com\/[\w.-]+\/[\w.-]+\.git$/);
  assert.match(manifest.galleryBanner.color, /^#[0-9a-f]{6}$/i);
  assert.ok(['dark', 'light'].includes(manifest.galleryBanner.theme));
  assert.ok(manifest.categories.every((c) => MARKETPLACE_CATEGORIES.has(c)), manifest.categories.join(', '));
  assert.ok(manifest.keywords.length > 0 && manifest.keywords.length <= 30);
  // The Marketplace wants a PNG icon of at least 128×128 (vsce refuses SVG).
  const icon = await sharp(readFileSync(path.join(ROOT, manifest.icon))).metadata();
  assert.equal(icon.format, 'png');
  assert.ok(icon.width! >= 128 && icon.width === icon.height, `${icon.width}×${icon.height}`);
  assert.ok(existsSync(path.join(ROOT, 'LICENSE')));
  assert.match(readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf8'), new RegExp(`^## ${manifest.version.replace(/\./g, '\\.')}$`, 'm'));
});

test('the README starts with Install, names every platform package, and its relative links resolve', () => {
  const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
  assert.equal(headings[0], 'Install');
  assert.ok(headings.indexOf('Install') < headings.indexOf('Build from source'));
  const install = section('Install');
  for (const how of ['Marketplace', 'Open VSX', '--install-extension']) assert.ok(install.includes(how), `Install section lacks ${how}`);
  const named = [...install.matchAll(/`((?:linux|win32|darwin)-(?:x64|arm64))`/g)].map((m) => m[1]).sort();
  assert.deepEqual(named, PACKAGE_TARGETS.map((t) => t.target).sort());
  for (const t of PACKAGE_TARGETS.filter((p) => p.onnxruntimeVersion)) assert.ok(install.includes(`ONNX Runtime ${t.onnxruntimeVersion}`), `Install section does not say ${t.target} carries ONNX Runtime ${t.onnxruntimeVersion}`);
  for (const [, target] of readme.matchAll(/\]\(((?!https?:|#|mailto:)[^)\s]+)\)/g)) {
    assert.ok(existsSync(path.join(ROOT, target!.split('#')[0]!)), `README links to ${target}, which does not exist`);
  }
});
