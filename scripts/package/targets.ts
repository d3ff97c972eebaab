/**
 * The platform packages `npm run package` builds, and what each may hold: the one place the targets,
 * their native folders and their size budgets are written down. The packaging script, the VSIX
 * content test and the README's Install section all read this.
 */

export type VsceTarget = 'linux-x64' | 'linux-arm64' | 'win32-x64' | 'win32-arm64' | 'darwin-x64' | 'darwin-arm64';

export interface PackageTarget {
  /** VS Code's name for the platform (`vsce package --target`). */
  readonly target: VsceTarget;
  /** npm's names for it (`npm install --os --cpu --libc`), which pick sharp's prebuilt packages. */
  readonly os: 'linux' | 'win32' | 'darwin';
  readonly cpu: 'x64' | 'arm64';
  /** VS Code's linux-x64 and linux-arm64 are glibc builds (Alpine has its own targets). */
  readonly libc?: 'glibc';
  /**
   * onnxruntime-node's version for this target. Releases after 1.23 ship no Intel-mac binary, so the
   * darwin-x64 package carries 1.23.2, the last that does; undefined means the repository's locked one.
   */
  readonly onnxruntimeVersion?: string;
  /**
   * Largest VSIX, in bytes, the script accepts: the size measured when the budget was set (0.1.0:
   * 27.7, 20.5, 38.8, 39.3, 22.0, 36.0 MB in the order below) plus about a quarter for growth, far
   * under Open VSX's 256 MiB. ONNX Runtime is most of each package; the Windows ones carry DirectML.
   */
  readonly budgetBytes: number;
}

const MB = 1_000_000;

export const PACKAGE_TARGETS: readonly PackageTarget[] = [
  { target: 'linux-x64', os: 'linux', cpu: 'x64', libc: 'glibc', budgetBytes: 35 * MB },
  { target: 'linux-arm64', os: 'linux', cpu: 'arm64', libc: 'glibc', budgetBytes: 27 * MB },
  { target: 'win32-x64', os: 'win32', cpu: 'x64', budgetBytes: 50 * MB },
  { target: 'win32-arm64', os: 'win32', cpu: 'arm64', budgetBytes: 50 * MB },
  { target: 'darwin-x64', os: 'darwin', cpu: 'x64', onnxruntimeVersion: '1.23.2', budgetBytes: 28 * MB },
  { target: 'darwin-arm64', os: 'darwin', cpu: 'arm64', budgetBytes: 45 * MB },
];

/** Open VSX refuses uploads above this (256 MiB); the budgets stay far under it. */
export const OPEN_VSX_UPLOAD_CAP_BYTES = 256 * 1024 * 1024;

/** The npm packages the bundles leave out (esbuild.config.mjs externals) and load at run time. */
export const RUNTIME_PACKAGES = ['onnxruntime-node', 'sharp', 'draco3dgltf'] as const;

/** Where packaging works and where the VSIX files land (both ignored by git). */
export const PACKAGE_WORK_DIR = '.cache/package';
export const PACKAGE_OUT_DIR = 'out/vsix';

export function vsixName(name: string, version: string, target: VsceTarget): string {
  return `${name}-${target}-${version}.vsix`;
}
