/**
 * bnn-edge's quantised layers as tfjs-layers classes, with Larq's names and config keys
 * (larq.layers.QuantConv2D ↔ `QuantConv2D`, `input_quantizer`, `kernel_quantizer`, `pad_values`, …),
 * so that a Larq model saved in the tfjs Layers format loads with `tf.loadLayersModel` once these
 * classes are registered, and a .bnn can be exported as such a model (format/tfjs_interchange.ts).
 *
 * Forward semantics are bnn-edge's (model/tfjs/trainable.ts): a quantizer is sign with sign(0) = +1;
 * `pad_values: 1` with `same` padding pads the binarized input with +1; an `int8` conv (a bnn-edge
 * extension, never in a Larq file) quantizes the image to u8 as the runtime does. Gradients are the
 * straight-through estimates of bnn-edge's quantizers, so these layers also train in tfjs.
 *
 * Quantizers accepted: null; `ste_sign`, `ste_sign_gradclip`, `stochastic` (bnn-edge's names, as
 * strings in any of the snake/camel forms tfjs's JSON conversion produces); Larq's serialized
 * `{class_name: "SteSign", config: {clip_value: 1.0}}` (→ `ste_sign`) and `NoOp` (identity → null).
 * Larq's other sign-forward quantizers (ApproxSign, SwishSign, SteSign with another clip value)
 * load and compute the same forward pass; they are flagged `approximate` because bnn-edge has
 * no such training gradient (the importer refuses them unless asked). Quantizers whose forward
 * pass is not sign (MagnitudeAwareSign, SteTern, SteHeaviside, DoReFa) are refused.
 *
 * Stochastic kernels (model S): the layer computes sign(w) of the latent weights, deterministically
 * — each weight's more likely value, P(+1) = (w+1)/2 — not the runtime's per-call Bernoulli sample.
 */
import { tf } from '../../tfjs/backend.js';
import { convOutSize, padBefore, padTotal, TERNARY_THRESHOLD, type InputQuantizer, type KernelQuantizer, type Padding } from '../graph.js';
import { signSte, ternSte } from './ops.js';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = (number | null)[];
type Kwargs = Record<string, unknown>;

/** Constructor arguments: Larq's snake_case keys (or tfjs's camelCase, as tfjs's JSON loader passes them). */
export type QuantLayerArgs = LayerArgs & Record<string, unknown>;

/** A quantizer as a layer holds it: bnn-edge's name, what the config said, and whether the gradient is an approximation. */
export interface QuantizerSpec {
  readonly name: InputQuantizer | KernelQuantizer | null;
  /** The config value as given (emitted again by getConfig, so a Larq quantizer survives a save). */
  readonly config: unknown;
  /** Forward pass is sign, but the training gradient is not one bnn-edge has (ApproxSign, SwishSign, SteSign with clip ≠ 1). */
  readonly approximate: string | null;
}

/** Keys of the base Layer and of tfjs's deserializer: handled by tfjs, never passed through. */
const BASE_KEYS = new Set(['name', 'trainable', 'dtype', 'inputShape', 'batchInputShape', 'batchSize', 'inputDType', 'weights', 'customObjects']);

function camel(key: string): string {
  return key.replace(/_+(\w|$)/g, (_m, c: string) => c.toUpperCase());
}

function snake(s: string): string {
  return s
    .replace(/(.)([A-Z][a-z0-9]+)/g, '$1_$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** Reads config keys given in Larq's snake_case or tfjs's camelCase; remembers what was read. */
class ArgReader {
  private readonly used = new Set<string>();
  constructor(
    private readonly args: Record<string, unknown>,
    private readonly where: string,
  ) {}

  get(key: string): unknown {
    const c = camel(key);
    this.used.add(key).add(c);
    return this.args[key] !== undefined ? this.args[key] : this.args[c];
  }

  fail(msg: string): never {
    throw new Error(`${this.where}: ${msg}`);
  }

  int(key: string, dflt?: number): number {
    const v = this.get(key);
    if (v === undefined || v === null) {
      if (dflt !== undefined) return dflt;
      this.fail(`${key} is required`);
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) this.fail(`${key} must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  }

  pair(key: string, dflt?: [number, number]): [number, number] {
    const v = this.get(key);
    if ((v === undefined || v === null) && dflt) return dflt;
    const ok = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 1;
    if (ok(v)) return [v, v];
    if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]];
    if (Array.isArray(v) && v.length === 1 && ok(v[0])) return [v[0], v[0]];
    return this.fail(`${key} must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.get(key);
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') this.fail(`${key} must be true or false, got ${JSON.stringify(v)}`);
    return v as boolean;
  }

  padding(): Padding {
    const v = this.get('padding');
    if (v === undefined || v === null) return 'valid';
    if (v !== 'same' && v !== 'valid') this.fail(`padding must be "same" or "valid", got ${JSON.stringify(v)}`);
    return v as Padding;
  }

  channelsLast(): void {
    const v = this.get('data_format');
    if (v !== undefined && v !== null && v !== 'channels_last' && v !== 'channelsLast') this.fail(`data_format must be "channels_last" (bnn-edge is NHWC), got ${JSON.stringify(v)}`);
  }

  /** null (none) or 'relu'; Keras's 'linear' is none. */
  activation(): 'relu' | null {
    const v = this.get('activation');
    if (v === undefined || v === null || v === 'linear') return null;
    if (v === 'relu') return 'relu';
    return this.fail(`activation ${JSON.stringify(v)} is not supported (only none/"linear" or "relu")`);
  }

  /** Keys nobody read (initializers, regularizers, constraints, metrics, …): kept verbatim for getConfig. */
  rest(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.args)) if (!this.used.has(k) && !BASE_KEYS.has(k)) out[k] = v;
    return out;
  }
}

const SIGN_FORWARD_APPROX = new Set(['approx_sign', 'swish_sign']);
const NOT_SIGN = new Set(['magnitude_aware_sign', 'ste_heaviside', 'dorefa_quantizer', 'do_re_fa', 'do_re_fa_quantizer']);

/** Parses a quantizer config (string or Keras `{class_name, config}`), for an input (`kernel` false) or a kernel. */
export function parseQuantizer(v: unknown, kernel: boolean, where: string): QuantizerSpec {
  if (v === undefined || v === null) return { name: null, config: null, approximate: null };
  const refuse = (what: string): never => {
    throw new Error(`${where}: quantizer ${what} is not supported (bnn-edge binarizes with sign, +1 at 0: ste_sign, ste_sign_gradclip${kernel ? ', stochastic' : ''})`);
  };
  let id: string;
  let clip: unknown;
  let cfg: Record<string, unknown> = {};
  if (typeof v === 'string') id = snake(v);
  else if (typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const cls = o['class_name'] ?? o['className'];
    if (typeof cls !== 'string') return refuse(JSON.stringify(v));
    id = snake(cls);
    cfg = (o['config'] ?? {}) as Record<string, unknown>;
    clip = cfg['clip_value'] !== undefined ? cfg['clip_value'] : cfg['clipValue'];
    if (id === 'no_op' || id === 'no_op_quantizer') return { name: null, config: v, approximate: null };
  } else return refuse(JSON.stringify(v));
  if (id === 'ste_sign') {
    if (clip === undefined || clip === 1) return { name: 'ste_sign', config: v, approximate: null };
    return { name: 'ste_sign', config: v, approximate: `SteSign with clip_value ${JSON.stringify(clip)} (bnn-edge's ste_sign clips at 1)` };
  }
  if (id === 'ste_sign_gradclip') return { name: 'ste_sign_gradclip', config: v, approximate: null };
  if (id === 'stochastic') {
    if (!kernel) refuse(`"stochastic" on an input (only kernels may be stochastic)`);
    return { name: 'stochastic', config: v, approximate: null };
  }
  if (id === 'ste_tern') {
    if (!kernel) refuse(`"ste_tern" on an input (only kernels may be ternary)`);
    const t = cfg['threshold_value'] ?? cfg['thresholdValue'] ?? TERNARY_THRESHOLD;
    const twn = cfg['ternary_weight_networks'] ?? cfg['ternaryWeightNetworks'] ?? false;
    if (t !== TERNARY_THRESHOLD || twn !== false) refuse(`SteTern with threshold_value ${JSON.stringify(t)}, ternary_weight_networks ${JSON.stringify(twn)} (bnn-edge's ste_tern is SteTern's default: a fixed threshold ${TERNARY_THRESHOLD})`);
    return { name: 'ste_tern', config: v, approximate: null };
  }
  if (SIGN_FORWARD_APPROX.has(id)) return { name: 'ste_sign', config: v, approximate: `${id} (its forward pass is sign, its gradient is not one bnn-edge has)` };
  if (NOT_SIGN.has(id)) refuse(`${id} (its forward pass is not sign)`);
  return refuse(JSON.stringify(v));
}

/** Padding [[top, bottom], [left, right]] of TensorFlow's SAME rule for an h×w input. */
function samePads(h: number, w: number, k: readonly [number, number], s: readonly [number, number]): [[number, number], [number, number]] {
  const th = padTotal(h, k[0], s[0], 'same');
  const tw = padTotal(w, k[1], s[1], 'same');
  const top = padBefore(h, k[0], s[0], 'same');
  const left = padBefore(w, k[1], s[1], 'same');
  return [
    [top, th - top],
    [left, tw - left],
  ];
}

function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

function singleShape(s: Shape | Shape[]): Shape {
  return Array.isArray(s[0]) ? (s[0] as Shape) : (s as Shape);
}

/** sign(w) (+1 at 0) with the straight-through gradient of the quantizer; ste_tern's {−1, 0, +1}. */
function quantize(q: InputQuantizer | KernelQuantizer | null, x: tf.Tensor): tf.Tensor {
  return q === 'ste_tern' ? ternSte(x) : q ? signSte(q, x) : x;
}

/** Weight key of a layer variable: the part after the layer's scope (`conv1/kernel` → `kernel`). */
export function weightKey(v: tf.LayerVariable): string {
  const n = v.originalName ?? v.name;
  return n.slice(n.lastIndexOf('/') + 1);
}

/**
 * Larq's QuantConv2D: a 2-D convolution on `input_quantizer(x)` with `kernel_quantizer(kernel)`,
 * SAME padding of a quantized input with `pad_values`. Weights `kernel` [kh, kw, cin, filters],
 * `bias` [filters] with `use_bias`, and — only with bnn-edge's `int8: true` — `weight_scale`
 * [filters], the per-channel scale the kernel was dequantized with (so an int8 first layer comes
 * back to a .bnn bit for bit).
 */
export class QuantConv2D extends tf.layers.Layer {
  static className = 'QuantConv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: Padding;
  readonly padValues: number;
  readonly inputQuantizer: QuantizerSpec;
  readonly kernelQuantizer: QuantizerSpec;
  readonly useBias: boolean;
  readonly activation: 'relu' | null;
  readonly int8: boolean;
  private readonly extra: Record<string, unknown>;
  private kernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;

  constructor(args: QuantLayerArgs) {
    super(args);
    const r = new ArgReader(args, `QuantConv2D ${this.name}`);
    this.filters = r.int('filters');
    this.kernelSize = r.pair('kernel_size');
    this.strides = r.pair('strides', [1, 1]);
    this.padding = r.padding();
    const pv = r.get('pad_values');
    if (pv !== undefined && pv !== null && (typeof pv !== 'number' || !Number.isFinite(pv))) r.fail(`pad_values must be a number, got ${JSON.stringify(pv)}`);
    this.padValues = (pv as number | undefined | null) ?? 0;
    this.inputQuantizer = parseQuantizer(r.get('input_quantizer'), false, `QuantConv2D ${this.name} input_quantizer`);
    this.kernelQuantizer = parseQuantizer(r.get('kernel_quantizer'), true, `QuantConv2D ${this.name} kernel_quantizer`);
    this.useBias = r.bool('use_bias', true);
    this.activation = r.activation();
    this.int8 = r.bool('int8', false);
    r.channelsLast();
    const dil = r.pair('dilation_rate', [1, 1]);
    if (dil[0] !== 1 || dil[1] !== 1) r.fail(`dilation_rate ${dil.join('×')} is not supported (1 only)`);
    const groups = r.get('groups');
    if (groups !== undefined && groups !== null && groups !== 1) r.fail(`groups ${JSON.stringify(groups)} is not supported (1 only)`);
    if (this.int8 && (this.inputQuantizer.name || this.kernelQuantizer.name)) r.fail(`int8 applies to a float conv on the image (no quantizers)`);
    this.extra = r.rest();
  }

  override build(inputShape: Shape | Shape[]): void {
    const s = singleShape(inputShape);
    if (s.length !== 4) throw new Error(`QuantConv2D ${this.name}: expects a 4-D input [batch, h, w, c], got [${s.join(', ')}]`);
    const cin = s[3];
    if (cin === null || cin === undefined) throw new Error(`QuantConv2D ${this.name}: the input's channels must be known`);
    this.kernel = this.addWeight('kernel', [this.kernelSize[0], this.kernelSize[1], cin, this.filters], 'float32', tf.initializers.glorotUniform({}));
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    if (this.int8) this.addWeight('weight_scale', [this.filters], 'float32', tf.initializers.ones(), undefined, false);
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = singleShape(inputShape);
    const out = (n: number | null, i: 0 | 1) => (n === null ? null : convOutSize(n, this.kernelSize[i], this.strides[i], this.padding));
    return [s[0] ?? null, out(s[1] ?? null, 0), out(s[2] ?? null, 1), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      let x = single(inputs) as tf.Tensor4D;
      // The runtime's u8 image: ⌊255·x + ½⌋ clipped to [0, 255]; the sums are taken in units of 1/255.
      if (this.int8) x = tf.clipByValue(tf.floor(tf.add(tf.mul(x, 255), 0.5)), 0, 255) as tf.Tensor4D;
      x = quantize(this.inputQuantizer.name, x) as tf.Tensor4D;
      let pad: Padding = this.padding;
      if (pad === 'same' && this.padValues !== 0) {
        // Larq's pad_values: the (quantized) input is padded explicitly, then convolved VALID.
        const [ph, pw] = samePads(x.shape[1], x.shape[2], this.kernelSize, this.strides);
        if (ph[0] + ph[1] + pw[0] + pw[1] > 0) x = tf.pad(x, [[0, 0], ph, pw, [0, 0]], this.padValues);
        pad = 'valid';
      }
      const k = quantize(this.kernelQuantizer.name, this.kernel!.read()) as tf.Tensor4D;
      let y: tf.Tensor = tf.conv2d(x, k, this.strides, pad);
      if (this.int8) y = tf.div(y, 255);
      if (this.bias) y = tf.add(y, this.bias.read());
      if (this.activation === 'relu') y = tf.relu(y);
      return y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const c: tf.serialization.ConfigDict = {
      ...super.getConfig(),
      ...(this.extra as tf.serialization.ConfigDict),
      filters: this.filters,
      kernel_size: [...this.kernelSize],
      strides: [...this.strides],
      padding: this.padding,
      data_format: 'channels_last',
      dilation_rate: [1, 1],
      activation: this.activation ?? 'linear',
      use_bias: this.useBias,
      input_quantizer: this.inputQuantizer.config as tf.serialization.ConfigDictValue,
      kernel_quantizer: this.kernelQuantizer.config as tf.serialization.ConfigDictValue,
      pad_values: this.padValues,
    };
    if (this.int8) c['int8'] = true;
    return c;
  }
}

/**
 * Larq's QuantDense: `input_quantizer(x) · kernel_quantizer(kernel) (+ bias)` on the last axis.
 * Weights `kernel` [in, units] and `bias` [units] with `use_bias`.
 */
export class QuantDense extends tf.layers.Layer {
  static className = 'QuantDense';
  readonly units: number;
  readonly inputQuantizer: QuantizerSpec;
  readonly kernelQuantizer: QuantizerSpec;
  readonly useBias: boolean;
  readonly activation: 'relu' | null;
  private readonly extra: Record<string, unknown>;
  private kernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;

  constructor(args: QuantLayerArgs) {
    super(args);
    const r = new ArgReader(args, `QuantDense ${this.name}`);
    this.units = r.int('units');
    this.inputQuantizer = parseQuantizer(r.get('input_quantizer'), false, `QuantDense ${this.name} input_quantizer`);
    this.kernelQuantizer = parseQuantizer(r.get('kernel_quantizer'), true, `QuantDense ${this.name} kernel_quantizer`);
    this.useBias = r.bool('use_bias', true);
    this.activation = r.activation();
    this.extra = r.rest();
  }

  override build(inputShape: Shape | Shape[]): void {
    const s = singleShape(inputShape);
    const cin = s[s.length - 1];
    if (cin === null || cin === undefined) throw new Error(`QuantDense ${this.name}: the input's last dimension must be known`);
    this.kernel = this.addWeight('kernel', [cin, this.units], 'float32', tf.initializers.glorotUniform({}));
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = singleShape(inputShape);
    return [...s.slice(0, -1), this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const cin = x.shape[x.shape.length - 1]!;
      const flat = quantize(this.inputQuantizer.name, tf.reshape(x, [-1, cin])) as tf.Tensor2D;
      let y: tf.Tensor = tf.matMul(flat, quantize(this.kernelQuantizer.name, this.kernel!.read()) as tf.Tensor2D);
      if (this.bias) y = tf.add(y, this.bias.read());
      if (this.activation === 'relu') y = tf.relu(y);
      return tf.reshape(y, [...x.shape.slice(0, -1), this.units]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      ...(this.extra as tf.serialization.ConfigDict),
      units: this.units,
      activation: this.activation ?? 'linear',
      use_bias: this.useBias,
      input_quantizer: this.inputQuantizer.config as tf.serialization.ConfigDictValue,
      kernel_quantizer: this.kernelQuantizer.config as tf.serialization.ConfigDictValue,
    };
  }
}

/** bnn-edge's `scale` layer (the paper's model C, "scale output after ReLU"): x · s with one trainable scalar `scale`. */
export class Scale extends tf.layers.Layer {
  static className = 'Scale';
  readonly init: number;
  private scale: tf.LayerVariable | null = null;

  constructor(args: QuantLayerArgs = {}) {
    super(args);
    const r = new ArgReader(args, `Scale ${this.name}`);
    const init = r.get('init');
    if (init !== undefined && init !== null && (typeof init !== 'number' || !Number.isFinite(init))) r.fail(`init must be a number, got ${JSON.stringify(init)}`);
    this.init = (init as number | undefined | null) ?? 1;
    const rest = Object.keys(r.rest());
    if (rest.length) r.fail(`unknown config key${rest.length > 1 ? 's' : ''} ${rest.join(', ')}`);
  }

  override build(_inputShape: Shape | Shape[]): void {
    this.scale = this.addWeight('scale', [], 'float32', tf.initializers.constant({ value: this.init }));
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return singleShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => tf.mul(single(inputs), this.scale!.read()));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), init: this.init };
  }
}

let registered = false;

/** Registers QuantConv2D, QuantDense and Scale with tfjs's serialization (idempotent; done on import too). */
export function registerBnnLayers(): void {
  if (registered) return;
  for (const cls of [QuantConv2D, QuantDense, Scale]) tf.serialization.registerClass(cls as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
  registered = true;
}

registerBnnLayers();
