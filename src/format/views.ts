/**
 * Reading caller-supplied binary data without trusting the object that holds it. A typed-array
 * subclass can override `length`, `subarray` or `buffer`, and a Proxy can answer anything (and
 * passes `instanceof`), so the reader and the runtime never ask the object: they read its internal
 * slots through the intrinsic getters of %TypedArray%.prototype and DataView.prototype — which a
 * subclass cannot override and which refuse a Proxy — and work on a plain view built from them.
 */

type Getter = (this: unknown) => unknown;

function intrinsicGetter(proto: object, key: PropertyKey): Getter {
  const get = Object.getOwnPropertyDescriptor(proto, key)?.get;
  if (!get) throw new Error(`no intrinsic ${String(key)} getter`);
  return get as Getter;
}

const TYPED = Object.getPrototypeOf(Uint8Array.prototype) as object;
const typedTag = intrinsicGetter(TYPED, Symbol.toStringTag);
const typedBuffer = intrinsicGetter(TYPED, 'buffer');
const typedByteOffset = intrinsicGetter(TYPED, 'byteOffset');
const typedByteLength = intrinsicGetter(TYPED, 'byteLength');
const typedLength = intrinsicGetter(TYPED, 'length');
const viewBuffer = intrinsicGetter(DataView.prototype, 'buffer');
const viewByteOffset = intrinsicGetter(DataView.prototype, 'byteOffset');
const viewByteLength = intrinsicGetter(DataView.prototype, 'byteLength');
const arrayBufferByteLength = intrinsicGetter(ArrayBuffer.prototype, 'byteLength');
const sharedByteLength = typeof SharedArrayBuffer === 'function' ? intrinsicGetter(SharedArrayBuffer.prototype, 'byteLength') : undefined;

/** The element type of a real typed array ('Float32Array', 'Uint8Array', …); undefined for anything else, a Proxy included. */
export function typedArrayTag(x: unknown): string | undefined {
  // The getter returns undefined (it does not throw) for a value without [[TypedArrayName]].
  return typedTag.call(x) as string | undefined;
}

/** The number of elements a real typed array holds (never its own `length` property). */
export function typedArrayLength(x: unknown): number {
  return typedLength.call(x) as number;
}

function isDataView(x: unknown): boolean {
  try {
    viewBuffer.call(x);
    return true;
  } catch {
    return false;
  }
}

/** The byte length of a real ArrayBuffer or SharedArrayBuffer, or -1 for anything else. */
function bufferByteLength(x: unknown): { length: number; shared: boolean } | null {
  try {
    return { length: arrayBufferByteLength.call(x) as number, shared: false };
  } catch {
    try {
      if (sharedByteLength) return { length: sharedByteLength.call(x) as number, shared: true };
    } catch {
      // neither
    }
  }
  return null;
}

/**
 * A plain Float32Array or Uint8Array over the same memory as `x` (a subclass, a Node Buffer or a
 * view on a SharedArrayBuffer included), as long as `x` really is; null for anything else or a
 * detached buffer.
 */
export function plainImageView(x: unknown): Float32Array | Uint8Array | null {
  const tag = typedArrayTag(x);
  if (tag !== 'Float32Array' && tag !== 'Uint8Array') return null;
  const buffer = typedBuffer.call(x) as ArrayBufferLike;
  const offset = typedByteOffset.call(x) as number;
  const length = typedLength.call(x) as number;
  try {
    return tag === 'Float32Array' ? new Float32Array(buffer, offset, length) : new Uint8Array(buffer, offset, length);
  } catch {
    return null;
  }
}

/**
 * The bytes of an ArrayBuffer, a SharedArrayBuffer, a DataView or any typed array, as a plain
 * Uint8Array over the same memory; `shared` says whether another thread may change them. Null
 * for anything else (numbers, strings, arrays, Proxies, detached buffers).
 */
export function plainBytes(x: unknown): { bytes: Uint8Array; shared: boolean } | null {
  try {
    let buffer: ArrayBufferLike;
    let offset = 0;
    let length: number;
    if (typedArrayTag(x) !== undefined) {
      buffer = typedBuffer.call(x) as ArrayBufferLike;
      offset = typedByteOffset.call(x) as number;
      length = typedByteLength.call(x) as number;
    } else if (isDataView(x)) {
      buffer = viewBuffer.call(x) as ArrayBufferLike;
      offset = viewByteOffset.call(x) as number;
      length = viewByteLength.call(x) as number;
    } else {
      const b = bufferByteLength(x);
      if (!b) return null;
      return { bytes: new Uint8Array(x as ArrayBufferLike, 0, b.length), shared: b.shared };
    }
    const shared = bufferByteLength(buffer)?.shared ?? false;
    return { bytes: new Uint8Array(buffer, offset, length), shared };
  } catch {
    return null;
  }
}
