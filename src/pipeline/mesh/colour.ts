/**
 * The network's colours are image colours, i.e. sRGB-encoded. glTF's COLOR_0 and three.js's vertex
 * colours are linear: writing sRGB values unconverted makes every viewer show them washed out.
 */
export function srgbToLinear(colors: Float32Array): Float32Array {
  const out = new Float32Array(colors.length);
  for (let i = 0; i < colors.length; i++) {
    const c = Math.min(1, Math.max(0, colors[i]));
    out[i] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }
  return out;
}
