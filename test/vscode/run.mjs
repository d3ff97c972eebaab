#!/usr/bin/env node
// Runs the end-to-end suite (out/vscode-suite, built by build-suite.mjs) inside a real VS Code, offline:
// code-server 4.100.3 (VS Code 1.100.3, installed by scripts/setup-code-server.sh into test/vscode/.server)
// served on 127.0.0.1, driven by Debian's Chromium through playwright-core.
//
//   node test/vscode/run.mjs [--extension DIR | --vsix FILE] [--suite DIR] [--timeout SECONDS] [--keep]
//
// With --vsix, the package is installed into the session's extensions folder the way a user installs
// one (code-server --install-extension), and the suite runs against that installed copy: the
// development extension is an empty harness (test/vscode/harness), and <workspace>/.e2e/installed.json
// tells the suite where the installed copy must be.
//
// Environment: E2E_TIMEOUT_S (default 480), E2E_CHROMIUM (default /usr/bin/chromium), E2E_KEEP=1 (keep the
// temporary workspace and profile). Screenshots, browser console and VS Code logs go to test/.tmp/e2e/.
//
// Besides running the suite, this process is the suite's "browser driver": the suite asks, through
// files in <workspace>/.e2e (protocol in suite/driver.ts), for things only the browser can do: a
// screenshot of the 3D preview with a pixel count, and the Explorer's context menu of a file.
//
// The last line printed is "N passed, N failed"; the exit code is 0 only when nothing failed.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createWorkspace, MAILBOX_DIR, repoRoot, suiteTotals, writeUserSettings } from './fixtures.mjs';

const require = createRequire(path.join(repoRoot, 'package.json'));
const { chromium } = require('playwright-core');
const sharp = require('sharp');

// ---------------------------------------------------------------------------------------------- options

const { values: opts } = parseArgs({
  options: {
    extension: { type: 'string', default: repoRoot },
    vsix: { type: 'string' },
    suite: { type: 'string', default: path.join(repoRoot, 'out', 'vscode-suite') },
    timeout: { type: 'string', default: process.env.E2E_TIMEOUT_S ?? '480' },
    keep: { type: 'boolean', default: process.env.E2E_KEEP === '1' },
  },
});
const vsixPath = opts.vsix ? await packageFor(path.resolve(opts.vsix)) : undefined;
const extensionPath = vsixPath ? path.join(repoRoot, 'test', 'vscode', 'harness') : path.resolve(opts.extension);
const suitePath = path.resolve(opts.suite);
const timeoutMs = Number(opts.timeout) * 1000;
const chromiumPath = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
const serverDir = path.join(repoRoot, 'test', 'vscode', '.server', 'node_modules', 'code-server');
const serverEntry = path.join(serverDir, 'out', 'node', 'entry.js');
const artifacts = path.join(repoRoot, 'test', '.tmp', 'e2e');

// Chromium: headless, software WebGL2 through ANGLE + SwiftShader, and no connections of its own.
const CHROMIUM_ARGS = [
  '--no-sandbox', // CI runs as root
  '--disable-dev-shm-usage', // containers often have a tiny /dev/shm
  '--use-gl=angle',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--ignore-gpu-blocklist',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--disable-breakpad',
  '--no-first-run',
  '--no-default-browser-check',
  '--no-pings',
  '--metrics-recording-only',
];

// ---------------------------------------------------------------------------------------------- helpers

/**
 * The VSIX to install: the file given, or from a folder npm run package wrote, the package of this
 * platform for the version in package.json (its packages.json says which file that is).
 */
async function packageFor(given) {
  if (given.endsWith('.vsix')) return given;
  const { version } = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8'));
  const index = JSON.parse(await readFile(path.join(given, 'packages.json'), 'utf8').catch(() => '{}'));
  const file = index.version === version ? index.packages?.[`${process.platform}-${process.arch}`] : undefined;
  // Preflight reports a missing package; the name says which one was looked for.
  return path.join(given, file ?? `(no ${process.platform}-${process.arch} package of version ${version}: run npm run package)`);
}

const t0 = Date.now();
const say = (msg) => console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** Like sleep, but does not keep the process alive (for races against something that should finish). */
const grace = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

class Fatal extends Error {}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function writeAtomic(file, text) {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

/** Keeps the last `max` lines of a stream (for failure reports) and copies everything to `sink`. */
function tailOf(max) {
  const lines = [];
  let partial = '';
  return {
    push(chunk) {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop();
      lines.push(...parts);
      if (lines.length > max) lines.splice(0, lines.length - max);
    },
    text: () => [...lines, partial].filter(Boolean).join('\n'),
  };
}

// ---------------------------------------------------------------------------------------------- code-server

async function startServer({ port, ws, userData, extensionsDir, home }) {
  const logFile = path.join(artifacts, 'code-server.log');
  const tail = tailOf(80);
  const log = [];
  const child = spawn(
    process.execPath,
    [
      serverEntry,
      '--bind-addr', `127.0.0.1:${port}`,
      '--auth', 'none',
      '--config', path.join(home, 'config.yaml'),
      '--user-data-dir', userData,
      '--extensions-dir', extensionsDir,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--disable-proxy',
      ws,
    ],
    {
      cwd: home,
      detached: true, // its own process group: we kill the extension host and helpers with it
      stdio: ['ignore', 'pipe', 'pipe'],
      // Keep code-server's own state (config.yaml, coder.json) out of the real home directory.
      env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_DATA_HOME: path.join(home, '.local', 'share') },
    },
  );
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      tail.push(chunk);
      log.push(chunk);
    });
  }
  let exited = null;
  const exitPromise = new Promise((resolve) => child.on('exit', (code, signal) => resolve((exited = { code, signal }))));

  const server = {
    child,
    tail,
    exited: () => exited,
    async saveLog() {
      await writeFile(logFile, log.join(''));
    },
    /** SIGTERM to the whole group, SIGKILL after 5 s. */
    async stop() {
      if (exited) return;
      const signalGroup = (sig) => {
        try {
          process.kill(-child.pid, sig);
        } catch {
          /* already gone */
        }
      };
      signalGroup('SIGTERM');
      await Promise.race([exitPromise, grace(5000)]);
      signalGroup('SIGKILL');
    },
  };
  liveServers.add(server);
  exitPromise.then(() => liveServers.delete(server));

  // Ready when /healthz answers.
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited) throw new Fatal(`code-server exited early (${JSON.stringify(exited)})`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Fatal('code-server did not answer /healthz within 90 s');
    await sleep(250);
  }
  return server;
}

/** Installs a VSIX into the session's extensions folder with code-server's own CLI, as a user would. */
async function installVsix({ vsix, userData, extensionsDir, home }) {
  say(`installing ${path.relative(repoRoot, vsix)}`);
  const child = spawn(
    process.execPath,
    [serverEntry, '--user-data-dir', userData, '--extensions-dir', extensionsDir, '--install-extension', vsix],
    { cwd: home, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_DATA_HOME: path.join(home, '.local', 'share') } },
  );
  let output = '';
  for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk) => (output += chunk));
  const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c)));
  const installed = (await readdir(extensionsDir).catch(() => [])).filter((d) => !d.startsWith('.') && d !== 'extensions.json');
  if (code !== 0 || installed.length === 0) throw new Fatal(`installing ${vsix} failed (exit ${code}): ${output.trim()}`);
  say(`installed ${installed.join(', ')}`);
}

// Last-resort cleanup if we die before stop() ran.
const liveServers = new Set();
process.on('exit', () => {
  for (const s of liveServers) {
    try {
      process.kill(-s.child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

// ---------------------------------------------------------------------------------------------- browser driver

/** Pixel statistics of a PNG region: background = most common colour on its 1-px border. */
async function analyse(png, box) {
  const meta = await sharp(png).metadata();
  const left = Math.max(0, Math.round(box.x));
  const top = Math.max(0, Math.round(box.y));
  const width = Math.min(meta.width - left, Math.round(box.width));
  const height = Math.min(meta.height - top, Math.round(box.height));
  if (width < 4 || height < 4) throw new Error(`webview area too small to analyse: ${width}×${height}`);
  const crop = sharp(png).extract({ left, top, width, height });
  const cropPng = await crop.clone().png().toBuffer();
  const { data, info } = await crop.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (x, y) => {
    const i = (y * info.width + x) * info.channels;
    return [data[i], data[i + 1], data[i + 2]];
  };
  const key = ([r, g, b]) => (r << 16) | (g << 8) | b;
  const border = new Map();
  const count = (x, y) => {
    const k = key(at(x, y));
    border.set(k, (border.get(k) ?? 0) + 1);
  };
  for (let x = 0; x < width; x++) count(x, 0), count(x, height - 1);
  for (let y = 1; y < height - 1; y++) count(0, y), count(width - 1, y);
  const bgKey = [...border.entries()].sort((a, b) => b[1] - a[1])[0][0];
  const background = [(bgKey >> 16) & 255, (bgKey >> 8) & 255, bgKey & 255];

  const TOLERANCE = 16; // per channel: ignores dithering and colour-management rounding
  const CHROMA = 24; // max − min channel: clearly coloured, not a shade of grey (grid lines, text, UI)
  let nonBackgroundPixels = 0;
  let chromaticPixels = 0;
  const colours = new Set();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = at(x, y);
      if (Math.abs(p[0] - background[0]) > TOLERANCE || Math.abs(p[1] - background[1]) > TOLERANCE || Math.abs(p[2] - background[2]) > TOLERANCE) {
        nonBackgroundPixels++;
        colours.add(key(p));
        if (Math.max(...p) - Math.min(...p) >= CHROMA) chromaticPixels++;
      }
    }
  }
  return { width, height, nonBackgroundPixels, chromaticPixels, distinctColours: colours.size, background, cropPng };
}

/** The visible webview of `extensionId`: the outer iframe.webview and, inside it, #active-frame. */
async function findWebview(page, extensionId) {
  const seen = [];
  for (const outer of await page.$$('iframe.webview')) {
    const src = (await outer.getAttribute('src')) ?? '';
    const params = new URL(src, page.url()).searchParams;
    seen.push(`${params.get('extensionId') ?? '?'}${(await outer.isVisible()) ? '' : ' (hidden)'}`);
    if (params.get('extensionId')?.toLowerCase() !== extensionId.toLowerCase() || !(await outer.isVisible())) continue;
    const inner = await (await outer.contentFrame())?.$('#active-frame');
    return { element: inner ?? outer, inner };
  }
  throw new Error(`no visible webview of ${extensionId} (webviews: ${seen.join(', ') || 'none'})`);
}

function driverHandlers(page) {
  let shots = 0;
  return {
    async screenshot({ name, extensionId }) {
      const { element, inner } = await findWebview(page, extensionId);
      const box = await element.boundingBox();
      if (!box) throw new Error('the webview has no bounding box (not laid out)');
      const png = await page.screenshot({ animations: 'disabled', caret: 'hide', timeout: 30_000 });
      const safe = String(name).replace(/[^\w.-]+/g, '_');
      const prefix = `${String(++shots).padStart(2, '0')}-${safe}`;
      await writeFile(path.join(artifacts, `${prefix}-window.png`), png);
      const stats = await analyse(png, box);
      const file = path.join(artifacts, `${prefix}.png`);
      await writeFile(file, stats.cropPng);
      const bodyBackground = await (await inner?.contentFrame())
        ?.evaluate(() => getComputedStyle(document.body).backgroundColor)
        .catch(() => undefined);
      const { cropPng: _png, ...rest } = stats;
      return { ...rest, bodyBackground, file: path.relative(repoRoot, file) };
    },

    async contextMenu({ file }) {
      const row = page.locator('.explorer-folders-view .monaco-list-row').filter({
        has: page.locator('.label-name').getByText(file, { exact: true }),
      });
      await row.first().waitFor({ state: 'visible', timeout: 20_000 });
      await page.keyboard.press('Escape'); // close whatever menu or hover might be open
      await row.first().click({ button: 'right' });
      const menu = page.locator('.context-view .monaco-menu');
      await menu.first().waitFor({ state: 'visible', timeout: 10_000 });
      await sleep(200); // menus fill in one frame after they appear
      const items = (await menu.first().locator('.action-item .action-label').allInnerTexts())
        .map((s) => s.trim())
        .filter(Boolean);
      await page.keyboard.press('Escape');
      await menu.first().waitFor({ state: 'hidden', timeout: 5000 }).catch(() => {});
      return { items };
    },
  };
}

/** Answers the suite's requests (suite/driver.ts) until stop() is called. */
function serveMailbox(mailbox, handlers) {
  let stopped = false;
  const handled = new Set();
  const loop = (async () => {
    while (!stopped) {
      const names = (await readdir(mailbox).catch(() => []))
        .filter((n) => /^request-\d+\.json$/.test(n) && !handled.has(n))
        .sort((a, b) => parseInt(a.slice(8), 10) - parseInt(b.slice(8), 10));
      for (const name of names) {
        handled.add(name);
        const id = name.slice(8, -5);
        let request;
        let reply;
        try {
          request = JSON.parse(await readFile(path.join(mailbox, name), 'utf8'));
          const handler = handlers[request.action];
          if (!handler) throw new Error(`unknown action "${request.action}"`);
          reply = { ok: true, ...(await handler(request)) };
          say(`driver: ${request.action} #${id} done`);
        } catch (err) {
          reply = { ok: false, error: String(err?.message ?? err) };
          say(`driver: ${request?.action ?? name} #${id} failed: ${reply.error}`);
        }
        await writeAtomic(path.join(mailbox, `result-${id}.json`), JSON.stringify(reply));
      }
      await sleep(150);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

// ---------------------------------------------------------------------------------------------- main

async function preflight() {
  const problems = [];
  if (!existsSync(serverEntry)) problems.push(`code-server is not installed (${path.relative(repoRoot, serverEntry)}): run scripts/setup-code-server.sh`);
  if (!existsSync(chromiumPath)) problems.push(`no Chromium at ${chromiumPath}: run scripts/setup-code-server.sh or set E2E_CHROMIUM`);
  if (vsixPath && !existsSync(vsixPath)) problems.push(`no package at ${vsixPath}: run npm run package -- --target linux-x64`);
  if (!existsSync(path.join(suitePath, 'index.js'))) problems.push(`the suite is not built (${path.relative(repoRoot, suitePath)}/index.js): run node test/vscode/build-suite.mjs`);
  const manifestFile = path.join(extensionPath, 'package.json');
  if (!existsSync(manifestFile)) {
    problems.push(`no extension at ${extensionPath} (package.json missing)`);
  } else {
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    if (vsixPath) {
      // The harness is an empty extension: the installed package is the one under test.
    } else if (!manifest.main) problems.push(`${manifestFile} has no "main"`);
    else if (!existsSync(path.resolve(extensionPath, manifest.main)) && !existsSync(path.resolve(extensionPath, `${manifest.main}.js`))) {
      problems.push(`the extension is not built (${manifest.main} missing): run node esbuild.config.mjs`);
    }
  }
  if (problems.length) throw new Fatal(problems.join('\n'));
}

async function main() {
  await rm(artifacts, { recursive: true, force: true });
  await mkdir(artifacts, { recursive: true });
  await preflight();

  const tmp = await mkdtemp(path.join(os.tmpdir(), 'imageto3d-e2e-'));
  const ws = path.join(tmp, 'workspace');
  const userData = path.join(tmp, 'user-data');
  const extensionsDir = path.join(tmp, 'extensions');
  const home = path.join(tmp, 'home');
  const mailbox = path.join(ws, MAILBOX_DIR);
  await Promise.all([createWorkspace(ws), writeUserSettings(userData), mkdir(extensionsDir), mkdir(home)]);
  await writeFile(path.join(mailbox, 'driver.json'), JSON.stringify({ pid: process.pid, actions: ['screenshot', 'contextMenu'] }));
  say(`workspace ${ws}`);
  if (vsixPath) {
    await installVsix({ vsix: vsixPath, userData, extensionsDir, home });
    await writeFile(path.join(mailbox, 'installed.json'), JSON.stringify({ extensionsDir, vsix: vsixPath }));
  }

  let server;
  let browser;
  let mailboxServer;
  // Tests seen passing or failing in the log so far: the count when the suite never reports (timeout).
  const progress = { passed: 0, failed: 0 };
  const outcome = { code: 1, totals: undefined, reason: '' };
  const globalTimer = { id: undefined };
  try {
    const port = await freePort();
    server = await startServer({ port, ws, userData, extensionsDir, home });
    say(`code-server up on 127.0.0.1:${port}`);

    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, deviceScaleFactor: 1 });
    const origin = `127.0.0.1:${port}`;
    const blocked = new Set();
    await context.route(
      (url) => /^(https?|wss?):$/.test(url.protocol) && url.host !== origin,
      (route) => {
        const host = new URL(route.request().url()).host;
        if (!blocked.has(host)) say(`blocked outside request to ${host}`);
        blocked.add(host);
        return route.abort('blockedbyclient');
      },
    );
    const page = await context.newPage();

    // WebGL2 must work before anything else is worth trying.
    const renderer = await page.evaluate(() => {
      const gl = document.createElement('canvas').getContext('webgl2');
      if (!gl) return null;
      const info = gl.getExtension('WEBGL_debug_renderer_info');
      return info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
    });
    if (!renderer) throw new Fatal(`Chromium ${browser.version()} has no WebGL2 with ${CHROMIUM_ARGS.join(' ')}`);
    say(`Chromium ${browser.version()}, WebGL2: ${renderer}`);

    const consoleLines = [];
    page.on('console', (msg) => consoleLines.push(`[${msg.type()}] ${msg.text()}`));
    page.on('pageerror', (err) => consoleLines.push(`[pageerror] ${err.stack ?? err}`));
    const pageCrashed = new Promise((resolve) => page.once('crash', () => resolve('crash')));

    let resolveExit;
    const exitPromise = new Promise((resolve) => (resolveExit = resolve));
    // The workbench's log, the extension host's console included (the suite's lines start with [suite]).
    // Everything goes to workbench-automation.log; errors are shortened on screen (stack traces of
    // failed marketplace lookups are noise offline).
    const automationLog = [];
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      const text = (Array.isArray(args) ? args : [args]).map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
      automationLog.push(`[${type}] ${text}`);
      const lines = text.split('\n');
      if (lines[0].startsWith('[suite] ✔ ')) progress.passed++;
      if (lines[0].startsWith('[suite] ✘ ')) progress.failed++;
      if (type === 'error' && !text.startsWith('[suite]')) {
        const shown = lines.slice(0, 3);
        if (lines.length > 3) shown.push(`  … ${lines.length - 3} more lines in ${path.relative(repoRoot, artifacts)}/workbench-automation.log`);
        for (const line of shown) console.log(`[vscode:error] ${line}`);
      } else {
        for (const line of lines) console.log(line);
      }
    });
    await page.exposeFunction('codeAutomationExit', async (code, logs) => {
      // logs: [{ relativePath, contents }] of the workbench's own log files
      for (const entry of Array.isArray(logs) ? logs : []) {
        const target = path.join(artifacts, 'workbench-logs', String(entry.relativePath).replace(/\.\.+/g, '_'));
        await mkdir(path.dirname(target), { recursive: true }).catch(() => {});
        await writeFile(target, String(entry.contents)).catch(() => {});
      }
      resolveExit(code);
    });

    mailboxServer = serveMailbox(mailbox, driverHandlers(page));

    const remote = (p) => `vscode-remote://${origin}${p}`;
    const payload = [
      ['extensionDevelopmentPath', remote(extensionPath)],
      ['extensionTestsPath', remote(suitePath)],
      ['skipWelcome', 'true'],
    ];
    const url = `http://${origin}/?folder=${encodeURIComponent(ws)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    say(`opening the workbench; suite ${path.relative(repoRoot, suitePath)}, extension ${extensionPath}`);
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });

    const remaining = timeoutMs - (Date.now() - t0);
    const timedOut = new Promise((resolve) => (globalTimer.id = setTimeout(() => resolve('timeout'), Math.max(remaining, 1000))));
    const serverDied = new Promise((resolve) => server.child.once('exit', () => resolve('server-exit')));
    const first = await Promise.race([exitPromise, timedOut, serverDied, pageCrashed]);

    const failures = {
      timeout: `global timeout: the suite did not finish within ${timeoutMs / 1000} s`,
      'server-exit': `code-server exited (${JSON.stringify(server.exited())})`,
      crash: 'the workbench page crashed',
    };
    if (first in failures) {
      outcome.reason = failures[first];
      await page.screenshot({ path: path.join(artifacts, 'at-failure.png'), timeout: 15_000 }).catch(() => {});
    } else {
      outcome.code = Number(first);
      say(`the suite exited with code ${outcome.code}`);
    }
    await writeFile(path.join(artifacts, 'browser-console.log'), consoleLines.join('\n') + '\n');
    await writeFile(path.join(artifacts, 'workbench-automation.log'), automationLog.join('\n') + '\n');
  } catch (err) {
    outcome.reason = err instanceof Fatal ? err.message : String(err?.stack ?? err);
  } finally {
    outcome.totals = await suiteTotals(ws, outcome.code, progress);
    clearTimeout(globalTimer.id);
    await mailboxServer?.stop();
    say('closing Chromium');
    await Promise.race([browser?.close().catch(() => {}), grace(15_000)]);
    say('stopping code-server');
    await server?.stop();
    say('stopped');
    await server?.saveLog().catch(() => {});
    // VS Code's server-side logs (extension host included) and the mailbox, for post-mortems.
    await cp(path.join(userData, 'logs'), path.join(artifacts, 'server-logs'), { recursive: true }).catch(() => {});
    await cp(mailbox, path.join(artifacts, 'mailbox'), { recursive: true }).catch(() => {});
    if (!opts.keep) await rm(tmp, { recursive: true, force: true }).catch(() => {});
    else say(`kept ${tmp}`);
  }
  return { ...outcome, server };
}

async function report({ totals, reason, server }) {
  const { passed, failed, skipped, tests } = totals;
  if (tests.length) {
    console.log('\nResults:');
    for (const t of tests) console.log(`  ${{ passed: '✔', failed: '✘', skipped: '-' }[t.state]} ${t.title}`);
  }
  if (reason) console.log(`\nFAILED: ${reason}`);
  if (failed > 0 && server) {
    console.log(`\n--- code-server log (tail; full log and VS Code logs in ${path.relative(repoRoot, artifacts)}/) ---`);
    console.log(server.tail.text());
    const exthost = await findFiles(path.join(artifacts, 'server-logs'), /exthost.*\.log$/);
    for (const file of exthost) {
      const text = (await readFile(file, 'utf8').catch(() => '')).trim().split('\n').slice(-40).join('\n');
      if (text) console.log(`\n--- ${path.relative(repoRoot, file)} (tail) ---\n${text}`);
    }
  }
  if (skipped > 0) console.log(`${skipped} skipped`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

async function findFiles(dir, pattern) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (entry.isFile() && pattern.test(entry.name)) out.push(path.join(entry.parentPath ?? entry.path, entry.name));
  }
  return out;
}

// Hard stop: whatever hangs (a wedged browser close, a stuck kill), the process ends.
setTimeout(() => {
  console.error(`[e2e] hard timeout (${timeoutMs / 1000 + 60} s): exiting`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}, timeoutMs + 60_000).unref();

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    console.error(`[e2e] ${sig}: stopping code-server and exiting`);
    process.exit(130); // the 'exit' handler kills code-server's process group; Playwright closes Chromium
  });
}

const outcome = await main().catch((err) => ({
  // Failed before anything started (preflight, workspace creation).
  totals: { passed: 0, failed: 1, skipped: 0, tests: [] },
  reason: err instanceof Fatal ? err.message : String(err?.stack ?? err),
}));
process.exitCode = await report(outcome);
