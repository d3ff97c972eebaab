/**
 * The preview: draws the mesh the host sends with three.js, orbit controls, and the mesh's figures,
 * with the image the network took beside it when there is one. Runs in the webview's browser context;
 * talks to the host only through src/shared/protocol.ts.
 */
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import { homeView, PREVIEW_FIELD_OF_VIEW, type HomeView } from './homeView.js';
import { parseHostToWebview, type PreviewInfo, type PreviewMesh, type WebviewToHost } from '../src/shared/protocol.js';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const post = (message: WebviewToHost): void => vscode.postMessage(message);

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`Missing element #${id}`);
  return found as T;
}

const viewport = element<HTMLDivElement>('viewport');
const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
renderer.setPixelRatio(window.devicePixelRatio);
viewport.appendChild(renderer.domElement);

const scene = new THREE.Scene();
const camera = new THREE.PerspectiveCamera(PREVIEW_FIELD_OF_VIEW, 1, 0.001, 100);
const controls = new OrbitControls(camera, renderer.domElement);
controls.enableDamping = true;

scene.add(new THREE.HemisphereLight(0xffffff, 0x404050, 1.6));
const keyLight = new THREE.DirectionalLight(0xffffff, 1.8);
keyLight.position.set(1, 2, 3);
scene.add(keyLight);

const material = new THREE.MeshStandardMaterial({ vertexColors: true, roughness: 0.8, metalness: 0 });
let model: THREE.Mesh | undefined;
let grid: THREE.GridHelper | undefined;
let home: HomeView | undefined;

function themeBackground(): THREE.Color {
  const css = getComputedStyle(document.body).getPropertyValue('--vscode-editor-background').trim();
  try {
    return new THREE.Color(css || '#1e1e1e');
  } catch {
    return new THREE.Color('#1e1e1e');
  }
}

function resize(): void {
  const { clientWidth, clientHeight } = viewport;
  renderer.setSize(clientWidth, clientHeight, false);
  camera.aspect = clientWidth / Math.max(1, clientHeight);
  camera.updateProjectionMatrix();
}

function show(mesh: PreviewMesh, info: PreviewInfo): void {
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute('position', new THREE.BufferAttribute(mesh.positions, 3));
  geometry.setAttribute('normal', new THREE.BufferAttribute(mesh.normals, 3));
  geometry.setAttribute('color', new THREE.BufferAttribute(mesh.colors, 3));
  geometry.setIndex(new THREE.BufferAttribute(mesh.indices, 1));
  geometry.computeBoundingSphere();
  geometry.computeBoundingBox();

  if (model) {
    scene.remove(model);
    model.geometry.dispose();
  }
  model = new THREE.Mesh(geometry, material);
  scene.add(model);

  const box = geometry.boundingBox ?? new THREE.Box3();
  const size = box.getSize(new THREE.Vector3());
  const radius = geometry.boundingSphere?.radius ?? 1;
  if (grid) scene.remove(grid);
  grid = new THREE.GridHelper(radius * 4, 20, 0x888888, 0x444444);
  grid.position.y = box.min.y;
  scene.add(grid);

  home = homeView(box, radius, camera.fov, camera.aspect);
  camera.near = home.near;
  camera.far = home.far;
  resetView();
  showInfo(info, size);
}

function resetView(): void {
  if (!home) return;
  camera.position.copy(home.position);
  controls.target.copy(home.target);
  camera.updateProjectionMatrix();
  controls.update();
}

function formatNumber(value: number, digits = 1): string {
  return value.toLocaleString('en', { maximumFractionDigits: digits });
}

function showInfo(info: PreviewInfo, _size: THREE.Vector3): void {
  const m = info.metrics;
  element('title').textContent = info.title;
  const rows: [string, string][] = [
    ['Vertices', formatNumber(m.vertices, 0)],
    ['Faces', formatNumber(m.faces, 0)],
    ['Components', formatNumber(m.components, 0)],
    ['Watertight', m.watertight ? 'yes' : 'no'],
    ['Size (mm)', m.sizeMm.map((v) => formatNumber(v)).join(' × ')],
    ['Volume (cm³)', formatNumber(m.volumeMm3 / 1000, 2)],
    ['Area (cm²)', formatNumber(m.areaMm2 / 100, 2)],
    ...info.details.map(([label, value]): [string, string] => [label, value]),
    ['Time', `${formatNumber(info.seconds, 1)} s`],
  ];
  const table = element<HTMLTableElement>('metrics');
  table.replaceChildren(
    ...rows.map(([label, value]) => {
      const row = document.createElement('tr');
      const th = document.createElement('th');
      th.textContent = label;
      const td = document.createElement('td');
      td.textContent = value;
      row.append(th, td);
      return row;
    }),
  );
  element('notes').textContent = info.notes.join('\n');
  element('files').textContent = info.files.join('\n');
}

/** The blob: URL of the input image now shown; revoked when replaced, so its bytes can be freed. */
let inputUrl: string | undefined;

/**
 * Shows the network's input as a thumbnail (a blob: URL, which the page's CSP allows for images), or
 * hides it when the message has none; tells the host once the browser has decoded it.
 */
async function showInput(png: Uint8Array | undefined): Promise<void> {
  const figure = element<HTMLElement>('input');
  const image = element<HTMLImageElement>('input-image');
  if (inputUrl) URL.revokeObjectURL(inputUrl);
  inputUrl = undefined;
  setEnlarged(false);
  if (!png) {
    figure.hidden = true;
    image.removeAttribute('src');
    return;
  }
  const url = URL.createObjectURL(new Blob([png.slice()], { type: 'image/png' }));
  inputUrl = url;
  image.src = url;
  figure.hidden = false;
  try {
    await image.decode();
  } catch {
    if (inputUrl !== url) return; // replaced by a newer image meanwhile
    figure.hidden = true;
    post({ type: 'error', message: 'The network input image could not be decoded.' });
    return;
  }
  if (inputUrl === url) post({ type: 'inputShown', width: image.naturalWidth, height: image.naturalHeight });
}

function setEnlarged(enlarged: boolean): void {
  element('input').classList.toggle('enlarged', enlarged);
  const toggle = element('input-toggle');
  toggle.setAttribute('aria-expanded', String(enlarged));
  toggle.title = enlarged ? 'Shrink' : 'Enlarge';
}

let renderedReported = false;
function frame(): void {
  requestAnimationFrame(frame);
  controls.update();
  renderer.render(scene, camera);
  if (model && !renderedReported) {
    renderedReported = true;
    post({ type: 'rendered', triangles: (model.geometry.index?.count ?? 0) / 3 });
  }
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const message = parseHostToWebview(event.data);
  if (!message) {
    post({ type: 'error', message: 'The preview received a malformed message.' });
    return;
  }
  renderedReported = false;
  show(message.mesh, message.info);
  void showInput(message.inputPng);
});

element('input-toggle').addEventListener('click', () => setEnlarged(!element('input').classList.contains('enlarged')));
window.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') setEnlarged(false);
});

element('reset').addEventListener('click', resetView);
element('wireframe').addEventListener('change', (event) => {
  material.wireframe = (event.target as HTMLInputElement).checked;
});
new ResizeObserver(resize).observe(viewport);
scene.background = themeBackground();
new MutationObserver(() => (scene.background = themeBackground())).observe(document.body, {
  attributes: true,
  attributeFilter: ['class'],
});
resize();
frame();
post({ type: 'ready' });
