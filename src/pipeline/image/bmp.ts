/**
 * A strict reader for Windows BMP files. sharp's prebuilt libvips has no BMP loader (it would come from
 * ImageMagick, which the prebuilt binaries leave out), so BMP is read here. Accepted: the file header
 * followed by a BITMAPINFOHEADER (40 bytes), its V2/V3 extensions (52, 56), V4 (108) or V5 (124); 1-, 4-
 * and 8-bit palettes, uncompressed or RLE4/RLE8; 16- and 32-bit with BI_RGB, BI_BITFIELDS or
 * BI_ALPHABITFIELDS; 24-bit BI_RGB; bottom-up and top-down rows. Everything else (OS/2 headers, embedded
 * JPEG/PNG, 2- and 64-bit pixels, CMYK) is refused by name. Pixel values follow Pillow, which TripoSR reads
 * images with: an n-bit field becomes floor(v × 255 / (2ⁿ − 1)), and RLE pixels the stream skips take
 * palette entry 0. The colour-space fields of V4/V5 headers are not applied: the pixels are taken as sRGB.
 */

/** Why a BMP file was refused; decode.ts turns it into a UserError that names the file. */
export class BmpError extends Error {
  constructor(
    message: string,
    /** 'unsupported': a valid BMP of a kind this reader leaves out; 'corrupt': the file contradicts itself. */
    readonly kind: 'unsupported' | 'corrupt',
  ) {
    super(message);
    this.name = 'BmpError';
  }
}

export interface BmpHeader {
  readonly width: number;
  readonly height: number;
  /** Rows stored top row first (a negative height in the file); otherwise bottom row first. */
  readonly topDown: boolean;
  readonly bitsPerPixel: 1 | 4 | 8 | 16 | 24 | 32;
  readonly compression: 'none' | 'rle8' | 'rle4' | 'bitfields';
  /** Where the pixel data starts in the file. */
  readonly pixelOffset: number;
  /** Where the palette starts, and its entries (1-, 4- and 8-bit images only; 0 otherwise). */
  readonly paletteOffset: number;
  readonly paletteEntries: number;
  /** Channel masks of 16- and 32-bit pixels (alpha 0 when the file has none); undefined for other depths. */
  readonly masks: ChannelMasks | undefined;
}

export interface ChannelMasks {
  readonly red: number;
  readonly green: number;
  readonly blue: number;
  readonly alpha: number;
}

/** Bytes from the start of a file that hold every header and mask this reader accepts (not the palette). */
export const BMP_HEADER_BYTES = 14 + 124 + 16;

const FILE_HEADER_BYTES = 14;
const INFO_HEADER_SIZES = new Set([40, 52, 56, 108, 124]);
/** The header's compression codes (biCompression), as Windows' wingdi.h numbers them. */
export const BMP_COMPRESSION = Object.freeze({ BI_RGB: 0, BI_RLE8: 1, BI_RLE4: 2, BI_BITFIELDS: 3, BI_JPEG: 4, BI_PNG: 5, BI_ALPHABITFIELDS: 6 } as const);
const { BI_RGB, BI_RLE8, BI_RLE4, BI_BITFIELDS, BI_JPEG, BI_PNG, BI_ALPHABITFIELDS } = BMP_COMPRESSION;
/** The masks' fixed place: right after a 40-byte header, and inside the larger ones at the same offset. */
const MASKS_OFFSET = FILE_HEADER_BYTES + 40;

export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d; // "BM"
}

/**
 * Reads and checks the headers. `bytes` is the start of the file (at least BMP_HEADER_BYTES of it, or all
 * of a shorter file) and `fileLength` the whole file's length, so that a probe need not read the pixels.
 */
export function readBmpHeader(bytes: Uint8Array, fileLength: number): BmpHeader {
  const corrupt = (why: string): BmpError => new BmpError(why, 'corrupt');
  const unsupported = (what: string): BmpError => new BmpError(what, 'unsupported');
  if (!isBmp(bytes)) throw corrupt('it does not start with "BM"');
  if (fileLength < FILE_HEADER_BYTES + 4 || bytes.length < FILE_HEADER_BYTES + 4) throw corrupt('the file ends inside its header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (at: number): number => view.getUint32(at, true);
  const i32 = (at: number): number => view.getInt32(at, true);
  const u16 = (at: number): number => view.getUint16(at, true);

  const pixelOffset = u32(10);
  const headerSize = u32(FILE_HEADER_BYTES);
  if (headerSize === 12 || headerSize === 64 || headerSize === 16) throw unsupported(`an OS/2 BMP (a ${headerSize}-byte header)`);
  if (!INFO_HEADER_SIZES.has(headerSize)) throw corrupt(`its header size (${headerSize} bytes) is not one of a BMP's`);
  const headerEnd = FILE_HEADER_BYTES + headerSize;
  if (fileLength < headerEnd || bytes.length < headerEnd) throw corrupt('the file ends inside its header');

  const width = i32(18);
  const rawHeight = i32(22);
  const planes = u16(26);
  const bits = u16(28);
  const compressionCode = u32(30);
  const coloursUsed = u32(46);
  if (width <= 0) throw corrupt(`its width is ${width}`);
  if (rawHeight === 0) throw corrupt('its height is 0');
  if (planes !== 1) throw corrupt(`it declares ${planes} colour planes (a BMP has 1)`);
  const topDown = rawHeight < 0;
  const height = Math.abs(rawHeight);

  if (bits !== 1 && bits !== 4 && bits !== 8 && bits !== 16 && bits !== 24 && bits !== 32) {
    throw unsupported(bits === 0 ? 'a BMP whose pixels are an embedded JPEG or PNG' : `a ${bits}-bit BMP`);
  }
  const compression = compressionOf(compressionCode, bits, topDown);

  // A 40-byte header is followed by the masks it does not hold itself.
  let masksEnd = headerEnd;
  if (headerSize === 40 && compressionCode === BI_BITFIELDS) masksEnd += 12;
  if (headerSize === 40 && compressionCode === BI_ALPHABITFIELDS) masksEnd += 16;
  if (masksEnd > fileLength || masksEnd > bytes.length) throw corrupt('the file ends inside its colour masks');
  const masks = bits === 16 || bits === 32 ? readMasks(view, bits, compressionCode, headerSize, corrupt) : undefined;

  let paletteEntries = 0;
  if (bits <= 8) {
    const most = 2 ** bits;
    paletteEntries = coloursUsed === 0 ? most : coloursUsed;
    if (paletteEntries > most) throw corrupt(`it declares ${coloursUsed} palette colours for ${bits}-bit pixels (at most ${most})`);
  }
  const paletteEnd = masksEnd + 4 * paletteEntries;
  if (pixelOffset < paletteEnd) throw corrupt(`its pixel data (at byte ${pixelOffset}) overlaps its header or palette (which end at byte ${paletteEnd})`);
  if (pixelOffset >= fileLength) throw corrupt(`its pixel data would start at byte ${pixelOffset}, past the end of the file (${fileLength} bytes)`);

  return {
    width,
    height,
    topDown,
    bitsPerPixel: bits,
    compression,
    pixelOffset,
    paletteOffset: masksEnd,
    paletteEntries,
    masks,
  };
}

function compressionOf(code: number, bits: number, topDown: boolean): BmpHeader['compression'] {
  const corrupt = (why: string): BmpError => new BmpError(why, 'corrupt');
  switch (code) {
    case BI_RGB:
      return 'none';
    case BI_RLE8:
    case BI_RLE4: {
      const name = code === BI_RLE8 ? 'RLE8' : 'RLE4';
      if (bits !== (code === BI_RLE8 ? 8 : 4)) throw corrupt(`it declares ${name} compression for ${bits}-bit pixels`);
      if (topDown) throw corrupt(`it declares ${name} compression with top-down rows, which BMP does not allow`);
      return code === BI_RLE8 ? 'rle8' : 'rle4';
    }
    case BI_BITFIELDS:
    case BI_ALPHABITFIELDS:
      if (bits !== 16 && bits !== 32) throw corrupt(`it declares colour masks for ${bits}-bit pixels`);
      return 'bitfields';
    case BI_JPEG:
    case BI_PNG:
      throw new BmpError(`a BMP whose pixels are an embedded ${code === BI_JPEG ? 'JPEG' : 'PNG'}`, 'unsupported');
    default:
      throw new BmpError(`a BMP with compression type ${code}`, 'unsupported');
  }
}

function readMasks(view: DataView, bits: 16 | 32, code: number, headerSize: number, corrupt: (why: string) => BmpError): ChannelMasks {
  if (code === BI_RGB) {
    // The fixed layouts: X1R5G5B5 and X8R8G8B8, the top bits unused.
    return bits === 16 ? { red: 0x7c00, green: 0x03e0, blue: 0x001f, alpha: 0 } : { red: 0xff0000, green: 0xff00, blue: 0xff, alpha: 0 };
  }
  const at = (i: number): number => view.getUint32(MASKS_OFFSET + 4 * i, true);
  // A 52-byte header ends before the alpha mask, and a 40-byte one carries it only with BI_ALPHABITFIELDS.
  if (code === BI_ALPHABITFIELDS && headerSize === 52) throw new BmpError('a BMP with an alpha mask after a 52-byte header', 'unsupported');
  const hasAlphaMask = headerSize >= 56 || code === BI_ALPHABITFIELDS;
  const masks: ChannelMasks = { red: at(0), green: at(1), blue: at(2), alpha: hasAlphaMask ? at(3) : 0 };
  const limit = bits === 16 ? 0xffff : 0xffffffff;
  let seen = 0;
  for (const [name, mask] of Object.entries(masks) as [keyof ChannelMasks, number][]) {
    if (mask === 0) {
      if (name === 'alpha') continue;
      throw corrupt(`its ${name} mask is empty`);
    }
    if (mask > limit) throw corrupt(`its ${name} mask 0x${mask.toString(16)} does not fit ${bits}-bit pixels`);
    const field = mask >>> trailingZeros(mask);
    if ((field & (field + 1)) !== 0) throw corrupt(`its ${name} mask 0x${mask.toString(16)} is not one run of bits`);
    if ((seen & mask) !== 0) throw corrupt('its colour masks overlap');
    seen = (seen | mask) >>> 0;
  }
  return masks;
}

/** Bytes the uncompressed pixel rows need; the last row's padding may be missing, as some writers leave it off. */
function uncompressedBytes(header: BmpHeader): number {
  return rowStride(header) * (header.height - 1) + Math.ceil((header.width * header.bitsPerPixel) / 8);
}

function rowStride(header: BmpHeader): number {
  return Math.ceil((header.width * header.bitsPerPixel) / 32) * 4;
}

/** Refuses a file too short for the pixels its header declares (compressed data is checked while decoding). */
export function checkBmpLength(header: BmpHeader, fileLength: number): void {
  if (header.compression === 'rle4' || header.compression === 'rle8') return;
  const needed = uncompressedBytes(header);
  const present = fileLength - header.pixelOffset;
  if (present < needed) {
    throw new BmpError(
      `its header declares ${header.width} × ${header.height} pixels (${needed} bytes of pixel data) but the file holds only ${present} bytes of them`,
      'corrupt',
    );
  }
}

/**
 * The pixels as top-down RGBA, 8 bits a channel. The caller has checked the pixel count against its
 * memory limit: this allocates width × height × 4 bytes.
 */
export function decodeBmp(bytes: Uint8Array, header: BmpHeader): Uint8Array {
  checkBmpLength(header, bytes.length);
  const rgba = new Uint8Array(header.width * header.height * 4);
  if (header.bitsPerPixel <= 8) {
    const indices =
      header.compression === 'none' ? unpackIndices(bytes, header) : decodeRle(bytes, header, header.compression === 'rle4');
    const palette = readPalette(bytes, header);
    for (let i = 0, o = 0; i < indices.length; i++, o += 4) {
      const entry = indices[i] * 4;
      rgba[o] = palette[entry];
      rgba[o + 1] = palette[entry + 1];
      rgba[o + 2] = palette[entry + 2];
      rgba[o + 3] = 255;
    }
  } else if (header.bitsPerPixel === 24) {
    forEachRow(header, (row, y) => {
      for (let x = 0, o = y * header.width * 4; x < header.width; x++, o += 4) {
        rgba[o] = bytes[row + 3 * x + 2];
        rgba[o + 1] = bytes[row + 3 * x + 1];
        rgba[o + 2] = bytes[row + 3 * x];
        rgba[o + 3] = 255;
      }
    });
  } else {
    unpackMasked(bytes, header, rgba);
  }
  return rgba;
}

/** Calls `visit(start of the row's bytes in the file, image row from the top)` for every stored row. */
function forEachRow(header: BmpHeader, visit: (rowStart: number, y: number) => void): void {
  const stride = rowStride(header);
  for (let stored = 0; stored < header.height; stored++) {
    visit(header.pixelOffset + stored * stride, header.topDown ? stored : header.height - 1 - stored);
  }
}

/** 256 entries of RGB and a spare byte; indices past the palette's end are black, as in Pillow's zero-padded palette. */
function readPalette(bytes: Uint8Array, header: BmpHeader): Uint8Array {
  const palette = new Uint8Array(256 * 4);
  for (let i = 0; i < header.paletteEntries; i++) {
    const at = header.paletteOffset + 4 * i;
    palette[i * 4] = bytes[at + 2];
    palette[i * 4 + 1] = bytes[at + 1];
    palette[i * 4 + 2] = bytes[at];
  }
  return palette;
}

function unpackIndices(bytes: Uint8Array, header: BmpHeader): Uint8Array {
  const { width, bitsPerPixel: bits } = header;
  const indices = new Uint8Array(width * header.height);
  const perByte = 8 / bits;
  const fieldMask = (1 << bits) - 1;
  forEachRow(header, (row, y) => {
    for (let x = 0; x < width; x++) {
      const byte = bytes[row + Math.floor(x / perByte)];
      // The leftmost pixel sits in the byte's high bits.
      indices[y * width + x] = (byte >> (8 - bits * ((x % perByte) + 1))) & fieldMask;
    }
  });
  return indices;
}

/**
 * RLE8/RLE4 into palette indices, top row first. Runs past a row's end are clipped, and pixels the
 * stream skips (end of line, delta, end of bitmap) keep index 0, as Pillow leaves them. A stream that
 * ends before the bitmap does is refused.
 */
function decodeRle(bytes: Uint8Array, header: BmpHeader, rle4: boolean): Uint8Array {
  const { width, height } = header;
  const indices = new Uint8Array(width * height);
  const end = bytes.length;
  let p = header.pixelOffset;
  let x = 0;
  let stored = 0; // row counted from the bottom, as RLE bitmaps are stored
  const put = (index: number): void => {
    if (x < width && stored < height) indices[(height - 1 - stored) * width + x] = index;
    x++;
  };
  for (;;) {
    if (p + 2 > end) {
      if (stored >= height) break;
      throw new BmpError(`its ${rle4 ? 'RLE4' : 'RLE8'} data ends at row ${stored} of ${height}, before the end-of-bitmap marker`, 'corrupt');
    }
    const count = bytes[p];
    const value = bytes[p + 1];
    p += 2;
    if (count > 0) {
      for (let i = 0; i < count; i++) put(rle4 ? (i & 1 ? value & 15 : value >> 4) : value);
    } else if (value === 0) {
      x = 0;
      stored++;
    } else if (value === 1) {
      break;
    } else if (value === 2) {
      if (p + 2 > end) throw new BmpError('its RLE data ends inside a delta', 'corrupt');
      x += bytes[p];
      stored += bytes[p + 1];
      p += 2;
    } else {
      // Absolute mode: `value` pixels stored literally, the run padded to a whole 16-bit word.
      const byteCount = rle4 ? Math.ceil(value / 2) : value;
      if (p + byteCount > end) throw new BmpError('its RLE data ends inside a literal run', 'corrupt');
      for (let i = 0; i < value; i++) put(rle4 ? (i & 1 ? bytes[p + (i >> 1)] & 15 : bytes[p + (i >> 1)] >> 4) : bytes[p + i]);
      p += byteCount + (byteCount & 1);
    }
  }
  return indices;
}

interface Field {
  readonly mask: number;
  readonly shift: number;
  readonly max: number;
}

function fieldOf(mask: number): Field {
  const shift = trailingZeros(mask);
  return { mask, shift, max: mask >>> shift };
}

function trailingZeros(mask: number): number {
  return mask === 0 ? 0 : 31 - Math.clz32(mask & -mask);
}

/** An n-bit field to 8 bits the way Pillow widens 5- and 6-bit BMP fields: floor(v × 255 / (2ⁿ − 1)). */
function widen(value: number, field: Field): number {
  return field.max === 255 ? value : Math.floor((value * 255) / field.max);
}

function unpackMasked(bytes: Uint8Array, header: BmpHeader, rgba: Uint8Array): void {
  const masks = header.masks;
  if (!masks) throw new Error('16- and 32-bit BMP headers always carry masks');
  const [red, green, blue] = [fieldOf(masks.red), fieldOf(masks.green), fieldOf(masks.blue)];
  const alpha = masks.alpha !== 0 ? fieldOf(masks.alpha) : undefined;
  const pixelBytes = header.bitsPerPixel / 8;
  let anyAlpha = false;
  forEachRow(header, (row, y) => {
    for (let x = 0, o = y * header.width * 4; x < header.width; x++, o += 4) {
      const at = row + x * pixelBytes;
      const v =
        pixelBytes === 2 ? bytes[at] | (bytes[at + 1] << 8) : (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
      rgba[o] = widen((v & red.mask) >>> red.shift, red);
      rgba[o + 1] = widen((v & green.mask) >>> green.shift, green);
      rgba[o + 2] = widen((v & blue.mask) >>> blue.shift, blue);
      if (alpha) {
        const a = widen((v & alpha.mask) >>> alpha.shift, alpha);
        rgba[o + 3] = a;
        if (a !== 0) anyAlpha = true;
      } else {
        rgba[o + 3] = 255;
      }
    }
  });
  // Many writers declare an alpha mask and leave it zero everywhere; browsers show such files opaque,
  // and a fully transparent picture has nothing in it to reconstruct, so do the same.
  if (alpha && !anyAlpha) for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
}
