/**
 * Where the background-removal network comes from: the user's own ONNX file, or rembg's published file
 * for the chosen network, downloaded into the model store on first use (progress, resume, mirrors,
 * the publisher's MD5 checked once, the SHA-256 recorded and checked before each use), like TripoSR.
 */
import { UserError } from '../errors.js';
import type { ProgressSink } from '../progress.js';
import type { SegmentationNetwork } from '../image/segmentation.js';
import { segmentationManifest } from './segmentationManifest.js';
import { formatBytes } from './store/progressFormat.js';
import { downloadForRun, storeFor, storeProgress } from './store/modelStore.js';

export type SegmentationModelSpec =
  /** An ONNX file of the named network's family, used as it is. */
  | { readonly kind: 'file'; readonly file: string; readonly network: SegmentationNetwork }
  /** rembg's file for the network, downloaded into storeDir on first use. */
  | {
      readonly kind: 'managed';
      readonly storeDir: string;
      readonly network: SegmentationNetwork;
      /** False: a missing download is a 'background-model-missing' error the front end can ask about. */
      readonly allowDownload: boolean;
      /** Replacement URLs by file name (a mirror). */
      readonly urlOverrides?: Readonly<Record<string, string>>;
    };

export { segmentationManifest };

export interface PrepareSegmentationOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressSink;
  readonly log?: (line: string) => void;
}


/** The ONNX file to load for `spec`, downloading it first when allowed. */
export async function prepareSegmentationModel(spec: SegmentationModelSpec, options: PrepareSegmentationOptions = {}): Promise<string> {
  if (spec.kind === 'file') return spec.file;
  const entry = segmentationManifest(spec.network);
  const fileName = entry.files[0]!.name;
  const store = storeFor(spec.storeDir, spec.network);
  const report = options.onProgress ?? ((): void => undefined);
  const status = await store.status();
  if (status.state === 'missing' || status.state === 'partial') {
    if (!spec.allowDownload) {
      throw new UserError(
        status.state === 'partial'
          ? `The ${spec.network} background-removal network is only partly downloaded (${formatBytes(status.bytes)} in ${store.dir}).`
          : `Removing the background needs the ${spec.network} network, which is not downloaded yet.`,
        [
          { action: 'allow-download' },
          ', point at a file you have (',
          { option: 'backgroundModelPath' },
          '), or keep the background (',
          { option: 'background', value: 'keep' },
          ').',
        ],
        'background-model-missing',
      );
    }
    options.log?.(`Downloading the ${spec.network} background-removal network into ${store.dir}.`);
    await downloadForRun(store, entry, { urlOverrides: spec.urlOverrides, signal: options.signal, report }, [
      'Without a network, point at a copy of the file you have (',
      { option: 'backgroundModelPath' },
      ') or keep the background (',
      { option: 'background', value: 'keep' },
      ').',
    ]);
  }
  await store.verify({ signal: options.signal, onProgress: (p) => report(storeProgress(p)) });
  return store.filePath(fileName);
}
