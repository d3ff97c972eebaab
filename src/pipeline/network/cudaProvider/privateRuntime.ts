/**
 * A private copy of onnxruntime-node for the CUDA provider, when the extension's own folder is
 * read-only.
 *
 * ONNX Runtime loads an execution provider's library only from the folder its own library was
 * loaded from; no session option points it elsewhere. A VS Code extension's folder is normally the
 * user's, but it can be read-only (an extension installed system-wide, a managed or immutable
 * install), and then the provider cannot go beside the bundled runtime. So the runtime comes to a
 * folder the user owns: this platform's part of onnxruntime-node (its JavaScript, its native folder
 * without any provider) and onnxruntime-common are copied into
 * <storage>/onnxruntime-node-<version>/node_modules/, the provider is installed into that copy, and
 * the pipeline process loads the copy (network/ort.ts, IMAGE_TO_3D_ONNXRUNTIME).
 *
 * The copy is built under a temporary name and renamed into place, so a half-made copy is never
 * found. It carries the same version as the bundled package; a copy of another version (left by an
 * older release of the extension) is not used.
 *
 * Finding a copy (for the host) is in ../runtimeLocation.ts.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { packageRootOf, privateRuntimeBinDir, privateRuntimeRoot, type RuntimePlatform } from '../runtimeLocation.js';

/**
 * Makes (or finds) the private copy of the onnxruntime-node package at `sourcePackageDir` under
 * `storageDir`; returns the copy's native folder. The source is only read; files of its native folder
 * for which `isProviderFile` holds stay behind (the copy gets its own install).
 */
export async function makePrivateRuntime(sourcePackageDir: string, storageDir: string, isProviderFile: (name: string) => boolean, host: RuntimePlatform = process): Promise<string> {
  const manifest = JSON.parse(await fsp.readFile(path.join(sourcePackageDir, 'package.json'), 'utf8')) as { name?: string; version?: string };
  if (manifest.name !== 'onnxruntime-node' || !manifest.version) throw new Error(`${sourcePackageDir} is not an onnxruntime-node package.`);
  const version = manifest.version;
  const root = privateRuntimeRoot(storageDir, version);
  const binDir = privateRuntimeBinDir(storageDir, version, host);
  if (await exists(path.join(binDir, 'onnxruntime_binding.node'))) return binDir;

  const building = `${root}.${process.pid}.tmp`;
  await fsp.rm(building, { recursive: true, force: true });
  try {
    const ortTarget = path.join(building, 'node_modules', 'onnxruntime-node');
    await fsp.mkdir(ortTarget, { recursive: true });
    await fsp.copyFile(path.join(sourcePackageDir, 'package.json'), path.join(ortTarget, 'package.json'));
    await fsp.cp(path.join(sourcePackageDir, 'dist'), path.join(ortTarget, 'dist'), { recursive: true });
    const sourceBin = path.join(sourcePackageDir, 'bin', 'napi-v6', host.platform, host.arch);
    const targetBin = path.join(ortTarget, 'bin', 'napi-v6', host.platform, host.arch);
    await fsp.mkdir(targetBin, { recursive: true });
    for (const name of await fsp.readdir(sourceBin)) {
      if (isProviderFile(name)) continue;
      await fsp.copyFile(path.join(sourceBin, name), path.join(targetBin, name));
    }
    // onnxruntime-node requires onnxruntime-common; from the copy, Node looks for it beside the copy.
    const common = packageRootOf(require.resolve('onnxruntime-common', { paths: [sourcePackageDir] }), 'onnxruntime-common');
    const commonTarget = path.join(building, 'node_modules', 'onnxruntime-common');
    await fsp.mkdir(commonTarget, { recursive: true });
    await fsp.copyFile(path.join(common, 'package.json'), path.join(commonTarget, 'package.json'));
    await fsp.cp(path.join(common, 'dist'), path.join(commonTarget, 'dist'), { recursive: true });
    await fsp.rm(root, { recursive: true, force: true });
    await fsp.rename(building, root);
  } catch (err) {
    await fsp.rm(building, { recursive: true, force: true });
    throw err;
  }
  return binDir;
}

async function exists(file: string): Promise<boolean> {
  return fsp.access(file).then(
    () => true,
    () => false,
  );
}
