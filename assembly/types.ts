// Shared conventions and guards for every kernel in this module.
//
// Bit convention (the whole project depends on it):
//   a ±1 value is stored as ONE bit: bit 0 <-> +1, bit 1 <-> -1 (think "sign bit"); sign(0) = +1.
//
// Packed activations: u32 words, layout [n][h][w][wpp] with wpp = ceil(c / 32) words per pixel;
//   channel ch is bit (ch % 32) (LSB = bit 0) of word (ch >> 5) of its pixel. Padding bits
//   (channels >= c in the last word) are always 0.
// Packed binary weights: u32 words, layout [cout][kh][kw][wpp], same per-pixel packing.
//
// Hence for one output: dot(±1) = nValid - 2·P, where P is the popcount of the XOR over all
// kh·kw·wpp words of the window and nValid = kh·kw·cin (padding bits are 0 on both sides).
//
// Defence in depth: every exported kernel validates its arguments before touching memory:
// dims must be positive and every buffer [ptr, ptr + bytes) must lie inside
// [heapBase(), memory.size() << 16). Sizes are computed in u64 with saturation, so no product of
// dimensions can wrap around. A violation calls abort() (an `env.abort` import followed by
// `unreachable`), never `assert` (which --noAssert would strip). Messages are static strings:
// kernels never allocate.

/** Any size at or above this is certainly out of bounds (wasm32 memory is at most 4 GiB). */
// @ts-ignore: decorator
@inline const SIZE_CAP: u64 = 1 << 33;

/** First usable byte for caller buffers: __heap_base rounded up to 16. */
// @ts-ignore: decorator
@inline export function heapStart(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}

/** Current size of linear memory in bytes. */
// @ts-ignore: decorator
@inline export function memoryBytes(): u64 {
  return (<u64>memory.size()) << 16;
}

/** Traps with `msg`. */
export function fail(msg: string): void {
  abort(msg);
}

/** a·b for non-negative i32 dims / partial products, saturating at SIZE_CAP (cannot wrap). */
// @ts-ignore: decorator
@inline export function mulSat(a: u64, b: u64): u64 {
  // a <= SIZE_CAP = 2^33 and b < 2^31, so the product is < 2^64.
  const p = a * b;
  return p > SIZE_CAP ? SIZE_CAP : p;
}

/** Product of up to five non-negative dims (pass 1 for unused factors), saturating. */
export function count5(a: i32, b: i32, c: i32, d: i32, e: i32): u64 {
  return mulSat(mulSat(mulSat(mulSat(<u64>a, <u64>b), <u64>c), <u64>d), <u64>e);
}

/** Aborts unless v > 0. */
export function requirePositive(v: i32, msg: string): void {
  if (v <= 0) fail(msg);
}

/** Aborts unless v >= 0. */
export function requireNonNegative(v: i32, msg: string): void {
  if (v < 0) fail(msg);
}

/** Aborts unless the buffer [ptr, ptr + bytes) lies within [heapStart(), memory end). */
export function requireBuffer(ptr: usize, bytes: u64, msg: string): void {
  if (<u64>ptr < <u64>heapStart() || <u64>ptr + bytes > memoryBytes()) fail(msg);
}

/** Words needed to pack `c` channels: ceil(c / 32). */
// @ts-ignore: decorator
@inline export function wordsFor(c: i32): i32 {
  return (c + 31) >>> 5;
}

/** popcount of a u32 word as i32. */
// @ts-ignore: decorator
@inline export function popcnt32(x: u32): i32 {
  return <i32>popcnt<u32>(x);
}

/** popcount of a u64 as i64. */
// @ts-ignore: decorator
@inline export function popcnt64(x: u64): i64 {
  return <i64>popcnt<u64>(x);
}

/**
 * Writes result bits of one pixel for channels co, co+1, ... (bit j = channel co + j, all inside
 * one word) into that pixel's output word. Kernels visit channel blocks in ascending order and
 * every word starts a block, so the block at co % 32 == 0 stores and later blocks OR.
 */
// @ts-ignore: decorator
@inline export function putBits(word: usize, bits: u32, co: i32): void {
  if ((co & 31) == 0) store<u32>(word, bits);
  else store<u32>(word, load<u32>(word) | (bits << <u32>(co & 31)));
}
