/**
 * The image stage's choices and their defaults (background removal, framing), in a module that loads
 * no native code and nothing heavy: the extension host reads them for its settings without pulling in
 * ONNX Runtime or the graph code (background.ts and frame.ts do the work, in the worker).
 */
import type { SegmentationNetwork } from './segmentation.js';

/** `auto`: remove unless the image already has a real alpha channel (TripoSR's rule); `remove`: always; `keep`: never. */
export type BackgroundMode = 'auto' | 'remove' | 'keep';
export const BACKGROUND_MODES: readonly BackgroundMode[] = Object.freeze(['auto', 'remove', 'keep'] as const);
export const DEFAULT_BACKGROUND_MODE: BackgroundMode = 'auto';

/** Measured, not guessed: see the README's background section and bench/background.bench.ts. */
export const DEFAULT_SEGMENTATION_NETWORK: SegmentationNetwork = 'u2net';

/** Share of the square frame the object's longer side fills (TripoSR's default foreground ratio). */
export const FOREGROUND_RATIO = 0.85;
/**
 * The ratios the front ends offer: TripoSR's own app offers 0.5 to 1. The library takes any ratio in
 * (0, 1] that keeps the canvas within bounds.
 */
export const FOREGROUND_RATIO_RANGE = Object.freeze({ min: 0.5, max: 1 } as const);
