import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { isWebviewToHost, type HostToWebview, type PreviewInfo, type PreviewMesh } from '../shared/protocol.js';

export interface PreviewState {
  readonly rendered: boolean;
  readonly triangles: number;
  /** The network's input image as the webview decoded and showed it; absent until then, or when there is none. */
  readonly inputImage?: { readonly width: number; readonly height: number };
}

/**
 * One webview panel per generated model. The host keeps the mesh so the panel can be redrawn when the
 * webview reloads (it is not kept alive while hidden, which would hold its GPU memory).
 */
export class PreviewPanel {
  static readonly viewType = 'imageTo3d.preview';
  private static latest: PreviewPanel | undefined;
  private state: PreviewState = { rendered: false, triangles: 0 };
  private readonly disposables: vscode.Disposable[] = [];

  /** `inputPng`: the image the network took, shown beside the mesh (a generation has one, a conversion none). */
  static show(
    extensionUri: vscode.Uri,
    mesh: PreviewMesh,
    info: PreviewInfo,
    log: (line: string) => void,
    inputPng?: Uint8Array,
  ): PreviewPanel {
    const panel = vscode.window.createWebviewPanel(
      PreviewPanel.viewType,
      `3D: ${info.title}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')] },
    );
    const preview = new PreviewPanel(panel, extensionUri, mesh, info, log, inputPng);
    PreviewPanel.latest = preview;
    return preview;
  }

  static latestState(): PreviewState | undefined {
    return PreviewPanel.latest?.state;
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly mesh: PreviewMesh,
    private readonly info: PreviewInfo,
    private readonly log: (line: string) => void,
    private readonly inputPng: Uint8Array | undefined,
  ) {
    panel.webview.html = html(panel.webview, extensionUri);
    panel.webview.onDidReceiveMessage((message: unknown) => this.onMessage(message), undefined, this.disposables);
    panel.onDidDispose(() => this.dispose(), undefined, this.disposables);
  }

  private onMessage(message: unknown): void {
    if (!isWebviewToHost(message)) {
      this.log('Ignored a malformed message from the preview.');
      return;
    }
    switch (message.type) {
      case 'ready': {
        const show: HostToWebview = { type: 'show', mesh: this.mesh, info: this.info, ...(this.inputPng ? { inputPng: this.inputPng } : {}) };
        void this.panel.webview.postMessage(show);
        return;
      }
      case 'rendered':
        this.state = { ...this.state, rendered: true, triangles: message.triangles };
        return;
      case 'inputShown':
        this.state = { ...this.state, inputImage: { width: message.width, height: message.height } };
        return;
      case 'error':
        this.log(`Preview: ${message.message}`);
        return;
    }
  }

  private dispose(): void {
    if (PreviewPanel.latest === this) PreviewPanel.latest = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function html(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.css'));
  // No inline script or style: scripts need the nonce, styles come from our own file. Images: the
  // network's input arrives as PNG bytes and is shown through a blob: URL the page's own script mints
  // from them; data: is not allowed (nothing needs it, and it would let any markup carry an image).
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} blob:`,
    `style-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>3D preview</title>
</head>
<body>
<div id="viewport"></div>
<aside id="panel">
  <h1 id="title">Loading…</h1>
  <div class="actions">
    <vscode-button id="reset" secondary>Reset view</vscode-button>
    <vscode-checkbox id="wireframe" label="Wireframe"></vscode-checkbox>
  </div>
  <table id="metrics"></table>
  <p id="notes"></p>
  <pre id="files"></pre>
</aside>
<figure id="input" hidden>
  <button id="input-toggle" type="button" title="Enlarge" aria-expanded="false"><img id="input-image" alt="The image the network took"></button>
  <figcaption>What the network saw</figcaption>
</figure>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
