import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/**
 * What the CUDA provider needs on the user's machine besides its own files, as text for the UI.
 *
 * The provider's libraries are only ONNX Runtime's half: they load NVIDIA's CUDA and cuDNN libraries,
 * which the extension cannot ship (NVIDIA's licence, and about 2 GB) and the user installs. When the
 * provider's own list of libraries can be read (its ELF DT_NEEDED entries) the text names exactly those,
 * with the CUDA and cuDNN major versions they imply; otherwise it gives the documented requirement.
 */

/**
 * ONNX Runtime's GPU packages have been built for CUDA 12.x with cuDNN 9.x since 1.19 (its CUDA execution
 * provider documentation), and onnxruntime-node 1.30's README still says CUDA v12. ONNX Runtime deprecated
 * its CUDA 12 packages in favour of CUDA 13 from 1.27 on, so the NuGet build may move; the versions read
 * from the installed provider take precedence over these.
 */
export const DOCUMENTED_CUDA_MAJOR = 12;
export const DOCUMENTED_CUDNN_MAJOR = 9;

/** Libraries every Linux system has; listing them as requirements would only hide the ones that matter. */
const SYSTEM_LIBRARY = /^(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux[-\w]*|libonnxruntime[\w]*)\.so(\.|$)/;

export interface CudaRequirements {
  /** CUDA major version the provider was built against, when it could be read from its libraries. */
  readonly cudaMajor: number | undefined;
  readonly cudnnMajor: number | undefined;
  /** NVIDIA libraries the provider loads by name (its DT_NEEDED entries, system libraries left out); empty when unknown. */
  readonly libraries: readonly string[];
  /**
   * Those of `libraries` (and the driver's libcuda.so.1) the system's loader would not find right now;
   * undefined when that could not be checked.
   */
  readonly unresolved: readonly string[] | undefined;
  /** Several lines of plain text for a notification or the output channel. */
  readonly text: string;
}

/** The driver's library: the provider reaches it through cudart rather than DT_NEEDED, and nothing works without it. */
export const DRIVER_LIBRARY = 'libcuda.so.1';

/**
 * `needed`: the provider's DT_NEEDED entries, or undefined when they could not be read. `unresolved`:
 * from findUnresolvedLibraries, when checked.
 */
export function describeRequirements(needed: readonly string[] | undefined, unresolved?: readonly string[]): CudaRequirements {
  const libraries = (needed ?? []).filter((name) => !SYSTEM_LIBRARY.test(name));
  const cudaMajor = majorOf(libraries, /^lib(?:cudart|cublas|cublasLt)\.so\.(\d+)$/);
  const cudnnMajor = majorOf(libraries, /^libcudnn\.so\.(\d+)$/);
  const cuda = cudaMajor ?? DOCUMENTED_CUDA_MAJOR;
  const cudnn = cudnnMajor ?? DOCUMENTED_CUDNN_MAJOR;

  const lines = [
    'The CUDA provider is in place. To run on the GPU this machine also needs:',
    `- an NVIDIA GPU with a driver recent enough for CUDA ${cuda} (nvidia-smi shows the newest CUDA version the driver supports);`,
  ];
  if (libraries.length > 0) {
    lines.push(
      `- the CUDA ${cuda}.x runtime libraries and cuDNN ${cudnn}.x. The provider loads: ${libraries.join(', ')}.`,
    );
  } else {
    lines.push(
      `- the CUDA ${cuda}.x runtime libraries (cudart, cuBLAS, cuBLASLt, cuFFT, cuRAND) and cuDNN ${cudnn}.x. ` +
        `These are the versions ONNX Runtime documents for its GPU packages; check its CUDA execution provider page for this release.`,
    );
  }
  lines.push(
    'They must be where the system\'s loader finds them: installed system-wide (registered with ldconfig), or their folders listed in LD_LIBRARY_PATH in the environment Image to 3D is started from.',
  );
  if (unresolved && unresolved.length > 0) {
    // ONNX Runtime's own error says only "Failed to load shared library", so this is the one place the user learns which.
    lines.push(`Not found on this machine right now: ${unresolved.join(', ')}.`);
  }
  lines.push('Until then, generation falls back to another provider (in the end the CPU) and logs why.');
  return { cudaMajor, cudnnMajor, libraries, unresolved, text: lines.join('\n') };
}

/**
 * Which of `names` the dynamic loader would not find: looked up in `extraDirs` (the provider's own
 * folder, which its $ORIGIN run path covers), LD_LIBRARY_PATH, the ldconfig cache and the default
 * folders, the places ld.so searches. Undefined when the ldconfig cache cannot be read, since a
 * verdict of "missing" would then be a guess. Best effort: the libraries' own dependencies are not followed.
 */
export async function findUnresolvedLibraries(names: readonly string[], extraDirs: readonly string[] = []): Promise<string[] | undefined> {
  const cached = await ldconfigLibraries();
  if (cached === undefined) return undefined;
  const envDirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d !== '');
  const dirs = [...extraDirs, ...envDirs, '/lib64', '/usr/lib64', '/lib', '/usr/lib'];
  const unresolved: string[] = [];
  for (const name of names) {
    if (cached.has(name)) continue;
    let found = false;
    for (const dir of dirs) {
      if (await fsp.stat(path.join(dir, name)).then((s) => s.isFile(), () => false)) {
        found = true;
        break;
      }
    }
    if (!found) unresolved.push(name);
  }
  return unresolved;
}

/** Sonames in the ldconfig cache, for this machine's word size; /sbin is not on every user's PATH. */
async function ldconfigLibraries(): Promise<Set<string> | undefined> {
  for (const command of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    const output = await new Promise<string | undefined>((resolve) => {
      execFile(command, ['-p'], { encoding: 'utf8', timeout: 10_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => resolve(err ? undefined : stdout));
    });
    if (output === undefined) continue;
    const names = new Set<string>();
    for (const line of output.split('\n')) {
      // "\tlibcudnn.so.9 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.9"
      const match = /^\s+(\S+)\s+\(([^)]*)\)/.exec(line);
      if (match && (process.arch !== 'x64' || match[2]!.includes('x86-64'))) names.add(match[1]!);
    }
    return names;
  }
  return undefined;
}

function majorOf(libraries: readonly string[], pattern: RegExp): number | undefined {
  for (const name of libraries) {
    const match = pattern.exec(name);
    if (match) return Number(match[1]);
  }
  return undefined;
}
