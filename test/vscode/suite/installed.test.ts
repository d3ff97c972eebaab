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

    test('Install CUDA Support has where to put the provider: beside the installed ONNX Runtime, or a private copy', function () {
      if (process.platform !== 'linux' || process.arch !== 'x64') this.skip();
      const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
      // The folder the installer writes into (cudaProvider/install.ts): ONNX Runtime's own library beside it.
      const binDir = path.join(ext.extensionPath, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64');
      assert.ok(fs.existsSync(path.join(binDir, 'libonnxruntime.so.1')), `no libonnxruntime.so.1 in ${binDir}`);
      // Writable here (an ordinary per-user install); where it is not, the installer makes a private copy
      // in the global storage instead (test/pipeline/cudaProvider.test.ts runs that case as another user).
      fs.accessSync(binDir, fs.constants.W_OK);
    });
  });
}
