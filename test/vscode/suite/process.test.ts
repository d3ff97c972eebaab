/// <reference types="mocha" />
// The extension host stays thin, and the pipeline runs in a child process that may die without taking
// the editor along. These checks run inside VS Code's extension host: the first before anything has
// activated the extension, the rest after the generation tests, against the real pipeline process.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { sleep } from './driver.js';

const EXTENSION_ID = 'imageto3d.image-to-3d';
const ENGINE_STATE = 'imageTo3d._engineState';
const GENERATE_TIMEOUT_MS = 180_000;

interface EngineState {
  pid?: number;
  starts: number;
  crashes: number;
  runningJobs: number;
}

const engineState = async (): Promise<EngineState> => (await vscode.commands.executeCommand<EngineState>(ENGINE_STATE))!;

/**
 * Modules of the extension's native dependencies loaded into this (the extension host's) process. VS
 * Code's own native modules (its file watcher, its logger) are not the extension's and may be there.
 */
function nativeModulesInHost(extensionPath: string): string[] {
  const ours = path.join(extensionPath, 'node_modules') + path.sep;
  return Object.keys(require.cache).filter((file) => file.startsWith(ours) && /node_modules[\\/](onnxruntime-node|onnxruntime-common|sharp|@img)[\\/]/.test(file));
}

export function activationSuite(): void {
  suite('Activation', function () {
    test('activation loads no native module; its time is measured', async function () {
      const ext = vscode.extensions.getExtension(EXTENSION_ID);
      assert.ok(ext, `extension ${EXTENSION_ID} is not loaded`);
      if (ext.isActive) {
        console.log('[suite] the extension was already active; activation time not measured');
      } else {
        const started = performance.now();
        await ext.activate();
        console.log(`[suite] activation of the bundled extension took ${(performance.now() - started).toFixed(1)} ms`);
      }
      assert.deepEqual(nativeModulesInHost(ext.extensionPath), []);
      assert.equal((await engineState()).pid, undefined, 'activation started the pipeline process');
    });
  });
}

export function crashSuite(): void {
  suite('The pipeline process', function () {
    let ws: string;
    let sample: vscode.Uri;

    suiteSetup(function () {
      ws = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
      sample = vscode.Uri.file(path.join(ws, 'sample.png'));
    });

    const generate = (uri: vscode.Uri) => vscode.commands.executeCommand<{ files: string[] } | undefined>('imageTo3d.generate', uri);

    async function generatesAgain(): Promise<void> {
      const result = await generate(sample);
      assert.ok(result, 'the generation after the crash failed');
      for (const file of result.files) assert.ok(fs.statSync(file).size > 0, `${file} is empty`);
    }

    test('the generations ran in a child process and never loaded a native module into the extension host', async function () {
      const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
      const state = await engineState();
      assert.ok(state.pid !== undefined && state.pid !== process.pid, `pipeline process: ${JSON.stringify(state)}`);
      assert.deepEqual(nativeModulesInHost(ext.extensionPath), []);
    });

    test('killed with SIGKILL in the middle of a generation: the run ends, nothing is left behind, the next run succeeds', async function () {
      this.timeout(2 * GENERATE_TIMEOUT_MS);
      const config = vscode.workspace.getConfiguration('imageTo3d');
      // A finer grid so the job is surely still running when it is killed.
      await config.update('resolution', 256, vscode.ConfigurationTarget.Workspace);
      try {
        const before = await engineState();
        const present = new Set(fs.readdirSync(ws));
        const run = generate(sample);
        let pid: number | undefined;
        for (let i = 0; i < 1000 && pid === undefined; i++) {
          const s = await engineState();
          if (s.pid !== undefined && s.runningJobs > 0) pid = s.pid;
          else await sleep(10);
        }
        assert.ok(pid !== undefined, 'no job started');
        await sleep(300);
        process.kill(pid, 'SIGKILL');
        assert.equal(await run, undefined, 'the killed generation resolved with a result');
        const after = await engineState();
        assert.equal(after.crashes, before.crashes + 1);
        assert.equal(after.runningJobs, 0);
        await sleep(500); // a straggling write would show up here
        const added = fs.readdirSync(ws).filter((name) => !present.has(name));
        assert.deepEqual(added, [], `left behind: ${added.join(', ')}`);
      } finally {
        await config.update('resolution', 48, vscode.ConfigurationTarget.Workspace);
      }
      this.timeout(GENERATE_TIMEOUT_MS);
      const crashedPid = (await engineState()).pid;
      assert.equal(crashedPid, undefined);
      await generatesAgain();
    });

    test('killed between jobs: the host notices, and the next generation starts a new process', async function () {
      this.timeout(GENERATE_TIMEOUT_MS);
      const before = await engineState();
      assert.ok(before.pid !== undefined, 'no pipeline process is running');
      process.kill(before.pid, 'SIGKILL');
      let noticed = false;
      for (let i = 0; i < 200 && !noticed; i++) {
        noticed = (await engineState()).pid === undefined;
        if (!noticed) await sleep(20);
      }
      assert.ok(noticed, 'the host did not notice the process died');
      assert.equal((await engineState()).crashes, before.crashes + 1);
      await generatesAgain();
      const after = await engineState();
      assert.ok(after.pid !== undefined && after.pid !== before.pid);
      assert.equal(after.starts, before.starts + 1);
    });
  });
}
