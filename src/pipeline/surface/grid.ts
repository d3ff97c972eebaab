import { throwIfAborted } from '../progress.js';

/** Densities at world-space points (x, y, z interleaved), one per point. */
export type DensityQuery = (points: Float32Array, signal?: AbortSignal) => Promise<Float32Array>;

export interface SampleGridOptions {
  /** Half the edge of the sampled cube, in world units. */
  radius?: number;
  /** Points per query call; bounds the memory a single network call needs. */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
}

const DEFAULT_RADIUS = 0.87;
const DEFAULT_BATCH = 262144;

/** One place for the index-to-world mapping, so sampling and mesh placement agree bit for bit. */
function coordinate(index: number, resolution: number, radius: number): number {
  return resolution > 1 ? (index / (resolution - 1)) * 2 * radius - radius : -radius;
}

/**
 * Samples `query` on linspace(-radius, radius, resolution) along each axis. The result is indexed
 * (i * resolution + j) * resolution + k with x slowest and z fastest, as `marchingCubes` expects.
 */
export async function sampleDenseGrid(query: DensityQuery, resolution: number, options: SampleGridOptions = {}): Promise<Float32Array> {
  if (!Number.isInteger(resolution) || resolution < 1) throw new RangeError(`sampleDenseGrid: bad resolution ${resolution}`);
  const radius = options.radius ?? DEFAULT_RADIUS;
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`sampleDenseGrid: bad batch size ${batchSize}`);
  const { signal, onProgress } = options;

  const axis = new Float32Array(resolution);
  for (let i = 0; i < resolution; i++) axis[i] = coordinate(i, resolution, radius);

  const total = resolution * resolution * resolution;
  const plane = resolution * resolution;
  const densities = new Float32Array(total);
  for (let start = 0; start < total; start += batchSize) {
    throwIfAborted(signal);
    const count = Math.min(batchSize, total - start);
    const points = new Float32Array(3 * count);
    for (let p = 0; p < count; p++) {
      const index = start + p;
      const i = Math.floor(index / plane);
      const rest = index - i * plane;
      const j = Math.floor(rest / resolution);
      const k = rest - j * resolution;
      points[3 * p] = axis[i]!;
      points[3 * p + 1] = axis[j]!;
      points[3 * p + 2] = axis[k]!;
    }
    const values = await query(points, signal);
    if (values.length !== count) {
      throw new Error(`sampleDenseGrid: query returned ${values.length} densities for ${count} points`);
    }
    densities.set(values, start);
    onProgress?.((start + count) / total);
  }
  throwIfAborted(signal);
  return densities;
}

/** Maps marching-cubes positions from grid index units to world units (TripoSR's mapping); returns a new array. */
export function gridIndexToWorld(positions: Float32Array, resolution: number, radius = DEFAULT_RADIUS): Float32Array {
  const out = new Float32Array(positions.length);
  for (let i = 0; i < positions.length; i++) out[i] = coordinate(positions[i]!, resolution, radius);
  return out;
}
