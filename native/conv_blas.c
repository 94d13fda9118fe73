/*
 * native — optional training accelerator: the three 2-D convolution kernels that dominate
 * training and attack crafting (forward, gradient w.r.t. the input, gradient w.r.t. the filter),
 * as im2col + one BLAS sgemm each, for tfjs-backend-wasm (see src/tfjs/native_conv.ts).
 *
 * Why: tfjs-backend-wasm runs a K = 256 conv2 at ~9 GMAC/s per core (XNNPACK on 128-bit WASM
 * SIMD); OpenBLAS's sgemm runs the same products at ~55 GMAC/s with AVX2 FMA. PGD training is
 * eleven forward/backward passes per batch, so this decides whether a K = 256 "+" model trains
 * in one sitting. The deployable runtime (assembly/) is untouched: it stays portable WASM.
 *
 * Layout is tfjs's: NHWC activations, HWIO filters, float32, dilation 1. A filter [kh,kw,ci,co]
 * is row-major [kh·kw·ci, co], and im2col writes the patch of output (i, j) in that same
 * (tap row, tap column, channel) order, so every product is a plain row-major sgemm.
 *
 * Every entry point checks each array's length against the shape it is told, and throws a JS
 * error on a mismatch rather than read or write out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include <node_api.h>

extern void openblas_set_num_threads(int);

/* im2col scratch is bounded to this many floats (64 MiB); larger batches run in image chunks. */
#define SCRATCH_FLOATS (16u << 20)

typedef struct {
  int n, h, w, ci, kh, kw, co, sh, sw, pt, pl, oh, ow;
} Geometry;

typedef struct {
  float *buf;
  size_t cap;
} Scratch;

static float *scratch_get(Scratch *s, size_t floats) {
  if (floats > s->cap) {
    free(s->buf);
    s->buf = (float *)malloc(floats * sizeof(float));
    s->cap = s->buf ? floats : 0;
  }
  return s->buf;
}

/* Patches of images [n0, n0 + count) as rows of cols[count·oh·ow, kh·kw·ci]; zeros off the edge. */
static void im2col(const Geometry *g, const float *x, int n0, int count, float *cols) {
  const size_t patch = (size_t)g->kh * g->kw * g->ci;
  const size_t run = (size_t)g->ci * sizeof(float);
  for (int n = 0; n < count; n++) {
    const float *img = x + (size_t)(n0 + n) * g->h * g->w * g->ci;
    for (int i = 0; i < g->oh; i++) {
      for (int j = 0; j < g->ow; j++) {
        float *row = cols + ((size_t)(n * g->oh + i) * g->ow + j) * patch;
        for (int a = 0; a < g->kh; a++) {
          const int y = i * g->sh + a - g->pt;
          for (int b = 0; b < g->kw; b++) {
            const int xx = j * g->sw + b - g->pl;
            float *dst = row + ((size_t)a * g->kw + b) * g->ci;
            if (y < 0 || y >= g->h || xx < 0 || xx >= g->w) memset(dst, 0, run);
            else memcpy(dst, img + ((size_t)y * g->w + xx) * g->ci, run);
          }
        }
      }
    }
  }
}

/* The adjoint of im2col: adds every patch row back onto the pixels it was read from. */
static void col2im_add(const Geometry *g, const float *cols, int n0, int count, float *dx) {
  const size_t patch = (size_t)g->kh * g->kw * g->ci;
  for (int n = 0; n < count; n++) {
    float *img = dx + (size_t)(n0 + n) * g->h * g->w * g->ci;
    for (int i = 0; i < g->oh; i++) {
      for (int j = 0; j < g->ow; j++) {
        const float *row = cols + ((size_t)(n * g->oh + i) * g->ow + j) * patch;
        for (int a = 0; a < g->kh; a++) {
          const int y = i * g->sh + a - g->pt;
          if (y < 0 || y >= g->h) continue;
          for (int b = 0; b < g->kw; b++) {
            const int xx = j * g->sw + b - g->pl;
            if (xx < 0 || xx >= g->w) continue;
            const float *src = row + ((size_t)a * g->kw + b) * g->ci;
            float *dst = img + ((size_t)y * g->w + xx) * g->ci;
            for (int c = 0; c < g->ci; c++) dst[c] += src[c];
          }
        }
      }
    }
  }
}

/* Images per chunk so that one chunk's patches fit the scratch bound (at least one image). */
static int chunk_images(const Geometry *g) {
  const size_t per = (size_t)g->oh * g->ow * g->kh * g->kw * g->ci;
  size_t c = per ? SCRATCH_FLOATS / per : (size_t)g->n;
  if (c < 1) c = 1;
  return c > (size_t)g->n ? g->n : (int)c;
}

/* y[n·oh·ow, co] = patches × W. */
static void conv_forward(const Geometry *g, const float *x, const float *w, float *y, float *cols, int chunk) {
  const int k = g->kh * g->kw * g->ci;
  const int rowsPerImage = g->oh * g->ow;
  for (int n0 = 0; n0 < g->n; n0 += chunk) {
    const int count = g->n - n0 < chunk ? g->n - n0 : chunk;
    im2col(g, x, n0, count, cols);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, count * rowsPerImage, g->co, k, 1.0f, cols, k, w, g->co, 0.0f,
                y + (size_t)n0 * rowsPerImage * g->co, g->co);
  }
}

/* dx = col2im(dy × Wᵀ). */
static void conv_backprop_input(const Geometry *g, const float *dy, const float *w, float *dx, float *cols, int chunk) {
  const int k = g->kh * g->kw * g->ci;
  const int rowsPerImage = g->oh * g->ow;
  memset(dx, 0, (size_t)g->n * g->h * g->w * g->ci * sizeof(float));
  for (int n0 = 0; n0 < g->n; n0 += chunk) {
    const int count = g->n - n0 < chunk ? g->n - n0 : chunk;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, count * rowsPerImage, k, g->co, 1.0f, dy + (size_t)n0 * rowsPerImage * g->co,
                g->co, w, g->co, 0.0f, cols, k);
    col2im_add(g, cols, n0, count, dx);
  }
}

/* dW = patchesᵀ × dy, summed over the chunks. */
static void conv_backprop_filter(const Geometry *g, const float *x, const float *dy, float *dw, float *cols, int chunk) {
  const int k = g->kh * g->kw * g->ci;
  const int rowsPerImage = g->oh * g->ow;
  for (int n0 = 0; n0 < g->n; n0 += chunk) {
    const int count = g->n - n0 < chunk ? g->n - n0 : chunk;
    im2col(g, x, n0, count, cols);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, g->co, count * rowsPerImage, 1.0f, cols, k,
                dy + (size_t)n0 * rowsPerImage * g->co, g->co, n0 == 0 ? 0.0f : 1.0f, dw, g->co);
  }
}

/* ---- N-API glue ---------------------------------------------------------------------------- */

#define CHECK(env, call)                                                   \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error((env), NULL, "bnn-edge native: N-API call failed"); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static int float_array(napi_env env, napi_value v, float **data, size_t *length) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type type;
  void *ptr;
  if (napi_get_typedarray_info(env, v, &type, length, &ptr, NULL, NULL) != napi_ok || type != napi_float32_array) return 0;
  *data = (float *)ptr;
  return 1;
}

static int product4(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t *out) {
  uint64_t ab, abc;
  return !__builtin_mul_overflow(a, b, &ab) && !__builtin_mul_overflow(ab, c, &abc) && !__builtin_mul_overflow(abc, d, out);
}

typedef enum { FORWARD, BACKPROP_INPUT, BACKPROP_FILTER } Kind;

/*
 * JS: fn(a, b, out, geometry: Int32Array[13]) with geometry = n, h, w, ci, kh, kw, co, sh, sw,
 * padTop, padLeft, oh, ow. Forward: a = x, b = W, out = y. Backprop input: a = dy, b = W,
 * out = dx. Backprop filter: a = x, b = dy, out = dW.
 */
static napi_value run(napi_env env, napi_callback_info info, Kind kind) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 4) {
    napi_throw_type_error(env, NULL, "bnn-edge native: expected (a, b, out, geometry)");
    return NULL;
  }
  float *a, *b, *out;
  size_t la, lb, lo;
  bool isGeom;
  napi_typedarray_type gt;
  size_t gl;
  void *gp;
  if (!float_array(env, argv[0], &a, &la) || !float_array(env, argv[1], &b, &lb) || !float_array(env, argv[2], &out, &lo) ||
      napi_is_typedarray(env, argv[3], &isGeom) != napi_ok || !isGeom ||
      napi_get_typedarray_info(env, argv[3], &gt, &gl, &gp, NULL, NULL) != napi_ok || gt != napi_int32_array || gl != 13) {
    napi_throw_type_error(env, NULL, "bnn-edge native: expected three Float32Arrays and an Int32Array of 13 dimensions");
    return NULL;
  }
  const int32_t *d = (const int32_t *)gp;
  const Geometry g = {d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12]};
  for (int i = 0; i < 13; i++) {
    const int floor = i >= 9 && i <= 10 ? 0 : 1; /* pads may be 0, everything else ≥ 1 */
    if (d[i] < floor || d[i] > (1 << 20)) {
      napi_throw_range_error(env, NULL, "bnn-edge native: a conv dimension is out of range");
      return NULL;
    }
  }
  /* Lengths as exact products: a product that overflows 64 bits matches no array. */
  uint64_t xLen, wLen, yLen;
  if (!product4(g.n, g.h, g.w, g.ci, &xLen) || !product4(g.kh, g.kw, g.ci, g.co, &wLen) || !product4(g.n, g.oh, g.ow, g.co, &yLen)) {
    napi_throw_range_error(env, NULL, "bnn-edge native: conv dimensions overflow");
    return NULL;
  }
  uint64_t wantA, wantB, wantOut;
  switch (kind) {
    case FORWARD: wantA = xLen, wantB = wLen, wantOut = yLen; break;
    case BACKPROP_INPUT: wantA = yLen, wantB = wLen, wantOut = xLen; break;
    default: wantA = xLen, wantB = yLen, wantOut = wLen; break;
  }
  if (la != wantA || lb != wantB || lo != wantOut) {
    napi_throw_range_error(env, NULL, "bnn-edge native: an array's length does not match the conv geometry");
    return NULL;
  }
  Scratch *s;
  CHECK(env, napi_get_instance_data(env, (void **)&s));
  const int chunk = chunk_images(&g);
  float *cols = scratch_get(s, (size_t)chunk * g.oh * g.ow * g.kh * g.kw * g.ci);
  if (!cols) {
    napi_throw_error(env, NULL, "bnn-edge native: out of memory for the im2col buffer");
    return NULL;
  }
  switch (kind) {
    case FORWARD: conv_forward(&g, a, b, out, cols, chunk); break;
    case BACKPROP_INPUT: conv_backprop_input(&g, a, b, out, cols, chunk); break;
    default: conv_backprop_filter(&g, a, b, out, cols, chunk); break;
  }
  return NULL;
}

static napi_value forward(napi_env env, napi_callback_info info) { return run(env, info, FORWARD); }
static napi_value backprop_input(napi_env env, napi_callback_info info) { return run(env, info, BACKPROP_INPUT); }
static napi_value backprop_filter(napi_env env, napi_callback_info info) { return run(env, info, BACKPROP_FILTER); }

static void scratch_free(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  Scratch *s = (Scratch *)data;
  free(s->buf);
  free(s);
}

NAPI_MODULE_INIT() {
  /* One BLAS thread per caller: bnn-edge already runs one training shard per core. */
  openblas_set_num_threads(1);
  Scratch *s = (Scratch *)calloc(1, sizeof(Scratch));
  if (!s || napi_set_instance_data(env, s, scratch_free, NULL) != napi_ok) return NULL;
  napi_property_descriptor props[] = {
      {"conv2dForward", NULL, forward, NULL, NULL, NULL, napi_enumerable, NULL},
      {"conv2dBackpropInput", NULL, backprop_input, NULL, NULL, NULL, napi_enumerable, NULL},
      {"conv2dBackpropFilter", NULL, backprop_filter, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, 3, props) != napi_ok) return NULL;
  return exports;
}
