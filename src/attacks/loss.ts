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

export type AttackLoss = 'ce' | 'ce-float32' | 'margin';
export const ATTACK_LOSSES: readonly AttackLoss[] = ['ce', 'ce-float32', 'margin'];

/** Per-image loss [n] of logits [n, classes] for one-hot labels [n, classes]. */
export function attackLoss(kind: AttackLoss, logits: tf.Tensor2D, onehot: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    if (kind === 'ce-float32') return tf.losses.softmaxCrossEntropy(onehot, logits, undefined, tf.Reduction.NONE) as tf.Tensor1D;
    const trueLogit = tf.sum(tf.mul(logits, onehot), 1);
    if (kind === 'margin') return tf.sub(tf.max(tf.sub(logits, tf.mul(onehot, 1e30)), 1), trueLogit) as tf.Tensor1D;
    // Push the true class far below every other logit so the log-sum-exp runs over j ≠ y only;
    // its softmax weight is then exactly 0 and contributes nothing to the gradient.
    const others = tf.logSumExp(tf.sub(logits, tf.mul(onehot, 1e30)), 1);
    return tf.sub(others, trueLogit) as tf.Tensor1D;
  });
}
