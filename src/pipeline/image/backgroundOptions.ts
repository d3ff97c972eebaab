/**
 * The background stage's choices and their defaults, in a module that loads no native code: the
 * extension host reads them for its settings without pulling in ONNX Runtime (background.ts runs the
 * networks, in the worker).
 */
import type { SegmentationNetwork } from './segmentation.js';

/** `auto`: remove unless the image already has a real alpha channel (TripoSR's rule); `remove`: always; `keep`: never. */
export type BackgroundMode = 'auto' | 'remove' | 'keep';
export const BACKGROUND_MODES: readonly BackgroundMode[] = Object.freeze(['auto', 'remove', 'keep'] as const);
export const DEFAULT_BACKGROUND_MODE: BackgroundMode = 'auto';

/** Measured, not guessed: see the README's background section and bench/background.bench.ts. */
export const DEFAULT_SEGMENTATION_NETWORK: SegmentationNetwork = 'u2net';
