/**
 * The losses an L∞ attack ascends, per image, from logits.
 *
 * Softmax cross-entropy's gradient with respect to the logits is p − e_y. When a model is very
 * confident (logit margin above ≈ 16.6) float32 rounds p_y to exactly 1, the true-class term
 * p_y − 1 vanishes, and the gradient keeps only the tiny runner-up terms; past a margin of ≈ 100
 * every term underflows and the gradient is zero. That is a float32 artefact, not robustness.
 *
 * Since p_y − 1 = −Σ_{j≠y} p_j exactly,
 *
 *     p − e_y = (1 − p_y) · ∇_z [ LSE_{j≠y}(z_j) − z_y ],
 *
 * so the "other-class log-sum-exp minus the true logit" has the cross-entropy gradient's exact
 * direction for every image (the factor 1 − p_y > 0 is per image) and never saturates: sign-
 * gradient attacks (FGSM, PGD) that ascend it are the cross-entropy attacks computed exactly —
 * where each image's logits depend on that image alone and one forward pass is differentiated.
 * Averaged over EOT samples, or through batch-norm batch statistics in adversarial training, the
 * per-image factors weight the terms differently from summed cross-entropy: there it is a close
 * relative that still never saturates.
 * `ce-float32` keeps tfjs's own cross-entropy, which is what the paper's TensorFlow code computed.
 * `margin` is Carlini–Wagner's loss, max_{j≠y} z_j − z_y: it pushes only the runner-up class, a
 * different ascent direction that a defence tuned against cross-entropy may not withstand (the
 * second loss of AutoAttack-style evaluations).
 */
import { tf } from '../tfjs/backend.js';

export type AttackLoss = 'ce' | 'ce-float32' | 'margin' | 'dlr';
export const ATTACK_LOSSES: readonly AttackLoss[] = ['ce', 'ce-float32', 'margin', 'dlr'];

/** Per-image loss [n] of logits [n, classes] for one-hot labels [n, classes]. */
export function attackLoss(kind: AttackLoss, logits: tf.Tensor2D, onehot: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    if (kind === 'ce-float32') return tf.losses.softmaxCrossEntropy(onehot, logits, undefined, tf.Reduction.NONE) as tf.Tensor1D;
    const trueLogit = tf.sum(tf.mul(logits, onehot), 1);
    if (kind === 'dlr') return dlrLoss(logits, onehot);
    if (kind === 'margin') return tf.sub(tf.max(tf.sub(logits, tf.mul(onehot, 1e30)), 1), trueLogit) as tf.Tensor1D;
    // Push the true class far below every other logit so the log-sum-exp runs over j ≠ y only;
    // its softmax weight is then exactly 0 and contributes nothing to the gradient.
    const others = tf.logSumExp(tf.sub(logits, tf.mul(onehot, 1e30)), 1);
    return tf.sub(others, trueLogit) as tf.Tensor1D;
  });
}

/** Masks a class out of a max: far below any logit, so its softmax or max weight is exactly 0. */
const MASK = 1e30;

/**
 * The k largest logits of each row, largest first, each differentiable (through tf.max: tfjs has
 * no gradient for topk). Rows with fewer than k classes repeat their smallest logit.
 */
function largest(logits: tf.Tensor2D, k: number): tf.Tensor1D[] {
  const classes = logits.shape[1];
  const out: tf.Tensor1D[] = [];
  let masked: tf.Tensor2D = logits;
  for (let i = 0; i < k; i++) {
    if (i >= classes) {
      out.push(out[out.length - 1]!);
      continue;
    }
    out.push(tf.max(masked, 1) as tf.Tensor1D);
    // The argmax only builds a constant mask; the gradient flows through max.
    masked = tf.sub(masked, tf.mul(tf.oneHot(tf.argMax(masked, 1), classes), MASK)) as tf.Tensor2D;
  }
  return out;
}

/** Keeps a denominator positive where the top logits tie (integer-valued BNN logits can). */
const spread = (d: tf.Tensor1D): tf.Tensor1D => tf.maximum(d, 1e-12) as tf.Tensor1D;

/**
 * DLR (Croce & Hein 2020), per image: −(z_y − max_{j≠y} z_j) / (z_π1 − z_π3), π the logits in
 * decreasing order. With fewer than three classes there is no π3 to scale by: the margin loss.
 */
export function dlrLoss(logits: tf.Tensor2D, onehot: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const trueLogit = tf.sum(tf.mul(logits, onehot), 1);
    const margin = tf.sub(tf.max(tf.sub(logits, tf.mul(onehot, MASK)), 1), trueLogit) as tf.Tensor1D;
    if (logits.shape[1] < 3) return margin;
    const [z1, , z3] = largest(logits, 3);
    return tf.div(margin, spread(tf.sub(z1!, z3!) as tf.Tensor1D)) as tf.Tensor1D;
  });
}

/**
 * Targeted DLR (APGD-T), per image: −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2), pushing the target
 * class t above the true class y. With fewer than four classes π4 is the smallest logit; with two,
 * the margin towards t.
 */
export function targetedDlrLoss(logits: tf.Tensor2D, onehot: tf.Tensor2D, target: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const margin = tf.sub(tf.sum(tf.mul(logits, target), 1), tf.sum(tf.mul(logits, onehot), 1)) as tf.Tensor1D;
    if (logits.shape[1] < 3) return margin;
    const [z1, , z3, z4] = largest(logits, 4);
    return tf.div(margin, spread(tf.sub(z1!, tf.div(tf.add(z3!, z4!), 2)) as tf.Tensor1D)) as tf.Tensor1D;
  });
}
