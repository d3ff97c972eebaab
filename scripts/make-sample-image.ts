/**
 * Draws the sample image the README's first command uses: an apple on a transparent background, so the
 * framing stage has an alpha mask to work with. `node --import tsx scripts/make-sample-image.ts [out.png]`
 */
import sharp from 'sharp';
import * as path from 'node:path';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="384" height="384" viewBox="0 0 384 384">
  <defs>
    <radialGradient id="skin" cx="0.38" cy="0.35" r="0.75">
      <stop offset="0" stop-color="#ff8a7a"/>
      <stop offset="0.45" stop-color="#d9281e"/>
      <stop offset="1" stop-color="#7a0c08"/>
    </radialGradient>
    <linearGradient id="leaf" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="#8fd14f"/>
      <stop offset="1" stop-color="#2e7d1f"/>
    </linearGradient>
  </defs>
  <path d="M192 112 C 150 80, 64 96, 62 196 C 60 290, 130 350, 170 338 C 182 334, 202 334, 214 338 C 254 350, 324 290, 322 196 C 320 96, 234 80, 192 112 Z" fill="url(#skin)"/>
  <path d="M190 118 C 186 90, 180 66, 168 48" stroke="#5b3a1a" stroke-width="10" stroke-linecap="round" fill="none"/>
  <path d="M196 86 C 220 44, 270 40, 292 58 C 268 92, 228 100, 196 86 Z" fill="url(#leaf)"/>
</svg>`;

const out = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'samples', 'apple.png'));
sharp(Buffer.from(svg))
  .png({ compressionLevel: 9, palette: true })
  .toFile(out)
  .then((info) => process.stdout.write(`${out} (${info.width}×${info.height}, ${info.size} bytes)\n`));
