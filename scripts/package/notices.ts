/**
 * THIRD-PARTY-NOTICES.md for a VSIX: every npm package the package carries, bundled into dist/ or
 * shipped in node_modules, with its licence text. A package's own licence file is used when it has
 * one; a few ship none (onnxruntime-node, draco3dgltf, sharp's libvips builds), and for those the
 * standard text of the licence their package.json names is used, from licenses/ in this repository.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

export interface PackageLicence {
  readonly name: string;
  readonly version: string;
  /** SPDX expression from package.json. */
  readonly license: string;
  /** Where the package's code ends up in the VSIX. */
  readonly shipped: 'bundled' | 'node_modules';
  /** The licence text: the package's own file, or the standard text for its SPDX id. */
  readonly text: string;
  /** The file the text came from, relative to the package or to the repository's licenses/. */
  readonly source: string;
}

const LICENCE_FILE = /^(licen[cs]e|copying)(\.(md|txt|markdown))?$/i;

/** Standard texts for packages that ship no licence file, by SPDX id. */
const STANDARD_TEXTS: Readonly<Record<string, readonly string[]>> = {
  'Apache-2.0': ['Apache-2.0.txt'],
  // The LGPL is a set of additional permissions on top of the GPL: both texts are needed.
  'LGPL-3.0-or-later': ['LGPL-3.0.txt', 'GPL-3.0.txt'],
  'LGPL-3.0': ['LGPL-3.0.txt', 'GPL-3.0.txt'],
};

/** The MIT licence names its copyright holder; for a package without a licence file, its author. */
function mitText(author: string): string {
  return `MIT License

Copyright (c) ${author}

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`;
}

interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly license?: string;
  readonly author?: string | { readonly name?: string };
}

/** The licence of the package installed at `dir`. Throws when neither a file nor a known standard text covers it. */
export function licenceOf(dir: string, shipped: PackageLicence['shipped'], licensesDir: string): PackageLicence {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;
  const license = manifest.license ?? 'UNKNOWN';
  const own = readdirSync(dir).filter((f) => LICENCE_FILE.test(f)).sort();
  if (own.length > 0) {
    const texts = own.map((f) => readFileSync(path.join(dir, f), 'utf8'));
    const sources = [...own];
    // sharp's Windows builds carry libvips DLLs: "Apache-2.0 AND LGPL-3.0-or-later" with an Apache file only.
    if (/LGPL-3\.0/.test(license) && !texts.some((t) => /GNU LESSER GENERAL PUBLIC LICENSE/.test(t))) {
      for (const f of STANDARD_TEXTS['LGPL-3.0']!) {
        texts.push(readFileSync(path.join(licensesDir, f), 'utf8'));
        sources.push(`licenses/${f}`);
      }
    }
    return { name: manifest.name, version: manifest.version, license, shipped, text: texts.join('\n\n'), source: sources.join(', ') };
  }
  const author = typeof manifest.author === 'string' ? manifest.author : manifest.author?.name;
  if (license === 'MIT' && author) {
    return { name: manifest.name, version: manifest.version, license, shipped, text: mitText(author.replace(/\s*<[^>]*>/, '')), source: `MIT text, copyright ${author}` };
  }
  const files = STANDARD_TEXTS[license];
  if (!files) throw new Error(`${manifest.name}@${manifest.version} (${dir}) ships no licence file and its licence "${license}" has no standard text in licenses/.`);
  return {
    name: manifest.name,
    version: manifest.version,
    license,
    shipped,
    text: files.map((f) => readFileSync(path.join(licensesDir, f), 'utf8')).join('\n\n'),
    source: files.map((f) => `licenses/${f}`).join(', '),
  };
}

/** The package folder a bundled input file came from: node_modules/(@scope/)name, the innermost one. */
export function packageDirOf(input: string): string | undefined {
  const parts = input.split(/[\\/]/);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length) return undefined;
  const length = parts[at + 1]!.startsWith('@') ? 2 : 1;
  return parts.slice(0, at + 1 + length).join('/');
}

/** Every package a production bundle took code from, per esbuild's metafiles in `metaDir`. */
export function bundledPackageDirs(metaDir: string, root: string): string[] {
  const dirs = new Set<string>();
  for (const file of readdirSync(metaDir).filter((f) => f.endsWith('.json'))) {
    const meta = JSON.parse(readFileSync(path.join(metaDir, file), 'utf8')) as { inputs: Record<string, unknown> };
    for (const input of Object.keys(meta.inputs)) {
      const dir = packageDirOf(input);
      if (dir && existsSync(path.join(root, dir, 'package.json'))) dirs.add(path.join(root, dir));
    }
  }
  return [...dirs].sort();
}

/** Every package folder under a node_modules tree (scoped ones included, nested ones too). */
export function installedPackageDirs(nodeModules: string): string[] {
  const found: string[] = [];
  const visit = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.name.startsWith('@')) {
        visit(full);
        continue;
      }
      if (!existsSync(path.join(full, 'package.json'))) continue;
      found.push(full);
      visit(path.join(full, 'node_modules'));
    }
  };
  visit(nodeModules);
  return found.sort();
}

/** The notices file's text. */
export function noticesText(productName: string, licences: readonly PackageLicence[]): string {
  const sorted = [...licences].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
  const lines = [
    '# Third-party notices',
    '',
    `${productName} includes the following open-source packages. Those marked "bundled" are compiled into`,
    "`dist/`; those marked \"node_modules\" are shipped as they were published, under `node_modules/`.",
    '',
    'sharp uses libvips and the libraries it depends on (the `@img/sharp-libvips-*` package, or the DLLs in',
    '`@img/sharp-win32-*`), licensed under the GNU Lesser General Public License 3.0 or later. They are',
    'dynamically linked shared libraries: you may replace them with your own build of the same',
    'libraries. Their source is at https://github.com/lovell/sharp-libvips and https://github.com/libvips/libvips;',
    "each bundled library's own licence is listed in that package's README.md, shipped alongside it.",
    '',
    '| package | version | licence | shipped |',
    '| --- | --- | --- | --- |',
    ...sorted.map((l) => `| ${l.name} | ${l.version} | ${l.license} | ${l.shipped} |`),
    '',
  ];
  for (const l of sorted) {
    lines.push(`## ${l.name} ${l.version}`, '', `Licence: ${l.license} (${l.source})`, '', '```text', l.text.trimEnd(), '```', '');
  }
  return lines.join('\n');
}
