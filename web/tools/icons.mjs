// The app's icons, drawn at build time into PNGs (no image tools needed):
// a satchel (a rounded bag with a flap and a clasp) on the theme colour.
// `maskable` keeps the drawing inside the 80 % safe zone on a full-bleed
// background, as Android's adaptive icons crop it.
import { deflateSync } from "node:zlib";

const THEME = [0x1f, 0x4e, 0x79];
const BAG = [0xf2, 0xc1, 0x4e];
const FLAP = [0xd9, 0x9a, 0x1e];
const CLASP = [0x1f, 0x4e, 0x79];

function crc32(buf) {
  let c, crc = 0xffffffff;
  for (let n = 0; n < buf.length; n++) {
    c = (crc ^ buf[n]) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/**
 * A PNG of `size` pixels from `pixel(x, y) -> [r, g, b, a]`, indexed: the
 * drawing has a handful of flat colours, so a palette (PLTE, with their
 * alphas in tRNS) and one byte a pixel make the icons about half the bytes
 * of RGBA (they are part of the first load).
 */
export function png(size, pixel) {
  const palette = [];
  const index = new Map();
  const indices = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const p = pixel(x + 0.5, y + 0.5);
      const key = p.join(",");
      if (!index.has(key)) {
        if (palette.length === 256) throw new Error("icon: more than 256 colours");
        index.set(key, palette.length);
        palette.push(p);
      }
      indices[y * size + x] = index.get(key);
    }
  }
  // A byte a pixel: packing a few colours into fewer bits deflates worse.
  const raw = Buffer.alloc(size * (size + 1));
  for (let y = 0; y < size; y++) {
    raw.set(indices.subarray(y * size, (y + 1) * size), y * (size + 1) + 1); // after filter byte 0
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 3; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  const plte = Buffer.from(palette.flatMap((p) => [p[0], p[1], p[2]]));
  const trns = Buffer.from(palette.map((p) => p[3]));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("PLTE", plte),
    chunk("tRNS", trns),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Inside a rounded rectangle (unit coordinates). */
const inRound = (x, y, x0, y0, x1, y1, r) => {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
};

/** The satchel in unit coordinates (0..1), or null for background. */
function satchel(u, v) {
  // handle: a ring above the bag
  const d = Math.hypot(u - 0.5, v - 0.3);
  if (v < 0.32 && d > 0.11 && d < 0.16) return BAG;
  if (inRound(u, v, 0.36, 0.44, 0.64, 0.56, 0.04) && v < 0.56) return CLASP;
  if (inRound(u, v, 0.18, 0.3, 0.82, 0.52, 0.08)) return FLAP;
  if (inRound(u, v, 0.18, 0.3, 0.82, 0.8, 0.1)) return BAG;
  return null;
}

/** One icon: `maskable` fills the square and shrinks the drawing to the safe zone. */
export function icon(size, maskable) {
  return png(size, (x, y) => {
    let u = x / size, v = y / size;
    if (maskable) {
      const s = satchel((u - 0.5) / 0.8 + 0.5, (v - 0.5) / 0.8 + 0.5);
      return s ? [...s, 255] : [...THEME, 255];
    }
    if (!inRound(u, v, 0.02, 0.02, 0.98, 0.98, 0.2)) return [0, 0, 0, 0];
    const s = satchel(u, v);
    return s ? [...s, 255] : [...THEME, 255];
  });
}
