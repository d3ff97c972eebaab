/**
 * The image formats Image to 3D reads and the file extensions that name them: the one list the
 * decoder, the commands' file pickers and the Explorer menu (package.json's `when` clause, checked by
 * test/extension/manifest.test.ts) follow. It loads no native code, so the extension host can import it
 * without loading sharp.
 *
 * HEIC is absent because sharp's prebuilt libvips carries only the AV1 decoder of libheif (AVIF); SVG
 * because a drawing has no photographic content to reconstruct and its size is whatever we render it at.
 */
export const IMAGE_FORMATS = {
  png: { name: 'PNG', extensions: ['png'] },
  jpeg: { name: 'JPEG', extensions: ['jpg', 'jpeg', 'jpe', 'jfif'] },
  webp: { name: 'WebP', extensions: ['webp'] },
  tiff: { name: 'TIFF', extensions: ['tif', 'tiff'] },
  bmp: { name: 'BMP', extensions: ['bmp'] },
  gif: { name: 'GIF', extensions: ['gif'] },
  avif: { name: 'AVIF', extensions: ['avif'] },
} as const satisfies Record<string, { readonly name: string; readonly extensions: readonly string[] }>;

export type ImageFormatId = keyof typeof IMAGE_FORMATS;

export const IMAGE_FORMAT_IDS = Object.keys(IMAGE_FORMATS) as readonly ImageFormatId[];

/** Every extension the product reads, lower case, without the dot. */
export const IMAGE_EXTENSIONS: readonly string[] = IMAGE_FORMAT_IDS.flatMap((id) => IMAGE_FORMATS[id].extensions);

/** "PNG, JPEG, WebP, TIFF, BMP, GIF or AVIF", for messages. */
export const IMAGE_FORMAT_NAMES: string = joinWithOr(IMAGE_FORMAT_IDS.map((id) => IMAGE_FORMATS[id].name));

/** True when the file name (or path, either separator) ends in an extension the product reads, in any letter case. */
export function hasImageExtension(fileName: string): boolean {
  const base = fileName.slice(Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  // A leading dot names a hidden file (".png"), not an extension, as path.extname has it.
  if (dot <= 0) return false;
  return IMAGE_EXTENSIONS.includes(base.slice(dot + 1).toLowerCase());
}

function joinWithOr(names: readonly string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}
