import { GRID_PER_MM } from './weld.js';

/**
 * The file's uncertainty: the distance below which the file says two points are the same, written
 * as the context's UNCERTAINTY_MEASURE_WITH_UNIT. Everything the writer does to the geometry stays
 * within it: merging coplanar triangles moves no surface point by more than half of it, a dropped
 * collinear vertex is within half of it of the straight edge that replaces it, and triangles thinner
 * than it are collapsed or split away (degenerate.ts) rather than written as faces with no inside.
 *
 * It scales with the model: float32 coordinates carry a rounding error of up to 2^-24 of their
 * magnitude, so a flat face tilted against the axes is flat only to a few times that. 2^-21 of the
 * largest coordinate (0.05 µm on a 100 mm part) leaves room for two float32 roundings plus the
 * written grid, so such faces still merge; it never goes below four grid steps. Two significant
 * digits keep the written value readable, and the value is rounded up so it still covers that.
 */
export interface Uncertainty {
  /** In millimetres. */
  readonly value: number;
  /** value = mantissa · 10^exponent, with an integer mantissa: how it is written, exactly. */
  readonly mantissa: number;
  readonly exponent: number;
}

export function uncertaintyFor(maxAbsMm: number): Uncertainty {
  const wanted = Math.max(4 / GRID_PER_MM, maxAbsMm * 2 ** -21);
  let exponent = Math.floor(Math.log10(wanted)) - 1;
  let mantissa = Math.ceil(wanted / 10 ** exponent - 1e-9);
  if (mantissa >= 100) {
    mantissa = Math.ceil(mantissa / 10);
    exponent += 1;
  }
  const value = exponent < 0 ? mantissa / 10 ** -exponent : mantissa * 10 ** exponent;
  return { value, mantissa, exponent };
}

/**
 * Decimals for the components of a unit direction that must stay accurate over `reach` millimetres:
 * rounding each component by half a unit in the last place tilts the direction by at most
 * 0.87·10^-decimals, which moves a point `reach` away by under a hundredth of the uncertainty. Short
 * edges and small faces need fewer digits than fixed 12-decimal directions give them, which saves
 * a few percent of a curved mesh's file.
 */
export function directionDecimals(reach: number, uncertainty: number): number {
  const needed = Math.ceil(Math.log10(Math.max(reach, uncertainty) / uncertainty)) + 2;
  return Math.min(15, Math.max(4, needed));
}

/**
 * A unit direction rounded to `decimals`, as the integers the file will hold (value · 10^decimals).
 * Returns the rounded components in `out`.
 */
export function roundDirection(x: number, y: number, z: number, decimals: number, out: Float64Array, at: number): void {
  const scale = 10 ** decimals;
  const length = Math.hypot(x, y, z);
  out[at] = Math.round((x / length) * scale) + 0;
  out[at + 1] = Math.round((y / length) * scale) + 0;
  out[at + 2] = Math.round((z / length) * scale) + 0;
}
