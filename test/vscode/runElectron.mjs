#!/usr/bin/env node
// Runs the same end-to-end suite (out/vscode-suite, built by build-suite.mjs) in desktop VS Code through
// @vscode/test-electron. That downloads VS Code (update.code.visualstudio.com) into test/.tmp/vscode-test,
// so it needs internet; offline machines use run.mjs (code-server) instead. On a Linux machine without a
// display, run it under Xvfb: `xvfb-run -a node test/vscode/runElectron.mjs`.
//
// Without run.mjs's browser driver the suite skips its browser-only checks (preview screenshot, Explorer
// context menu) and says so; everything that runs in the extension host is checked as under run.mjs.
//
// Environment: VSCODE_TEST_VERSION (default "stable"; e.g. 1.100.3 to match code-server), E2E_KEEP=1.
// The last line printed is "N passed, N failed"; the exit code is 0 only when nothing failed.

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createWorkspace, repoRoot, suiteTotals, writeUserSettings } from './fixtures.mjs';

const require = createRequire(path.join(repoRoot, 'package.json'));
const { runTests, TestRunFailedError } = require('@vscode/test-electron');

const suitePath = path.join(repoRoot, 'out', 'vscode-suite');
const tmp = await mkdtemp(path.join(os.tmpdir(), 'imageto3d-electron-'));
const ws = path.join(tmp, 'workspace');
const userData = path.join(tmp, 'user-data');
const extensionsDir = path.join(tmp, 'extensions');
await Promise.all([createWorkspace(ws), writeUserSettings(userData), mkdir(extensionsDir)]);

let exitCode = 1;
let failure = '';
try {
  exitCode = await runTests({
    version: process.env.VSCODE_TEST_VERSION ?? 'stable',
    cachePath: path.join(repoRoot, 'test', '.tmp', 'vscode-test'),
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: suitePath,
    launchArgs: [
      ws,
      `--user-data-dir=${userData}`,
      `--extensions-dir=${extensionsDir}`,
      '--disable-extensions', // other installed extensions; the one under test still loads
      '--disable-telemetry',
      '--disable-workspace-trust',
    ],
  });
} catch (err) {
  // TestRunFailedError: VS Code exited non-zero (the suite's own log says why). Anything else, such as
  // no internet for the download, is a setup problem worth printing.
  if (!(err instanceof TestRunFailedError)) failure = String(err?.stack ?? err);
  exitCode = 1;
}

const { passed, failed, skipped } = await suiteTotals(ws, exitCode);
if (failure) console.log(`FAILED: ${failure}`);
if (skipped) console.log(`${skipped} skipped (browser-only checks need run.mjs)`);
if (process.env.E2E_KEEP !== '1') await rm(tmp, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
