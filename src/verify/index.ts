/**
 * verify — certified, not only attacked: for each image and ε, a proof that no input of the L∞
 * ball (after the model's own input quantisation) changes the runtime's label, a counterexample
 * the runtime misclassifies, or "unknown". Sound bounds over the exact semantics of the .bnn's
 * execution plan: integer first layer and thresholds, fixed / free bits through binary layers,
 * float steps with outward rounding and order-free error margins (docs/VERIFY.md).
 */
export { verifyRobustness, BnnVerifyError, type Verdict, type UnknownReason, type ImageResult, type VerifyRow, type VerifyReport, type VerifyImages, type VerifyOptions, type VerifyErrorCode } from './verify.js';
export { boundImage, verificationBox, type BoundsVerdict } from './bounds.js';
export { COUNTEREXAMPLE_SEARCHES, type CounterexampleSearch } from './attack.js';
