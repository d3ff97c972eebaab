/// <reference types="mocha" />
// With `run.mjs --vsix`, the extension under test must be the installed package: loaded from the
// session's extensions folder, carrying its own native modules, with nothing of the repository in it.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

const EXTENSION_ID = 'imageto3d.image-to-3d';

export interface InstalledInfo {
  readonly extensionsDir: string;
  readonly vsix: string;
}

export function installedSuite(info: InstalledInfo): void {
  suite('installed package', () => {
    test('the extension is the installed copy, not the development folder', () => {
      const ext = vscode.extensions.getExtension(EXTENSION_ID);
      assert.ok(ext, `extension ${EXTENSION_ID} is not loaded`);
      const installedAt = fs.realpathSync(ext.extensionPath);
      assert.ok(installedAt.startsWith(fs.realpathSync(info.extensionsDir) + path.sep), `${installedAt} is not under ${info.extensionsDir}`);
      assert.equal(ext.extensionKind, vscode.ExtensionKind.Workspace);
      for (const absent of ['src', 'test', 'bench', 'scripts', 'package-lock.json']) {
        assert.ok(!fs.existsSync(path.join(installedAt, absent)), `${absent} is in the installed package`);
      }
      // Its own native binaries, for this platform.
      const binding = path.join(installedAt, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', process.platform, process.arch, 'onnxruntime_binding.node');
      assert.ok(fs.existsSync(binding), `${binding} missing`);
      assert.ok(fs.existsSync(path.join(installedAt, 'node_modules', '@img', `sharp-${process.platform}-${process.arch}`)), "sharp's native package missing");
    });
  });
}
