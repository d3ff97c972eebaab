/**
 * Draws the extension's icon (media/icon.png, 256×256: the Marketplace shows 128×128 and wants a PNG):
 * a photo's corner turning into an isometric cube. `node --import tsx scripts/make-icon.ts [out.png]`
 */
import sharp from 'sharp';
import * as path from 'node:path';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">
  <defs>
    <linearGradient id="top" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#7fd3ff"/><stop offset="1" stop-color="#3a9bdc"/></linearGradient>
    <linearGradient id="left" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#2c6fb0"/><stop offset="1" stop-color="#1d4e80"/></linearGradient>
    <linearGradient id="right" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#4a8fd0"/><stop offset="1" stop-color="#2d649c"/></linearGradient>
  </defs>
  <rect x="16" y="16" width="150" height="120" rx="12" fill="#f4f1ea" stroke="#c9c2b3" stroke-width="4"/>
  <circle cx="58" cy="56" r="14" fill="#f2b33d"/>
  <path d="M24 128 L72 80 L104 108 L128 88 L160 128 Z" fill="#7bb661"/>
  <path d="M160 104 L236 146 L160 188 L84 146 Z" fill="url(#top)"/>
  <path d="M84 146 L160 188 L160 244 L84 202 Z" fill="url(#left)"/>
  <path d="M236 146 L160 188 L160 244 L236 202 Z" fill="url(#right)"/>
  <path d="M160 104 L236 146 L236 202 L160 244 L84 202 L84 146 Z" fill="none" stroke="#0f2f4f" stroke-width="4" stroke-linejoin="round"/>
  <path d="M84 146 L160 188 L236 146 M160 188 L160 244" fill="none" stroke="#0f2f4f" stroke-width="3" stroke-linejoin="round"/>
</svg>`;

const out = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'media', 'icon.png'));
sharp(Buffer.from(svg))
  .png({ compressionLevel: 9, palette: true })
  .toFile(out)
  .then((info) => process.stdout.write(`${out} (${info.width}×${info.height}, ${info.size} bytes)\n`));
