import { throwIfAborted } from '../progress.js';
import type { DensityQuery } from './grid.js';

/**
 * Coarse-to-fine sampling of a density field for marching cubes.
 *
 * The decoder dominates the cost of surface extraction, yet almost every point of a dense grid lies
 * far from the surface, where only its side of `iso` matters. So the grid is sampled on a lattice of
 * step `coarseStep`, and each cell (block) of that lattice whose corners straddle `iso` or come within
 * `margin` of it is marked; marked cells and their 26 neighbours are split in two along each axis and
 * sampled at the halved step, and so on down to step 1. The neighbour ring and the value margin are
 * what catch features thinner than a cell (a wall between two samples pulls them towards `iso`).
 *
 * Points never queried get a trilinear interpolation of the corners of the finest unrefined cell
 * holding them, clamped to the corners' range: those corners are all on one side of `iso` (at least
 * `margin` away), so the fill never invents a surface.
 *
 * Local repair, never a global fallback. A trained network's field is steep at thin walls, where a
 * surface can graze between coarse corners that all read far from `iso`. Every point queried inside
 * a refined but unmarked cell (one the fill would have trusted) is checked against that cell's
 * corners; one on the other side of `iso` (a "surprise") proves a feature hides there, so that cell
 * and its 26 neighbours are sampled at full resolution, and so are the neighbours of every newly
 * sampled cell that holds a surprise of its own, until none does. Then every grid edge that changes
 * side with an unqueried end has that end queried, following the surface out of the refined region
 * edge by edge, and a final band pass queries every point next to a voxel the surface crosses (and
 * follows any new crossing), so each edge marching cubes puts a vertex on, and each edge beside it,
 * has two true end values. Nothing is ever queried twice, so the cost is bounded by dense sampling.
 *
 * The guarantee, and its limit: wherever the surface comes within reach of the refined region (a
 * marked cell, its ring, a repaired cell, or an edge next to a queried crossing), the mesh is the
 * dense one. What can be missed is a piece of the surface lying wholly inside cells whose every
 * sample (the first lattice's corners and any refinement around them) stayed on one side by more
 * than `margin`, and not touching any refined cell: a detached piece that fits between the first
 * level's samples, `coarseStep` grid steps apart. The mesh stage removes such small pieces as
 * floaters anyway; test/pipeline/coarseToFine.test.ts checks both sides of that statement.
 */

export interface CoarseToFineOptions {
  /** Half the edge of the sampled cube, in world units (as sampleDenseGrid). */
  radius?: number;
  /** Step of the first lattice in grid points; a power of two. */
  coarseStep?: number;
  /**
   * Cells with a corner value within this distance of `iso` are refined even when they do not
   * straddle it. Larger is safer against thin features and costs more queries.
   */
  margin?: number;
  /** Points per query call; bounds the memory a single network call needs. */
  batchSize?: number;
  signal?: AbortSignal;
  /** Fraction of the whole operation done, non-decreasing, ending at exactly 1. */
  onProgress?: (fraction: number) => void;
}

export interface CoarseToFineResult {
  /** Same layout and world mapping as sampleDenseGrid's result. */
  field: Float32Array;
  /** Points actually passed to `query`. */
  queries: number;
  /** What each refined level revealed, coarse to fine. */
  levels: LevelStats[];
  /** What the local repair, the surface following and the band pass cost. */
  repair: RepairStats;
}

export interface RepairStats {
  /** Surprises found: queried points on the other side of `iso` than a trusted cell's corners. */
  surprises: number;
  /** Cells (of the level where each surprise was found) sampled at full resolution because of them. */
  repairedCells: number;
  /** Points those cells cost. */
  repairQueries: number;
  /** Points queried following the surface across edges out of the refined region. */
  followQueries: number;
  /** Points queried by the band pass around the voxels the surface crosses. */
  bandQueries: number;
}

const DEFAULT_RADIUS = 0.87;
const DEFAULT_BATCH = 262144;
const DEFAULT_COARSE_STEP = 8;

/** Half of |iso| (or 1 around iso 0): for TripoSR's densities around 25 that is [12.5, 37.5]. */
export function defaultMargin(iso: number): number {
  return Math.max(0.5 * Math.abs(iso), 1);
}

/** Same expression as grid.ts's coordinate(), so both samplers produce bit-identical points. */
function coordinate(index: number, resolution: number, radius: number): number {
  return resolution > 1 ? (index / (resolution - 1)) * 2 * radius - radius : -radius;
}

export interface LevelStats {
  /** Step of the level these figures are for. */
  h: number;
  /** Share of the coarser level's cells that were refined into this one. */
  activeShare: number;
  /** Points of this level tested against the coarser level's trilinear prediction. */
  tested: number;
  /** Largest |value - prediction| among them, in units of `margin`. */
  maxError: number;
  /** Largest move towards iso, relative to the predicted distance to iso (or margin, if larger). */
  maxCloseness: number;
  /** Points on the other side of iso than the corners of an unmarked (trusted) coarser cell. */
  surprises: number;
}

/** Point states: not yet queried, queued, queried; and queried with the band around it queued. */
const PENDING = 1;
const KNOWN = 2;
const BANDED = 3;

/**
 * Samples `query` like sampleDenseGrid (same points, layout and world mapping; queried points get
 * bit-identical values) but only near the `iso` surface; the rest is filled on the side of `iso` its
 * neighbourhood is on. Throws CancelledError between batches when `signal` aborts.
 */
export async function sampleCoarseToFine(
  query: DensityQuery,
  resolution: number,
  iso: number,
  options: CoarseToFineOptions = {},
): Promise<CoarseToFineResult> {
  const N = resolution;
  if (!Number.isInteger(N) || N < 2) throw new RangeError(`sampleCoarseToFine: bad resolution ${resolution}`);
  const radius = options.radius ?? DEFAULT_RADIUS;
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`sampleCoarseToFine: bad batch size ${batchSize}`);
  const coarseStep = options.coarseStep ?? DEFAULT_COARSE_STEP;
  if (!Number.isInteger(coarseStep) || coarseStep < 1 || (coarseStep & (coarseStep - 1)) !== 0) {
    throw new RangeError(`sampleCoarseToFine: coarseStep must be a power of two, got ${coarseStep}`);
  }
  const margin = options.margin ?? defaultMargin(iso);
  if (!(margin >= 0)) throw new RangeError(`sampleCoarseToFine: bad margin ${margin}`);
  const { signal, onProgress } = options;
  throwIfAborted(signal);

  const last = N - 1;
  const plane = N * N;
  const total = N * plane;
  const axis = new Float32Array(N);
  for (let i = 0; i < N; i++) axis[i] = coordinate(i, N, radius);

  const field = new Float32Array(total);
  const state = new Uint8Array(total);
  let queries = 0;

  // Progress: how many points a level will need is only known once the level above is done, so each
  // level gets a fixed share, doubling from coarse to fine as the work roughly does.
  const first = Math.min(coarseStep, highestPowerOfTwoBelow(last));
  const levelCount = Math.log2(first) + 1;
  const shareTotal = 2 ** levelCount - 1;
  let levelIndex = 0;
  let reported = 0;
  const report = (within: number): void => {
    // The last 2% is the fill and the repair.
    const fraction = 0.98 * Math.min(1, (2 ** levelIndex - 1 + 2 ** levelIndex * within) / shareTotal);
    if (fraction > reported) {
      reported = fraction;
      onProgress?.(fraction);
    }
  };

  let pending: number[] = [];
  const want = (index: number): void => {
    if (state[index] === 0) {
      state[index] = PENDING;
      pending.push(index);
    }
  };

  const flush = async (): Promise<number[]> => {
    const list = pending;
    pending = [];
    for (let start = 0; start < list.length; start += batchSize) {
      throwIfAborted(signal);
      const count = Math.min(batchSize, list.length - start);
      const points = new Float32Array(3 * count);
      for (let p = 0; p < count; p++) {
        const index = list[start + p]!;
        const i = Math.floor(index / plane);
        const rest = index - i * plane;
        const j = Math.floor(rest / N);
        points[3 * p] = axis[i]!;
        points[3 * p + 1] = axis[j]!;
        points[3 * p + 2] = axis[rest - j * N]!;
      }
      const values = await query(points, signal);
      if (values.length !== count) {
        throw new Error(`sampleCoarseToFine: query returned ${values.length} densities for ${count} points`);
      }
      for (let p = 0; p < count; p++) {
        const index = list[start + p]!;
        field[index] = values[p]!;
        state[index] = KNOWN;
      }
      queries += count;
      report((start + count) / list.length);
    }
    return list;
  };

  /** Cells per axis at step h; cell c spans [c h, min((c + 1) h, last)]. */
  const cellsAt = (h: number): number => Math.ceil(last / h);

  interface Level {
    h: number;
    B: number;
    active: Uint8Array;
    marked: Uint8Array;
    refine: Uint8Array;
    /** Cells sampled at full resolution by the local repair. */
    repaired: Uint8Array;
  }
  const levels: Level[] = [];
  const stats: LevelStats[] = [];
  const repair: RepairStats = { surprises: 0, repairedCells: 0, repairQueries: 0, followQueries: 0, bandQueries: 0 };
  /** Parent cells refined into the level being sampled, as (a, b, c) triples. */
  const refinedCells: number[] = [];
  /** Parent cells holding a surprise, as cell indices of the parent level. */
  let surpriseCells: number[] = [];

  /**
   * Compares each point just queried inside a refined parent cell with the trilinear interpolation
   * of that cell's corners, which is what the fill would have given it.
   */
  const measureSmoothness = (parentLevel: Level, st: LevelStats): void => {
    const ph = parentLevel.h;
    const P = parentLevel.B;
    const scale = margin > 0 ? margin : Math.max(Math.abs(iso), 1);
    for (let r = 0; r < refinedCells.length; r += 3) {
      const a = refinedCells[r]!, b = refinedCells[r + 1]!, c = refinedCells[r + 2]!;
      const x0 = a * ph, y0 = b * ph, z0 = c * ph;
      const x1 = Math.min(x0 + ph, last), y1 = Math.min(y0 + ph, last), z1 = Math.min(z0 + ph, last);
      const at = (i: number, j: number, k: number): number => field[(i * N + j) * N + k]!;
      const c000 = at(x0, y0, z0), c001 = at(x0, y0, z1), c010 = at(x0, y1, z0), c011 = at(x0, y1, z1);
      const c100 = at(x1, y0, z0), c101 = at(x1, y0, z1), c110 = at(x1, y1, z0), c111 = at(x1, y1, z1);
      const unmarked = parentLevel.marked[(a * P + b) * P + c] === 0;
      const cornerSide = c000 >= iso;
      const dx = x1 - x0, dy = y1 - y0, dz = z1 - z0;
      for (const i of halves(a, ph, last)) {
        const tx = (i - x0) / dx;
        for (const j of halves(b, ph, last)) {
          const ty = (j - y0) / dy;
          for (const k of halves(c, ph, last)) {
            if ((i === x0 || i === x1) && (j === y0 || j === y1) && (k === z0 || k === z1)) continue;
            const tz = (k - z0) / dz;
            const l0 = c000 + (c010 - c000) * ty, l1 = c001 + (c011 - c001) * ty;
            const u0 = c100 + (c110 - c100) * ty, u1 = c101 + (c111 - c101) * ty;
            const lo = l0 + (l1 - l0) * tz;
            const hi = u0 + (u1 - u0) * tz;
            const predicted = lo + (hi - lo) * tx;
            const v = at(i, j, k);
            const ratio = Math.abs(v - predicted) / scale;
            st.tested++;
            if (ratio > st.maxError) st.maxError = ratio;
            // How far the value moved towards iso, as a share of the predicted distance to iso (at
            // least `margin`): 1 means the point changed side, which the fill would have hidden.
            const toward = predicted >= iso ? predicted - v : v - predicted;
            const closeness = toward / Math.max(Math.abs(predicted - iso), scale);
            if (unmarked && closeness > st.maxCloseness) st.maxCloseness = closeness;
            if (unmarked && v >= iso !== cornerSide) {
              if (surpriseCells[surpriseCells.length - 1] !== (a * P + b) * P + c) {
                surpriseCells.push((a * P + b) * P + c);
              }
              st.surprises++;
            }
          }
        }
      }
    }
  };

  /** The corners of cell (a, b, c) of a level all on one side, and some point of the cell on the other. */
  const holdsSurprise = (level: Level, cell: number): boolean => {
    const { h, B } = level;
    const a = Math.floor(cell / (B * B)), b = Math.floor(cell / B) % B, c = cell % B;
    const x0 = a * h, y0 = b * h, z0 = c * h;
    const x1 = Math.min(x0 + h, last), y1 = Math.min(y0 + h, last), z1 = Math.min(z0 + h, last);
    const side = field[(x0 * N + y0) * N + z0]! >= iso;
    for (const i of [x0, x1]) for (const j of [y0, y1]) for (const k of [z0, z1]) if (field[(i * N + j) * N + k]! >= iso !== side) return false;
    for (let i = x0; i <= x1; i++) {
      for (let j = y0; j <= y1; j++) {
        const row = (i * N + j) * N;
        for (let k = z0; k <= z1; k++) if (field[row + k]! >= iso !== side) return true;
      }
    }
    return false;
  };

  /**
   * Samples each given cell of `level` and its 26 neighbours at full resolution, then the neighbours of
   * every newly sampled cell that holds a surprise of its own, until none does. The cells join the
   * level's refined set (and their children the next level's active set), so marking and the finer
   * levels treat them as any refined cell; every point in them is known, so that costs nothing more.
   */
  const repairAround = async (level: Level, seeds: readonly number[], child: { B: number; active: Uint8Array }): Promise<void> => {
    const { h, B } = level;
    let frontier = seeds;
    while (frontier.length > 0) {
      const fresh: number[] = [];
      for (const cell of frontier) {
        const a = Math.floor(cell / (B * B)), b = Math.floor(cell / B) % B, c = cell % B;
        for (let u = Math.max(a - 1, 0); u <= Math.min(a + 1, B - 1); u++) {
          for (let v = Math.max(b - 1, 0); v <= Math.min(b + 1, B - 1); v++) {
            for (let w = Math.max(c - 1, 0); w <= Math.min(c + 1, B - 1); w++) {
              const n = (u * B + v) * B + w;
              if (level.repaired[n] === 0) {
                level.repaired[n] = 1;
                fresh.push(n);
              }
            }
          }
        }
      }
      for (const cell of fresh) {
        const a = Math.floor(cell / (B * B)), b = Math.floor(cell / B) % B, c = cell % B;
        const x0 = a * h, y0 = b * h, z0 = c * h;
        const x1 = Math.min(x0 + h, last), y1 = Math.min(y0 + h, last), z1 = Math.min(z0 + h, last);
        for (let i = x0; i <= x1; i++) for (let j = y0; j <= y1; j++) for (let k = z0; k <= z1; k++) want((i * N + j) * N + k);
        level.refine[cell] = 1;
        if (child.active.length > 0) {
          for (let da = 0; da < 2; da++) {
            for (let db = 0; db < 2; db++) {
              for (let dc = 0; dc < 2; dc++) {
                const ca = 2 * a + da, cb = 2 * b + db, cc = 2 * c + dc;
                if (ca < child.B && cb < child.B && cc < child.B) child.active[(ca * child.B + cb) * child.B + cc] = 1;
              }
            }
          }
        }
      }
      const before = queries;
      await flush();
      repair.repairQueries += queries - before;
      repair.repairedCells += fresh.length;
      frontier = fresh.filter((cell) => holdsSurprise(level, cell));
    }
  };

  let parent: Level | undefined;
  for (let h = first; h >= 1; h >>= 1, levelIndex++) {
    const B = cellsAt(h);
    const active = new Uint8Array(h > 1 ? B * B * B : 0);

    // Lattice points at step h of every active cell at this level.
    if (!parent) {
      if (h > 1) active.fill(1);
      const ticks: number[] = [];
      for (let t = 0; t < last; t += h) ticks.push(t);
      ticks.push(last);
      for (const i of ticks) for (const j of ticks) for (const k of ticks) want((i * N + j) * N + k);
    } else {
      const P = parent.B;
      let refinedCount = 0;
      for (let cell = 0; cell < parent.refine.length; cell++) refinedCount += parent.refine[cell]!;
      const share = refinedCount / parent.refine.length;
      stats.push({ h, activeShare: share, tested: 0, maxError: 0, maxCloseness: 0, surprises: 0 });
      const { refine } = parent;
      const ph = parent.h;
      for (let a = 0; a < P; a++) {
        for (let b = 0; b < P; b++) {
          for (let c = 0; c < P; c++) {
            if (refine[(a * P + b) * P + c] === 0) continue;
            const xs = halves(a, ph, last);
            const ys = halves(b, ph, last);
            const zs = halves(c, ph, last);
            for (const i of xs) for (const j of ys) for (const k of zs) want((i * N + j) * N + k);
            refinedCells.push(a, b, c);
            if (h > 1) {
              for (let da = 0; da < 2; da++) {
                const ca = 2 * a + da;
                if (ca >= B) continue;
                for (let db = 0; db < 2; db++) {
                  const cb = 2 * b + db;
                  if (cb >= B) continue;
                  for (let dc = 0; dc < 2; dc++) {
                    const cc = 2 * c + dc;
                    if (cc < B) active[(ca * B + cb) * B + cc] = 1;
                  }
                }
              }
            }
          }
        }
      }
    }
    await flush();
    report(1);
    if (parent) {
      const st = stats[stats.length - 1]!;
      surpriseCells = [];
      measureSmoothness(parent, st);
      repair.surprises += st.surprises;
      if (surpriseCells.length > 0) await repairAround(parent, surpriseCells, { B, active });
    }
    refinedCells.length = 0;
    if (h === 1) break;

    // Mark active cells near iso, then grow the mark by one cell in every direction.
    const marked = new Uint8Array(B * B * B);
    const lo = iso - margin;
    const hi = iso + margin;
    for (let a = 0; a < B; a++) {
      const x0 = a * h, x1 = Math.min(x0 + h, last);
      for (let b = 0; b < B; b++) {
        const y0 = b * h, y1 = Math.min(y0 + h, last);
        for (let c = 0; c < B; c++) {
          const cell = (a * B + b) * B + c;
          if (active[cell] === 0) continue;
          const z0 = c * h, z1 = Math.min(z0 + h, last);
          let min = Infinity;
          let max = -Infinity;
          for (const i of [x0, x1]) for (const j of [y0, y1]) for (const k of [z0, z1]) {
            const v = field[(i * N + j) * N + k]!;
            if (v < min) min = v;
            if (v > max) max = v;
          }
          // NaN corners fail both comparisons below, so they are refined too.
          if (!(max < lo || min >= hi)) marked[cell] = 1;
        }
      }
    }
    // The neighbour ring guards the coarse levels, where a whole feature can hide in the cell next
    // door; at step 2 the repair pass below follows any surface leaving the band more cheaply.
    const refine = h > 2 ? new Uint8Array(B * B * B) : marked;
    if (h > 2) for (let a = 0; a < B; a++) {
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < B; c++) {
          if (marked[(a * B + b) * B + c] === 0) continue;
          for (let u = Math.max(a - 1, 0); u <= Math.min(a + 1, B - 1); u++) {
            for (let v = Math.max(b - 1, 0); v <= Math.min(b + 1, B - 1); v++) {
              for (let w = Math.max(c - 1, 0); w <= Math.min(c + 1, B - 1); w++) refine[(u * B + v) * B + w] = 1;
            }
          }
        }
      }
    }
    const level: Level = { h, B, active, marked, refine, repaired: new Uint8Array(B * B * B) };
    levels.push(level);
    parent = level;
  }

  // Fill from coarse to fine so the finest unrefined cell around a point has the last word.
  for (const { h, B, active, refine } of levels) {
    throwIfAborted(signal);
    for (let a = 0; a < B; a++) {
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < B; c++) {
          const cell = (a * B + b) * B + c;
          if (active[cell] === 0 || refine[cell] !== 0) continue;
          fillCell(field, state, N, a * h, b * h, c * h, h, last);
        }
      }
    }
  }

  // Follow, then band. A grid edge that changes side with an unqueried end is either the surface
  // leaving the refined region into a feature the lattice missed, or a fill disagreeing with a sample
  // next to it: its unqueried ends are queried, and the edges of whatever was queried are looked at in
  // turn, which follows the surface until every edge marching cubes puts a vertex on has two true end
  // values. Then every point next to (within one step of) an end of such an edge is queried, so the
  // voxels around each crossing are true too, and any crossing that reveals is followed the same way.
  const side = (v: number): boolean => v >= iso;
  const band: number[] = [];
  const onEdge = (p: number, q: number): void => {
    if (side(field[p]!) === side(field[q]!)) return;
    const pKnown = state[p]! >= KNOWN;
    const qKnown = state[q]! >= KNOWN;
    if (!pKnown) want(p);
    if (!qKnown) want(q);
    if (pKnown && state[p] === KNOWN) {
      state[p] = BANDED;
      band.push(p);
    }
    if (qKnown && state[q] === KNOWN) {
      state[q] = BANDED;
      band.push(q);
    }
  };
  const edgesOf = (p: number): void => {
    const k = p % N;
    const j = Math.floor(p / N) % N;
    const i = Math.floor(p / plane);
    if (k > 0) onEdge(p, p - 1);
    if (k < last) onEdge(p, p + 1);
    if (j > 0) onEdge(p, p - N);
    if (j < last) onEdge(p, p + N);
    if (i > 0) onEdge(p, p - plane);
    if (i < last) onEdge(p, p + plane);
  };
  for (let i = 0; i < N; i++) {
    throwIfAborted(signal);
    for (let j = 0; j < N; j++) {
      const row = (i * N + j) * N;
      for (let k = 0; k < N; k++) {
        const p = row + k;
        if (k < last) onEdge(p, p + 1);
        if (j < last) onEdge(p, p + N);
        if (i < last) onEdge(p, p + plane);
      }
    }
  }
  while (pending.length > 0 || band.length > 0) {
    while (pending.length > 0) {
      const before = queries;
      const fresh = await flush();
      repair.followQueries += queries - before;
      for (const p of fresh) edgesOf(p);
    }
    // The band around the crossings known so far; what it reveals is followed on the next round.
    const ends = band.splice(0, band.length);
    for (const p of ends) {
      const k = p % N;
      const j = Math.floor(p / N) % N;
      const i = Math.floor(p / plane);
      for (let u = Math.max(i - 1, 0); u <= Math.min(i + 1, last); u++) {
        for (let v = Math.max(j - 1, 0); v <= Math.min(j + 1, last); v++) {
          for (let w = Math.max(k - 1, 0); w <= Math.min(k + 1, last); w++) want((u * N + v) * N + w);
        }
      }
    }
    if (pending.length > 0) {
      const before = queries;
      const fresh = await flush();
      repair.bandQueries += queries - before;
      for (const p of fresh) edgesOf(p);
    }
  }

  throwIfAborted(signal);
  if (reported < 1) onProgress?.(1);
  return { field, queries, levels: stats, repair };
}

function highestPowerOfTwoBelow(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

/** Step-(ph/2) lattice coordinates within parent cell a of step ph, clipped to the grid. */
function halves(a: number, ph: number, last: number): number[] {
  const start = a * ph;
  const mid = start + ph / 2;
  const end = Math.min(start + ph, last);
  return mid < end ? [start, mid, end] : [start, end];
}

/** Trilinear fill of the unqueried points of one cell, clamped to its corner range. */
function fillCell(field: Float32Array, state: Uint8Array, N: number, x0: number, y0: number, z0: number, h: number, last: number): void {
  const x1 = Math.min(x0 + h, last), y1 = Math.min(y0 + h, last), z1 = Math.min(z0 + h, last);
  const at = (i: number, j: number, k: number): number => field[(i * N + j) * N + k]!;
  const c000 = at(x0, y0, z0), c001 = at(x0, y0, z1), c010 = at(x0, y1, z0), c011 = at(x0, y1, z1);
  const c100 = at(x1, y0, z0), c101 = at(x1, y0, z1), c110 = at(x1, y1, z0), c111 = at(x1, y1, z1);
  const min = Math.min(c000, c001, c010, c011, c100, c101, c110, c111);
  const max = Math.max(c000, c001, c010, c011, c100, c101, c110, c111);
  const dx = x1 - x0, dy = y1 - y0, dz = z1 - z0;
  for (let i = x0; i <= x1; i++) {
    const tx = (i - x0) / dx;
    for (let j = y0; j <= y1; j++) {
      const ty = (j - y0) / dy;
      const a0 = c000 + (c010 - c000) * ty, a1 = c001 + (c011 - c001) * ty;
      const b0 = c100 + (c110 - c100) * ty, b1 = c101 + (c111 - c101) * ty;
      const row = (i * N + j) * N;
      for (let k = z0; k <= z1; k++) {
        if (state[row + k]! >= KNOWN) continue;
        const tz = (k - z0) / dz;
        const lo = a0 + (a1 - a0) * tz;
        const hi = b0 + (b1 - b0) * tz;
        const v = lo + (hi - lo) * tx;
        // Rounding must not carry an interpolated value across iso; the corners' range is one side.
        field[row + k] = v < min ? min : v > max ? max : v;
      }
    }
  }
}
