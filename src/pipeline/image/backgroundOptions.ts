/**
 * The image stage's choices (background removal), in a module that loads no native code and nothing
 * heavy: the extension host reads them for its settings without pulling in ONNX Runtime or the graph
 * code (background.ts and frame.ts do the work, in the worker). Their defaults and ranges are in
 * ../generateOptions.ts with every other option's.
 */

/** `auto`: remove unless the image already has a real alpha channel (TripoSR's rule); `remove`: always; `keep`: never. */
export type BackgroundMode = 'auto' | 'remove' | 'keep';
export const BACKGROUND_MODES: readonly BackgroundMode[] = Object.freeze(['auto', 'remove', 'keep'] as const);

/** The rembg networks that can remove it; segmentation.ts holds what each expects. */
export type SegmentationNetwork = 'u2net' | 'u2netp' | 'isnet-general-use' | 'birefnet-general-lite';
export const SEGMENTATION_NETWORKS: readonly SegmentationNetwork[] = Object.freeze(['u2net', 'u2netp', 'isnet-general-use', 'birefnet-general-lite'] as const);
