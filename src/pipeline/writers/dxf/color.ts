/**
 * Layer colour for the DXF writers: the area-weighted mean of the mesh's vertex colours, as the
 * nearest AutoCAD Color Index (every DXF version) and as a 24-bit true colour (group 420, R2004+).
 */

/** sRGB components 0–255. */
export type Rgb = readonly [number, number, number];

export interface LayerColor {
  /** AutoCAD Color Index 1–255, never 7 (see nearestAci). */
  readonly aci: number;
  /** The mean colour itself, 0xRRGGBB, for group 420. */
  readonly trueColor: number;
  readonly rgb: Rgb;
}

/** What a layer gets when the mesh carries no colour: 7, drawn white on dark and black on light backgrounds. */
export const DEFAULT_ACI = 7;

/** Brightness of the five shades of each ACI hue, out of 255: 100, 80, 60, 50 and 30 %. */
const SHADE_VALUES = [255, 204, 153, 127, 76] as const;

/**
 * The standard 256-entry ACI palette, derived from its documented construction rather than
 * tabulated: 1–9 are the named colours; 10–249 are 24 hues 15° apart (red, towards yellow), each as
 * ten entries alternating full and half saturation over the five shades, computed as HSV and
 * truncated; 250–255 are greys from 20 % to 100 % in steps of 16 %. Integer arithmetic keeps
 * 60 % of 255 at 153 (floating point gives 152.99…, which some published tables truncate to 152).
 * Index 0 (BYBLOCK) has no colour of its own and is listed as black.
 */
export const ACI_PALETTE: readonly Rgb[] = Object.freeze(buildPalette());

function buildPalette(): Rgb[] {
  const palette: Rgb[] = [
    [0, 0, 0],
    [255, 0, 0], [255, 255, 0], [0, 255, 0], [0, 255, 255], [0, 0, 255], [255, 0, 255],
    [255, 255, 255], [128, 128, 128], [192, 192, 192],
  ];
  for (let i = 10; i < 250; i++) palette.push(hueEntry(i));
  for (let k = 0; k < 6; k++) {
    const grey = Math.floor((255 * (20 + 16 * k)) / 100);
    palette.push([grey, grey, grey]);
  }
  return palette;
}

/** HSV with hue in quarter-sectors (15°) and saturation 1 or ½: every product is a multiple of V/8. */
function hueEntry(index: number): Rgb {
  const k = index - 10;
  const hue = Math.floor(k / 10); // 0–23, in steps of 15°
  const v = SHADE_VALUES[Math.floor((k % 10) / 2)]!;
  const saturation2 = k % 2 === 1 ? 1 : 2; // saturation × 2
  const sector = Math.floor(hue / 4);
  const fraction4 = hue % 4; // position within the 60° sector × 4
  const eighths = (n: number): number => Math.floor((v * n) / 8);
  const p = eighths(8 - 4 * saturation2);
  const q = eighths(8 - saturation2 * fraction4);
  const t = eighths(8 - saturation2 * (4 - fraction4));
  const bySector: Rgb[] = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]];
  return bySector[sector]!;
}

/**
 * The ACI entry closest to an sRGB colour, by distance in CIELAB (ΔE*76, D65), lowest index on ties.
 * Lab rather than raw sRGB distance because the palette is coarse in the dark: by sRGB distance
 * black would go to dark red (76, 0, 0) rather than to the darkest grey (51, 51, 51).
 * 7 is left out: it is not a colour but "foreground" (white on dark, black on light backgrounds),
 * which would print a white model black; pure white lands on 255 instead. 0 and 256 mean BYBLOCK and
 * BYLAYER and are not colours either.
 */
export function nearestAci(rgb: Rgb): number {
  const palette = paletteLab();
  const [l, a, b] = srgbBytesToLab(rgb);
  let best = 1;
  let bestDistance = Infinity;
  for (let i = 1; i < 256; i++) {
    if (i === DEFAULT_ACI) continue;
    const dl = palette[i * 3]! - l;
    const da = palette[i * 3 + 1]! - a;
    const db = palette[i * 3 + 2]! - b;
    const d = dl * dl + da * da + db * db;
    if (d < bestDistance) {
      bestDistance = d;
      best = i;
    }
  }
  return best;
}

let cachedPaletteLab: Float64Array | undefined;

function paletteLab(): Float64Array {
  if (!cachedPaletteLab) {
    cachedPaletteLab = new Float64Array(256 * 3);
    ACI_PALETTE.forEach((rgb, i) => cachedPaletteLab!.set(srgbBytesToLab(rgb), i * 3));
  }
  return cachedPaletteLab;
}

/** sRGB bytes to CIELAB through linear sRGB and XYZ (IEC 61966-2-1 primaries, D65 white). */
function srgbBytesToLab(rgb: Rgb): [number, number, number] {
  const r = srgbToLinear(rgb[0] / 255);
  const g = srgbToLinear(rgb[1] / 255);
  const b = srgbToLinear(rgb[2] / 255);
  const x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
  const y = 0.2126729 * r + 0.7151522 * g + 0.072175 * b;
  const z = (0.0193339 * r + 0.119192 * g + 0.9503041 * b) / 1.08883;
  const fx = labF(x);
  const fy = labF(y);
  const fz = labF(z);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

function labF(t: number): number {
  const delta = 6 / 29;
  return t > delta ** 3 ? Math.cbrt(t) : t / (3 * delta * delta) + 4 / 29;
}

/**
 * The layer colour of a mesh: the mean of its vertex colours over its surface, each triangle weighted
 * by its area and carrying the mean of its corners. Averaging happens in linear light (colours arrive
 * sRGB-encoded), so a half-red, half-green model averages to what the eye sees from afar rather than
 * to a darker muddy tone. Undefined when the mesh has no colours.
 */
export function meshLayerColor(
  positions: Float32Array,
  triangles: Uint32Array,
  colors: Float32Array | undefined,
): LayerColor | undefined {
  if (!colors) return undefined;
  if (colors.length !== positions.length) {
    throw new RangeError(`Mesh has ${colors.length / 3} colours for ${positions.length / 3} vertices.`);
  }
  const linear = new Float64Array(colors.length);
  const table = decodingTable();
  for (let i = 0; i < colors.length; i++) {
    // Interpolated decoding: within 3·10⁻⁸ of srgbToLinear, far below a byte of the result, and
    // free of a pow per component. NaN and out-of-range values clamp like srgbToLinear.
    const c = colors[i]!;
    const x = (c > 0 ? (c < 1 ? c : 1) : 0) * DECODING_STEPS;
    const j = x < DECODING_STEPS ? Math.floor(x) : DECODING_STEPS - 1;
    linear[i] = table[j]! + (table[j + 1]! - table[j]!) * (x - j);
  }

  const weighted = meanOverTriangles(positions, triangles, linear, true) ?? meanOverTriangles(positions, triangles, linear, false);
  if (!weighted) return undefined;
  const rgb: Rgb = [linearToByte(weighted[0]), linearToByte(weighted[1]), linearToByte(weighted[2])];
  return { aci: nearestAci(rgb), trueColor: (rgb[0] << 16) | (rgb[1] << 8) | rgb[2], rgb };
}

/**
 * Mean corner colour over the triangles, by area or (when every triangle has zero area, so area
 * weights say nothing) by count. Undefined when there is nothing to weigh.
 */
function meanOverTriangles(
  positions: Float32Array,
  triangles: Uint32Array,
  linear: Float64Array,
  byArea: boolean,
): [number, number, number] | undefined {
  let r = 0;
  let g = 0;
  let b = 0;
  let total = 0;
  for (let t = 0; t < triangles.length; t += 3) {
    const ia = triangles[t]! * 3;
    const ib = triangles[t + 1]! * 3;
    const ic = triangles[t + 2]! * 3;
    let w = 1;
    if (byArea) {
      // The area, inline: a double returned from a call would be boxed once per triangle.
      const ux = positions[ib]! - positions[ia]!, uy = positions[ib + 1]! - positions[ia + 1]!, uz = positions[ib + 2]! - positions[ia + 2]!;
      const vx = positions[ic]! - positions[ia]!, vy = positions[ic + 1]! - positions[ia + 1]!, vz = positions[ic + 2]! - positions[ia + 2]!;
      const x = uy * vz - uz * vy;
      const y = uz * vx - ux * vz;
      const z = ux * vy - uy * vx;
      w = Math.sqrt(x * x + y * y + z * z) / 2;
    }
    if (w === 0) continue;
    r += w * (linear[ia]! + linear[ib]! + linear[ic]!);
    g += w * (linear[ia + 1]! + linear[ib + 1]! + linear[ic + 1]!);
    b += w * (linear[ia + 2]! + linear[ib + 2]! + linear[ic + 2]!);
    total += 3 * w;
  }
  return total > 0 ? [r / total, g / total, b / total] : undefined;
}

const DECODING_STEPS = 4096;
let cachedDecoding: Float64Array | undefined;

/** srgbToLinear at DECODING_STEPS + 1 evenly spaced points of [0, 1]. */
function decodingTable(): Float64Array {
  if (!cachedDecoding) {
    cachedDecoding = new Float64Array(DECODING_STEPS + 1);
    for (let i = 0; i <= DECODING_STEPS; i++) cachedDecoding[i] = srgbToLinear(i / DECODING_STEPS);
  }
  return cachedDecoding;
}

/** IEC 61966-2-1 decoding; out-of-range and non-finite inputs are clamped (NaN counts as black). */
export function srgbToLinear(value: number): number {
  const c = value > 0 ? Math.min(value, 1) : 0;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** IEC 61966-2-1 encoding to a byte, rounded. */
export function linearToByte(value: number): number {
  const c = value > 0 ? Math.min(value, 1) : 0;
  const s = c <= 0.0031308 ? c * 12.92 : 1.055 * c ** (1 / 2.4) - 0.055;
  return Math.round(s * 255);
}
