// The suite's side of the browser-driver mailbox.
//
// The suite runs in VS Code's extension host and cannot see pixels or the workbench DOM; the harness
// that launched the browser (test/vscode/run.mjs) can. They talk through files in `<workspace>/.e2e/`:
//
//   driver.json          written by the harness before the workbench loads: a driver is listening
//   request-<n>.json     written (atomically, by rename) by the suite: { id, action, ...params }
//   result-<n>.json      written (atomically) by the harness: { ok: true, ...payload } | { ok: false, error }
//
// Under @vscode/test-electron (runElectron.mjs) there is no driver.json, and UiDriver.find returns
// undefined: the browser-only checks are skipped there, with the reason in the log.

import * as fs from 'node:fs';
import * as path from 'node:path';

export const MAILBOX_DIR = '.e2e';

export interface ScreenshotResult {
  /** Size of the cropped webview area in pixels. */
  width: number;
  height: number;
  /** Pixels that differ from the panel's background colour (the most common colour on the crop's border). */
  nonBackgroundPixels: number;
  /** Non-background pixels that are clearly coloured (max − min channel ≥ 24), not grey UI, text or grid. */
  chromaticPixels: number;
  /** Distinct RGB values among the non-background pixels. */
  distinctColours: number;
  background: [number, number, number];
  /** Where the harness saved the cropped PNG. */
  file: string;
}

export interface ContextMenuResult {
  /** Labels of the context menu's entries, in order, separators left out. */
  items: string[];
}

interface DriverActions {
  screenshot: { params: { name: string; extensionId: string }; result: ScreenshotResult };
  contextMenu: { params: { file: string }; result: ContextMenuResult };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Shared by every UiDriver: each suite finds its own, and request numbers must never repeat in one mailbox. */
let nextRequestId = 1;

export class UiDriver {
  private constructor(private readonly mailbox: string) {}

  /** The driver listening on `<workspace>/.e2e`, or undefined when none was started. */
  static find(workspace: string): UiDriver | undefined {
    const mailbox = path.join(workspace, MAILBOX_DIR);
    return fs.existsSync(path.join(mailbox, 'driver.json')) ? new UiDriver(mailbox) : undefined;
  }

  async request<A extends keyof DriverActions>(
    action: A,
    params: DriverActions[A]['params'],
    timeoutMs = 60_000,
  ): Promise<DriverActions[A]['result']> {
    const id = nextRequestId++;
    const requestFile = path.join(this.mailbox, `request-${id}.json`);
    const resultFile = path.join(this.mailbox, `result-${id}.json`);
    fs.writeFileSync(`${requestFile}.tmp`, JSON.stringify({ id, action, ...params }));
    fs.renameSync(`${requestFile}.tmp`, requestFile);

    const deadline = Date.now() + timeoutMs;
    while (!fs.existsSync(resultFile)) {
      if (Date.now() > deadline) {
        throw new Error(`browser driver did not answer "${action}" request ${id} within ${timeoutMs} ms`);
      }
      await sleep(100);
    }
    const reply = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as
      | ({ ok: true } & DriverActions[A]['result'])
      | { ok: false; error: string };
    if (!reply.ok) throw new Error(`browser driver failed "${action}": ${reply.error}`);
    return reply;
  }
}
