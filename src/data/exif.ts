/**
 * A JPEG's EXIF orientation, applied: phones store photos sideways with a tag saying how to turn
 * them, which jpeg-js ignores and viewers (and `classify`, through sharp) apply. Training reads
 * folder images through this, so it sees them as `classify` does.
 */

/** The EXIF orientation (1–8) of a JPEG's first APP1 Exif segment; 1 when there is none or it cannot be read. */
export function jpegOrientation(bytes: Uint8Array): number {
  const u16 = (at: number, little: boolean) => (little ? bytes[at]! | (bytes[at + 1]! << 8) : (bytes[at]! << 8) | bytes[at + 1]!);
  const u32 = (at: number, little: boolean) => (little ? u16(at, true) + u16(at + 2, true) * 65536 : u16(at, false) * 65536 + u16(at + 2, false));
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return 1;
  for (let at = 2; at + 4 <= bytes.length && bytes[at] === 0xff; ) {
    const marker = bytes[at + 1]!;
    if (marker === 0xda || marker === 0xd9) break; // image data: no metadata after it
    const length = u16(at + 2, false);
    const end = at + 2 + length;
    if (length < 2 || end > bytes.length) break;
    const exif = at + 4;
    if (marker === 0xe1 && end - exif >= 14 && String.fromCharCode(...bytes.subarray(exif, exif + 6)) === 'Exif\0\0') {
      const tiff = exif + 6;
      const little = bytes[tiff] === 0x49;
      const ifd = tiff + u32(tiff + 4, little);
      if (ifd + 2 > end) return 1;
      const entries = u16(ifd, little);
      for (let k = 0; k < entries && ifd + 2 + 12 * (k + 1) <= end; k++) {
        const entry = ifd + 2 + 12 * k;
        if (u16(entry, little) === 0x0112) {
          const o = u16(entry + 8, little);
          return o >= 1 && o <= 8 ? o : 1;
        }
      }
      return 1;
    }
    at = end;
  }
  return 1;
}

/** RGBA pixels turned upright as EXIF orientation `o` asks (5–8 swap width and height). */
export function applyOrientation(img: { width: number; height: number; rgba: Uint8Array }, o: number): { width: number; height: number; rgba: Uint8Array } {
  if (o <= 1 || o > 8) return img;
  const { width: w, height: h, rgba } = img;
  const swap = o >= 5;
  const [ow, oh] = swap ? [h, w] : [w, h];
  const out = new Uint8Array(rgba.length);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++) {
      // The source pixel of output pixel (x, y).
      const [sx, sy] =
        o === 2 ? [w - 1 - x, y]
        : o === 3 ? [w - 1 - x, h - 1 - y]
        : o === 4 ? [x, h - 1 - y]
        : o === 5 ? [y, x]
        : o === 6 ? [y, h - 1 - x]
        : o === 7 ? [w - 1 - y, h - 1 - x]
        : [w - 1 - y, x];
      out.set(rgba.subarray(4 * (sy * w + sx), 4 * (sy * w + sx) + 4), 4 * (y * ow + x));
    }
  return { width: ow, height: oh, rgba: out };
}
