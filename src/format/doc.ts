/**
 * Generates docs/FORMAT.md from the layout tables in layout.ts and layout_v1.ts, the tensor plan
 * of each layer kind (model.ts) and the limits the graph rules enforce, so the document cannot
 * drift from the code (a test compares the committed file with this output).
 */
import { DEFAULT_BN_EPSILON, GRAPH_LIMITS, type Layer, type LayerShape } from '../model/graph.js';
import { ARCHS, paperModel } from '../model/presets.js';
import {
  DType,
  FORMAT_MAJOR,
  FORMAT_MINOR,
  HEADER_FIELDS,
  HEADER_SIZE,
  INPUT_QUANTIZER_CODES,
  KERNEL_QUANTIZER_CODES,
  KIND_CODES,
  LAYER_FIELDS,
  LAYER_RECORD_SIZE,
  LayerFlag,
  LIMITS,
  MAGIC,
  PAYLOAD_ALIGN,
  ROLE_DTYPE,
  ROLE_NAMES,
  TENSOR_FIELDS,
  TENSOR_RECORD_SIZE,
  type Field,
  type RoleCode,
} from './layout.js';
import { V1_HEADER_FIELDS, V1_LAYER_FIELDS, V1_TENSOR_FIELDS } from './layout_v1.js';
import { layerTensorPlan } from './model.js';
import { PREAMBLE_BYTES } from './read.js';

function fieldTable(fields: readonly Field[]): string {
  const rows = fields.map((f) => `| ${f.offset} | ${f.type === 'name' ? `u8[${f.size}]` : f.type} | \`${f.name}\` | ${f.doc} |`);
  return ['| offset | type | field | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

const ROLE_DOCS: Record<RoleCode, string> = {
  1: 'float weights: conv HWIO, dense `[in, units]`',
  2: 'binary weights as sign bits (bit layout below)',
  3: 'stochastic binary weights, one byte q per weight, P(w = +1) = q / 255',
  4: 'batch norm: moving mean μ',
  5: 'batch norm: moving variance σ², each ≥ 0',
  6: 'batch norm: shift β, stored only with `CENTER` (else β = 0)',
  7: 'batch norm: scale γ, stored only with `SCALE` (else γ = 1)',
  8: 'a scale layer\'s scalar s',
  9: 'int8 weights q, HWIO, w ≈ q · weightScale[cout]',
  10: 'int8 weight scale per output channel, each > 0',
  11: 'bias per output channel',
  12: 'ternary weights (`ste_tern`, 2.1): bit 1 where the weight is nonzero, laid out as sign bits; the `weightsSign` bits are 0 where this is 0, so a weight is +1 (mask 1, sign 0), −1 (1, 1) or 0 (0, 0). A binary layer with it computes Σ ±1 = n₁ − 2·popcount((x XOR w) AND m), n₁ the filter\'s nonzero weights',
};

/** The tensors of one layer variant, from the real tensor plan with symbolic sizes. */
function planRows(label: string, layer: Layer, cin = 1001): string {
  const sym: Record<number, string> = { 1001: 'cin', 1002: 'cout', 1003: 'kh', 1004: 'kw', 1: '1', 2002: 'units', 3003: 'in' };
  const s: LayerShape = { layer, inputs: [[1, 1, cin]], output: [1, 1, 1002] };
  const list = layerTensorPlan(s).map((t) => `\`${ROLE_NAMES[t.role]}\` [${t.dims.map((d) => sym[d] ?? String(d)).join(', ')}]`);
  return `| ${label} | ${list.length ? list.join(', ') : 'none'} |`;
}

function tensorPlanTable(): string {
  const base = { name: 'x', inputs: ['input'] };
  const conv = { ...base, kind: 'quantConv2d', filters: 1002, kernelSize: [1003, 1004], strides: [1, 1], padding: 'valid', padValue: null, inputQuantizer: null, kernelQuantizer: null, useBias: false, int8: false } as const;
  const dense = { ...base, kind: 'quantDense', units: 2002, inputQuantizer: null, kernelQuantizer: null, useBias: false } as const;
  return [
    '| layer | tensors, in this order (dims as stored) |',
    '|---|---|',
    planRows('quantConv2d, float weights', conv),
    planRows('quantConv2d with `INT8`', { ...conv, int8: true }),
    planRows('quantConv2d, kernelQuantizer ste_sign / ste_sign_gradclip', { ...conv, kernelQuantizer: 'ste_sign' }),
    planRows('quantConv2d, kernelQuantizer stochastic', { ...conv, kernelQuantizer: 'stochastic' }),
    planRows('quantConv2d, kernelQuantizer ste_tern (2.1)', { ...conv, kernelQuantizer: 'ste_tern' }),
    planRows('quantDense, float weights', dense, 3003),
    planRows('quantDense, kernelQuantizer ste_sign / ste_sign_gradclip', { ...dense, kernelQuantizer: 'ste_sign' }, 3003),
    planRows('quantDense, kernelQuantizer stochastic', { ...dense, kernelQuantizer: 'stochastic' }, 3003),
    planRows('quantDense, kernelQuantizer ste_tern (2.1)', { ...dense, kernelQuantizer: 'ste_tern' }, 3003),
    '| … with `USE_BIAS` | the above, then `bias` [cout] (dense: [units]) |',
    planRows('batchNorm (c channels), `CENTER` and `SCALE`', { ...base, kind: 'batchNorm', center: true, scale: true, epsilon: 1e-3 }, 1001).replace(/cin/g, 'c'),
    planRows('batchNorm without `SCALE` (Larq\'s usual)', { ...base, kind: 'batchNorm', center: true, scale: false, epsilon: 1e-3 }, 1001).replace(/cin/g, 'c'),
    planRows('scale', { ...base, kind: 'scale', init: 1 }),
    '| relu, maxPool2d, avgPool2d, globalAvgPool2d, add, flatten | none |',
  ].join('\n');
}

const KIND_DOCS: Record<string, string> = {
  quantConv2d: '2-D convolution: `units` filters of `kernelH×kernelW`, strides, padding (`SAME` flag; TensorFlow\'s rules), optional bias; an input quantizer binarizes the input, a kernel quantizer the weights (Larq\'s QuantConv2D)',
  quantDense: 'fully connected layer of `units` outputs on a 1×1×in input (after flatten / globalAvgPool2d), optional bias, quantizers as quantConv2d (Larq\'s QuantDense)',
  batchNorm: 'batch normalization with its moving statistics, ε (`epsilon`), β (`CENTER`) and γ (`SCALE`)',
  relu: 'max(x, 0)',
  scale: 'x · s, one scalar (the paper\'s model C: "scale output after ReLU")',
  maxPool2d: 'max over `kernelH×kernelW` windows, strides, `SAME` flag (padding ignored, as TensorFlow)',
  avgPool2d: 'mean over the window; with `SAME`, over the taps inside the input (as TensorFlow)',
  globalAvgPool2d: 'mean over all pixels → 1×1×c',
  add: 'elementwise sum of two inputs of the same shape (residual shortcuts)',
  flatten: 'H×W×C → 1×1×(H·W·C), in (h, w, c) order',
};

/** The paper's architectures as the graphs a 1.x file is read as, K symbolic. */
function presetListing(): string {
  const k = 1000;
  const sizes = (n: number) => (n === k ? 'K' : n === 2 * k ? '2K' : String(n));
  return ARCHS.map((arch) => {
    const layers = paperModel(arch, k).layers.map((l) => {
      if (l.kind === 'quantConv2d') return `${l.name} (${sizes(l.filters)} ${l.kernelSize.join('×')}/${l.strides[0]} ${l.padding}${l.kernelQuantizer === 'stochastic' ? ', stochastic' : l.kernelQuantizer ? ', binary' : ''}${l.useBias ? ', bias' : ''})`;
      if (l.kind === 'quantDense') return `${l.name} (${l.units}${l.useBias ? ', bias' : ''})`;
      return l.name;
    });
    return `- **${arch}**: ${layers.join(' → ')}`;
  }).join('\n');
}

export function formatDoc(): string {
  const magic = MAGIC.map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const roleRows = (Object.keys(ROLE_NAMES).map(Number) as RoleCode[]).map((r) => `| ${r} | \`${ROLE_NAMES[r]}\` | ${ROLE_DTYPE[r]} | ${ROLE_DOCS[r]} |`);
  const kindRows = KIND_CODES.map((k, i) => `| ${i + 1} | \`${k}\` | ${KIND_DOCS[k]} |`);
  const q = (codes: readonly (string | null)[]) => codes.map((c, i) => `${i} = ${c ?? 'none'}`).join(', ');
  return `# The .bnn format, version ${FORMAT_MAJOR}.${FORMAT_MINOR}

<!-- Generated by \`bnn-edge format-doc\` from src/format/layout.ts. Do not edit by hand. -->

A \`.bnn\` file is the single deployable artifact of bnn-edge: one trained model — its graph of
layers and their tensors, binary weights packed 32 to a word. This document specifies the bytes,
the checks a reader must make, and the arithmetic, so that a reader written from it alone computes
the same logits as bnn-edge's runtime **bit for bit** (the conformance vectors in
\`test/conformance/\` check exactly that). All integers and floats are **little-endian**; floats are
IEEE-754 binary32 ("float32") unless float64 is said.

## File structure

| bytes | content |
|---|---|
| 0 – ${HEADER_SIZE - 1} | header (below) |
| ${HEADER_SIZE} – ${HEADER_SIZE} + ${LAYER_RECORD_SIZE}·L − 1 | layer table: L records of ${LAYER_RECORD_SIZE} bytes — the model graph |
| … + ${TENSOR_RECORD_SIZE}·T | tensor table: T records of ${TENSOR_RECORD_SIZE} bytes |
| payloadOffset – end | tensor data, in tensor-table order, each starting at the next multiple of ${PAYLOAD_ALIGN}; every gap byte is 0 |

## Header

Bytes 0–7 are the magic number \`${magic}\` ("\\x89BNN\\r\\n\\x1a\\n"; the non-ASCII first byte and
the CR LF / EOF bytes catch files mangled by text-mode transfers).

${fieldTable(HEADER_FIELDS)}

The checksum covers every byte after the \`crc32\` field: CRC-32 (polynomial 0xEDB88320 reflected,
initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF — zlib's \`crc32\`) over bytes [24, fileBytes). A
reader rejects another major version; a minor version only adds. Version 1.x files (the paper's
fixed models) are described in the appendix; bnn-edge reads them as the 2.0 graph they are.

## Layer table: the model graph

One record per layer, in order; a layer reads the image or layers before it, so the table is a
topological order of the graph, and the last layer's output (1×1×classes) is the logits.

${fieldTable(LAYER_FIELDS)}

Layer kinds:

| code | kind | computes |
|---|---|---|
${kindRows.join('\n')}

Codes: inputQuantizer ${q(INPUT_QUANTIZER_CODES)}; kernelQuantizer ${q(KERNEL_QUANTIZER_CODES)}.
Flags: \`USE_BIAS\` = ${LayerFlag.USE_BIAS} (quantConv2d, quantDense), \`INT8\` = ${LayerFlag.INT8} (quantConv2d), \`CENTER\` = ${LayerFlag.CENTER} and \`SCALE\` = ${LayerFlag.SCALE} (batchNorm), \`SAME\` = ${LayerFlag.SAME} (quantConv2d, maxPool2d, avgPool2d).

**Every record is canonical**: a field a kind does not use is 0, a flag it does not use is clear, and
\`outHeight\`, \`outWidth\`, \`outChannels\` equal the shape the rules below give. A reader builds the
graph from the fields a kind uses, validates it, re-derives each record and rejects any difference.

Shapes (h×w×c input): quantConv2d gives ⌈h/sH⌉×⌈w/sW⌉×units with \`SAME\`, ⌊(h−kH)/sH⌋+1 × ⌊(w−kW)/sW⌋+1
× units without (both ≥ 1); pools likewise with c channels; quantDense needs h = w = 1 and gives
1×1×units; globalAvgPool2d gives 1×1×c; flatten 1×1×(h·w·c); add needs two equal shapes; the rest keep
the shape. \`SAME\` pads ⌊total/2⌋ before and the rest after, total = max((out−1)·s + k − in, 0)
(TensorFlow's rule).

Graph rules a reader enforces (bnn-edge's \`defineGraph\`, errors name the layer):
- names unique, 1–${GRAPH_LIMITS.maxNameLength} bytes of A–Z a–z 0–9 _ . -, not \`input\`; inputs only the image or earlier layers;
  every layer but the last is read by some layer; at most ${GRAPH_LIMITS.maxLayers} layers;
- kernel and pool sizes and strides 1–${GRAPH_LIMITS.maxKernel}; units 1–${GRAPH_LIMITS.maxChannels}; an image of at most ${GRAPH_LIMITS.maxSide}×${GRAPH_LIMITS.maxSide}×${GRAPH_LIMITS.maxInputChannels}; at most
  ${GRAPH_LIMITS.maxTensorValues} values per image in any layer's output; batchNorm ε in (0, 1);
- an input quantizer is never on a layer reading the image, and needs a kernel quantizer (binary
  inputs take binary weights); \`stochastic\` weights need a binarized input;
- \`padValue\` is 1 or 2 exactly on a quantConv2d with an input quantizer and \`SAME\`, else 0;
- \`INT8\` only on a quantConv2d without quantizers that reads the image, with kH·kW·C ≤ ${GRAPH_LIMITS.maxInt8Taps}, and
  whose output reaches only binarized inputs (through batchNorm, relu, scale, maxPool2d, flatten).

## Tensor table

${fieldTable(TENSOR_FIELDS)}

Roles:

| role | name | dtype | meaning |
|---|---|---|---|
${roleRows.join('\n')}

Element encodings: dtype ${DType.f32} = f32; dtype ${DType.signBits} = packed sign bits in u32 words; dtype ${DType.probU8} = u8; dtype ${DType.i8} = i8 (two's complement).
\`byteLength\` must equal 4·Π dims (f32), Π dims (u8, i8), 4·d0·d1·d2·⌈d3/32⌉ (sign bits).

Each layer has exactly these tensors, in this order, and the tensor table lists them layer by layer
(cin: the input's channels; in: a dense layer's input features):

${tensorPlanTable()}

## Bit layout of packed signs

A ±1 value is one bit: **bit 0 ↔ +1, bit 1 ↔ −1** (the IEEE sign bit; sign(0) = +1). The 32
channels c = 32·j … 32·j + 31 of one pixel (or one filter tap) share u32 word j; channel c is bit
(c mod 32), counting from the least significant bit. A pixel with c channels takes ⌈c/32⌉ words;
unused high bits of its last word are 0 (readers reject files where they are not). Binary conv
weights are \`[cout][kh][kw][word]\`; a binary dense layer's are \`[units][word]\` over its flat input
features. A stochastic layer's bytes are in the same order, one per weight.

## What the model computes

The logits of an image x (H×W×C float32 values in [0, 1], row-major, channels last) follow from the
graph. Every layer is computed literally, in float32, with the orders below — **except** where a
layer binarizes its input: there the sign is decided exactly from the nearest computed value, as
described next. Anything not listed is plain IEEE float32 (one rounding per operation, no fused
multiply-add).

**Computed values.**
- quantConv2d without an input quantizer: for each output, start from +0 and add x·w over the
  taps in (ky, kx, ci) ascending order, skipping taps outside the input (zero padding); w is the
  float weight, or ±1 for binary weights (a binary-weight conv on a float input, Larq's usual
  first layer). Then \`+ bias\` if any.
- quantDense without an input quantizer: start from +0, add x[k]·w[k][j] in ascending k (binary
  weights: ±1 from the sign bits of unit j); then \`+ bias\`.
- quantConv2d or quantDense **with** an input quantizer: the ±1 dot product y = n − 2P as an exact
  integer (n = kh·kw·cin, dense: in; P = Σ popcount(input word XOR weight word) over the window, see
  padding below), converted to float32 where a float is needed, then \`+ bias\` if any. With
  ternary weights (\`ste_tern\`, 2.1) only the nonzero weights count: y = n₁ − 2P with
  P = Σ popcount((input word XOR weight word) AND mask word) and n₁ the filter's mask bits (a unit
  whose weights are all 0 gives y = 0); without an input quantizer, ternary weights are the floats
  −1, 0, +1. Ternary weights never go with zero padding (\`padValue\` 0).
- \`INT8\` quantConv2d: acc = Σ x_q·q, the exact integer sum of the u8 image
  x_q = clamp(⌊f32(f32(x·255) + 0.5)⌋, 0, 255) and the int8 weights q (zero padding); its value is
  used only to decide signs (below), never as a float.
- batchNorm: y = x·a + b, a = f32(a₆₄), b = f32(b₆₄), where a₆₄ = γ / √(σ² + ε) and
  b₆₄ = β − μ·a₆₄ are computed in float64 from the float32 parameters and the float32 ε.
- relu: max(x, +0) (−0 becomes +0); scale: x·s; add: a + b.
- maxPool2d: the first tap inside the input, then \`m = v > m ? v : m\` over the later taps in
  (ky, kx) order. avgPool2d: the sum of the taps inside the input in (ky, kx) order from +0,
  divided by their count. globalAvgPool2d: the sum over pixels in row-major order from +0, divided
  by h·w. flatten: the same values in (h, w, c) order.

**Binarized inputs.** A quantConv2d or quantDense with an input quantizer sees +1 where its input
v ≥ 0 and −1 elsewhere (sign(0) = +1; the two quantizers differ only in training). To decide it,
walk back from the layer through batchNorm, relu, scale, maxPool2d and flatten layers (whatever
else reads them) to the first layer that is none of these — a quantConv2d, quantDense, avgPool2d,
globalAvgPool2d, add, or the image. Its value, **before** its bias, is y; the chain is the bias
(if any) followed by the batchNorm / relu / scale operations met on the way, in graph order. The
sign is **+1 iff f(y) ≥ 0, with f the chain evaluated in float64** (bias as y + bias, batchNorm as
y·a₆₄ + b₆₄, scale as y·s, relu as max(y, 0), each one float64 operation) on the real value of y:
a float32 value itself (an infinite y, possible only if a float sum overflows, takes the sign f
has on the largest finite values of its sign); for a binary layer, y = n − 2P (or, with zero
padding, the corrected value below); for an \`INT8\` conv, y = (acc · weightScale[c]) / 255 in
float64. This holds when the walk met

1. batchNorm, relu, scale and maxPool2d layers, then at most one flatten with nothing after it: the sign is
   taken per channel at y's resolution, then each maxPool2d is applied to the signs in graph order
   — per channel the window's maximum of ±1 values (+1 if any tap is +1) when the batchNorm and
   scale operations after that pool have an even number of negative factors (a₆₄ < 0 or s < 0;
   a zero factor counts as positive), else the minimum — and a flatten reorders the signs; or
2. batchNorm, relu and scale layers (no maxPool2d), one flatten, then batchNorm, relu and scale
   layers: the sign is taken per feature of the flattened values, each feature with the operations
   before the flatten (those of its channel) and its own after it.

Any other walk (a maxPool2d after the flatten, or operations after a flatten that follows a
maxPool2d) computes v in float32 as the computed values say, and takes its sign. An
\`INT8\` conv's output reaches binarized inputs only through walks of kind 1 (a graph rule). bnn-edge
implements the rule as one threshold per channel found by bisection over every value y can take;
the rule and the thresholds agree for every y.

**Binary convolutions.** VALID: every window is inside the input. \`SAME\` with padValue 1 (+1): the
±1 input is padded with +1 (all-zero words) and P counts over the whole window. \`SAME\` with
padValue 2 (0): the pads contribute nothing: y = n − 2P₊ − Σ_{pad taps} Σ_ci w, with P₊ the count
over the +1-padded window and w the ±1 weights of the window's taps that fall outside the input.

**Stochastic weights.** Each forward pass draws every weight anew: +1 iff r < q, with r =
(h · 255) >> 16 for h a 16-bit half of a xoshiro128** output (low half first, then high; a layer
with an odd number of weights discards its last high half), so P(w = +1) = ⌈65536·q/255⌉/65536.
Layers draw in graph order, each in the order of its stored bytes. All arithmetic is on unsigned
32-bit integers (mod 2³²):
- xoshiro128** with state (s0, s1, s2, s3): output = rotl(s1·5, 7)·9; then t = s1 << 9; s2 ^= s0;
  s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11).
- Seeding from a 32-bit seed: z₀ = seed, and for i = 0..3: zᵢ₊₁ = zᵢ + 0x9e3779b9;
  v = zᵢ₊₁; v = (v ^ (v >>> 16))·0x85ebca6b; v = (v ^ (v >>> 13))·0xc2b2ae35; sᵢ = v ^ (v >>> 16)
  (SplitMix32); an all-zero state becomes s0 = 1.

The generator is seeded when a model is loaded (seed 0 unless given) and then continues from call
to call; one forward pass is one call of the runtime (\`resample: 'per-call'\`: every image of the
call sees the same weights, however the call is cut into chunks) or one image (\`'per-image'\`:
images in order, each with its own draw).

## Checks a reader must make

In this order, so that a hostile file costs nothing before it is rejected: magic; major version;
header size; declared size ≤ ${LIMITS.maxFileBytes} bytes and equal to the actual size (no trailing bytes);
layer count 1–${LIMITS.maxLayers}, tensor count ≤ ${LIMITS.maxTensors}; the header's \`layerTableOffset\` = ${HEADER_SIZE},
\`tensorTableOffset\` = ${HEADER_SIZE} + ${LAYER_RECORD_SIZE}·L and \`payloadOffset\` = the tensor table's end rounded up to ${PAYLOAD_ALIGN}; the
model name; every layer record (kind, codes, inputs before the layer, image size and class count in
range, the graph rules above, the canonical record); every tensor record exactly the next planned
tensor (layer, role, dtype, ndim, dims, byteLength ≤ ${LIMITS.maxTensorBytes}, offset at the next ${PAYLOAD_ALIGN}-byte boundary
after the previous tensor, inside the file); fileBytes = the last tensor's end rounded up to ${PAYLOAD_ALIGN}
(payloadOffset if there are none); every padding byte 0; **then** the checksum; then the values:
f32 finite, variances ≥ 0, int8 weight scales > 0, unused sign bits 0, and each batch norm's a₆₄
and b₆₄ finite in float32.
Names end at their first NUL and every byte after it is 0.

A reader that takes a file from disk first checks that it is a regular file (a FIFO or a device
is refused, and opening it does not block), reads only the first ${PREAMBLE_BYTES} bytes, runs the checks up to
the declared size on them and the file's size, and only then reads the file — at most the declared
size, never more than ${LIMITS.maxFileBytes} bytes.

## Appendix: version 1.x

Version 1 files hold one of the paper's five fixed models: a ${V1_HEADER_FIELDS.length + 1}-field header naming the
architecture and K, four layer records (conv1, conv2, conv3, dense) and their tensors. bnn-edge
reads each as the 2.0 graph its architecture stands for, with ε from the header and \`INT8\` on
conv1 when its \`QUANTIZED\` flag is set, moving each binary conv's batch-norm tensors (\`bnMean\`,
\`bnVariance\`, \`bnBeta\`, \`bnGamma\`) to the batchNorm layer before it and its SReLU scalar
(role 8) to the scale layer after its ReLU; every other tensor stays with its layer. The graphs
(K = conv1's filters; binary layers use ste_sign_gradclip for inputs and kernels, batch norms
have \`CENTER\`, and \`SCALE\` only if a stored γ is not all 1):

${presetListing()}

Header (bytes 0–7 the same magic):

${fieldTable(V1_HEADER_FIELDS)}

Layer records:

${fieldTable(V1_LAYER_FIELDS)}

Tensor records may come in any order, but their data is packed as in 2.0: in offset order the
first tensor starts at \`payloadOffset\`, each next one at the previous one's end rounded up to
16, the file ends at the last one's end rounded up to 16, and every byte in between is 0. A 1.x
reader checks the header, the layer records (against the architecture) and the tensor records
(each one the architecture needs, once, shape and byteLength exact, packed as just said) before
the checksum, then the values as in 2.0.

${fieldTable(V1_TENSOR_FIELDS)}

## Example

\`bnn-edge info models/b64.bnn\` prints the graph and bytes per layer of a real file; \`src/format/read.ts\`
is a complete reader. Keras's default batch-norm ε is ${DEFAULT_BN_EPSILON}; bnn-edge's graphs store whatever ε a model was trained with.
`;
}
