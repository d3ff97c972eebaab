// Entry point loaded by VS Code as `extensionTestsPath` (bundled by test/vscode/build-suite.mjs).
// Runs the mocha suite inside the extension host, logs one line per test, writes the counts to
// `<workspace>/.e2e/results.json` for the harness, and rejects when anything failed.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MochaOptions, Runner, Test, Hook, reporters } from 'mocha';
import * as vscode from 'vscode';
import { MAILBOX_DIR } from './driver.js';
import type { InstalledInfo } from './installed.test.js';

export interface TestRecord {
  title: string;
  state: 'passed' | 'failed' | 'skipped';
  durationMs?: number;
  error?: string;
}

export interface SuiteResults {
  passed: number;
  failed: number;
  skipped: number;
  tests: TestRecord[];
}

const log = (line: string) => console.log(`[suite] ${line}`);

/** A mocha reporter that only collects results and logs through console.log (forwarded by VS Code). */
function collectingReporter(Base: typeof reporters.Base, records: TestRecord[]) {
  return class CollectingReporter extends Base {
    constructor(runner: Runner, options?: MochaOptions) {
      super(runner, options);
      runner.on('pass', (test: Test) => {
        records.push({ title: test.fullTitle(), state: 'passed', durationMs: test.duration });
        log(`✔ ${test.fullTitle()} (${test.duration ?? 0} ms)`);
      });
      runner.on('fail', (test: Test | Hook, err: Error) => {
        const error = err?.stack ?? String(err);
        records.push({ title: test.fullTitle(), state: 'failed', durationMs: test.duration, error });
        log(`✘ ${test.fullTitle()}`);
        for (const line of error.split('\n')) log(`    ${line}`);
      });
      runner.on('pending', (test: Test) => {
        records.push({ title: test.fullTitle(), state: 'skipped' });
        log(`- ${test.fullTitle()} (skipped)`);
      });
    }
  };
}

export async function run(): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the end-to-end suite needs a workspace folder (see test/vscode/fixtures.mjs)');
  const mailbox = path.join(folder.uri.fsPath, MAILBOX_DIR);
  fs.mkdirSync(mailbox, { recursive: true });

  // mocha 12 is an ES module: load it with a real dynamic import (kept as such by the bundler).
  const { default: Mocha } = await import('mocha');
  const records: TestRecord[] = [];
  const mocha = new Mocha({ ui: 'tdd', timeout: 60_000, color: false });
  mocha.reporter(collectingReporter(Mocha.reporters.Base, records));
  // The test files are bundled into this one; define mocha's globals (suite, test, …) before they load.
  const installedInfo = path.join(mailbox, 'installed.json');
  if (fs.existsSync(installedInfo)) {
    mocha.suite.emit('pre-require', globalThis, 'installed.test.ts', mocha);
    const { installedSuite } = await import('./installed.test.js');
    installedSuite(JSON.parse(fs.readFileSync(installedInfo, 'utf8')) as InstalledInfo);
  }
  mocha.suite.emit('pre-require', globalThis, 'process.test.ts', mocha);
  const { activationSuite, crashSuite } = await import('./process.test.js');
  // Before anything activates the extension, so activation is measured on its own.
  activationSuite();
  mocha.suite.emit('pre-require', globalThis, 'generate.test.ts', mocha);
  await import('./generate.test.js');
  mocha.suite.emit('pre-require', globalThis, 'convert.test.ts', mocha);
  await import('./convert.test.js');
  // Last: they kill the pipeline process the other suites used.
  crashSuite();

  log(`running in VS Code ${vscode.version}, workspace ${folder.uri.fsPath}`);
  await new Promise<void>((resolve) => mocha.run(() => resolve()));

  const results: SuiteResults = {
    passed: records.filter((r) => r.state === 'passed').length,
    failed: records.filter((r) => r.state === 'failed').length,
    skipped: records.filter((r) => r.state === 'skipped').length,
    tests: records,
  };
  fs.writeFileSync(path.join(mailbox, 'results.json'), JSON.stringify(results, null, 2));
  log(`${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped`);
  if (results.failed > 0) throw new Error(`${results.failed} end-to-end test(s) failed`);
}
