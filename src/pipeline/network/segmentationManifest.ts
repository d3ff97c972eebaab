/**
 * A background network's entry in models/manifest.json: its file, checksums and description. Apart
 * from segmentationSource.ts so a front end can describe a network without loading the model store.
 */
import manifestJson from '../../../models/manifest.json';
import type { SegmentationNetwork } from '../image/segmentation.js';
import { downloadableModel, parseManifest, type DownloadableManifestModel } from './store/manifest.js';

export function segmentationManifest(network: SegmentationNetwork): DownloadableManifestModel {
  const model = downloadableModel(parseManifest(manifestJson), network);
  if (model.kind !== 'segmentation' || model.files.length !== 1) {
    throw new Error(`models/manifest.json: ${network} must be a segmentation model with one file.`);
  }
  return model;
}
