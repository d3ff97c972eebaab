/**
 * What a glTF `uri` (a buffer's or an image's) points at. The specification makes it a URI-reference:
 * either a data: URI holding the bytes, or a reference relative to the .gltf file, percent-encoded
 * ("my%20mesh.bin" is the file "my mesh.bin"). A mesh file is often downloaded or shared, so it must
 * not make the converter read anything but the files that travel with it: URLs of any other scheme
 * (http:, https:, file:, …), absolute paths and ".." escapes are refused here, before anything is
 * opened. Symbolic links are the file system's business: see resourceLoader.ts.
 */

export type ResourceRef =
  /** The bytes were in the URI itself. */
  | { readonly kind: 'embedded'; readonly bytes: Uint8Array }
  /** A file, by its path relative to the .gltf's folder: decoded, '/'-separated, without '.' or '..'. */
  | { readonly kind: 'file'; readonly path: string };

const REMEDY = 'Put the file in that folder and export the model again, or export it as a single .glb file.';

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

/** `what` names the reference in messages, e.g. `buffer 0`. */
export function resolveResourceUri(uri: unknown, what: string): ResourceRef {
  if (typeof uri !== 'string') throw new RangeError(`The glTF file's ${what} has a uri that is not text.`);
  const scheme = SCHEME.exec(uri)?.[1];
  if (scheme !== undefined && scheme.toLowerCase() === 'data') return { kind: 'embedded', bytes: decodeDataUri(uri, what) };
  if (scheme !== undefined && scheme.length > 1) {
    throw new RangeError(
      `The glTF file's ${what} is the URL "${uri}". Only files in the glTF file's folder (or below it) and embedded data: URIs are read; ${scheme.toLowerCase()}: URLs are never followed. ${REMEDY}`,
    );
  }
  const path = decodeReference(uri);
  // A drive letter ("C:/…") parses as a one-letter scheme; "/…", "\…" and "//host/…" are absolute too.
  if (scheme !== undefined || /^[\\/]/.test(path) || /^[a-zA-Z]:/.test(path)) {
    throw new RangeError(`The glTF file's ${what} is the absolute path "${uri}". Only files in the glTF file's folder (or below it) are read. ${REMEDY}`);
  }
  if (path.includes('\0')) throw new RangeError(`The glTF file's ${what} "${uri}" holds a NUL character.`);
  const segments: string[] = [];
  // Backslashes count as separators too: on Windows "..\x.bin" would otherwise leave the folder.
  for (const segment of path.split(/[\\/]/)) {
    if (segment === '' || segment === '.') continue;
    if (segment !== '..') segments.push(segment);
    else if (segments.pop() === undefined) {
      throw new RangeError(`The glTF file's ${what} "${uri}" is outside the glTF file's folder. Only files in that folder (or below it) are read. ${REMEDY}`);
    }
  }
  if (segments.length === 0) throw new RangeError(`The glTF file's ${what} has the uri "${uri}", which names no file.`);
  return { kind: 'file', path: segments.join('/') };
}

/**
 * Percent-decoding as URI-references need. Some exporters write names unencoded ("100%.bin"), which
 * is not valid percent-encoding: those are taken as they are rather than refused, since the check on
 * the decoded path is what keeps reads in the folder either way.
 */
function decodeReference(uri: string): string {
  try {
    return decodeURIComponent(uri);
  } catch {
    return uri;
  }
}

/** RFC 2397: data:[<mediatype>][;base64],<data>. glTF exporters use base64; plain data is percent-encoded bytes. */
function decodeDataUri(uri: string, what: string): Uint8Array {
  const comma = uri.indexOf(',');
  if (comma < 0) throw new RangeError(`The glTF file's ${what} is a data: URI without a "," before its data.`);
  const meta = uri.slice('data:'.length, comma);
  const payload = uri.slice(comma + 1);
  if (/;base64$/i.test(meta)) {
    const compact = payload.replace(/\s+/g, '');
    // Node's decoder skips characters it does not know; a damaged URI must not become other bytes silently.
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(compact)) throw new RangeError(`The glTF file's ${what} is a data: URI whose base64 data is damaged.`);
    const decoded = Buffer.from(compact, 'base64');
    return new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
  }
  return percentDecodedBytes(payload, what);
}

function percentDecodedBytes(text: string, what: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new RangeError(`The glTF file's ${what} is a data: URI with a broken %-escape.`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      // Unencoded non-ASCII text: its UTF-8 bytes (a character beyond U+FFFF takes two UTF-16 units).
      const codePoint = text.codePointAt(i)!;
      bytes.push(...new TextEncoder().encode(String.fromCodePoint(codePoint)));
      if (codePoint > 0xffff) i++;
    }
  }
  return Uint8Array.from(bytes);
}
