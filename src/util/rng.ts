/**
 * Seeded pseudo-random numbers. Everything stochastic in bnn-edge (data split, weight init,
 * shuffling, PGD random starts, Bernoulli weight sampling) draws from here so that a seed
 * reproduces a run exactly.
 *
 * The generator is SplitMix32 → xoshiro128**: tiny, fast, and easy to re-implement bit for bit in
 * AssemblyScript (the runtime samples model S's weights with the same algorithm).
 */

/** One step of SplitMix32; used to expand a 32-bit seed into generator state. */
export function splitmix32(state: number): [value: number, next: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [(z ^ (z >>> 16)) >>> 0, next];
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let st = seed | 0;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [v, n] = splitmix32(st);
      words.push(v);
      st = n;
    }
    [this.s0, this.s1, this.s2, this.s3] = words as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The generator's state: four 32-bit words (to save a run and continue it later). */
  state(): [number, number, number, number] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  /** A generator that continues exactly where the one whose `state()` this is stood. */
  static fromState(state: readonly number[]): Rng {
    if (!isGeneratorState(state)) {
      throw new RangeError(`generator state must be four 32-bit words, not all zero; got ${JSON.stringify(state)}`);
    }
    const rng = new Rng(0);
    [rng.s0, rng.s1, rng.s2, rng.s3] = state.map((w) => w | 0) as [number, number, number, number];
    return rng;
  }

  /** Uniform unsigned 32-bit integer (xoshiro128**). */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A fresh 31-bit seed for a sub-generator or a seeded tfjs op. */
  seed(): number {
    return this.nextU32() >>> 1;
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(a: T[] | Int32Array | Uint32Array): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
  }
}

/** Whether `words` can be a generator's state: four 32-bit words, not all zero (as `Rng.state()` returns). */
export function isGeneratorState(words: unknown): words is number[] {
  return Array.isArray(words) && words.length === 4 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) && words.some((w) => w !== 0);
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
