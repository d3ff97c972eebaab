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
  /** Several lines of plain text for a notification or the output channel. */
  readonly text: string;
}

/** `needed`: the provider's DT_NEEDED entries, or undefined when they could not be read. */
export function describeRequirements(needed: readonly string[] | undefined): CudaRequirements {
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
    'They must be where the system\'s loader finds them: installed system-wide (registered with ldconfig), or their folders listed in LD_LIBRARY_PATH in the environment VS Code is started from.',
    'Until then, generation falls back to another provider (in the end the CPU) and the Image to 3D output channel names the library that could not be loaded.',
  );
  return { cudaMajor, cudnnMajor, libraries, text: lines.join('\n') };
}

function majorOf(libraries: readonly string[], pattern: RegExp): number | undefined {
  for (const name of libraries) {
    const match = pattern.exec(name);
    if (match) return Number(match[1]);
  }
  return undefined;
}
