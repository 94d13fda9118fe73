/**
 * verify — certified, not only attacked: for each image and ε, a proof that no input of the L∞
 * ball (after the model's own input quantisation) changes the runtime's label, a counterexample
 * the runtime misclassifies, or "unknown". Sound bounds over the exact semantics of the .bnn's
 * execution plan: integer first layer and thresholds, fixed / free bits through binary layers,
 * float steps with outward rounding and order-free error margins (docs/VERIFY.md).
 */
export { verifyRobustness, BnnVerifyError, SOLVER_CHOICES, DEFAULT_SOLVER, DEFAULT_EXACT_TIMEOUT_MS, type SolverChoice, type VerifyStage, type Verdict, type UnknownReason, type ImageResult, type VerifyRow, type VerifyReport, type VerifyImages, type VerifyOptions, type VerifyErrorCode } from './verify.js';
export { boundImage, verificationBox, type BoundsVerdict } from './bounds.js';
export { COUNTEREXAMPLE_SEARCHES, type CounterexampleSearch } from './attack.js';
export { encode, checkEncodable, NotEncodableError, type Encoding, type CardConstraint, type InputVar } from './exact/encode.js';
export { loadSolver, EXACT_SOLVERS, SolverUnavailableError, type ExactSolver, type ExactSolverName, type SolveOutcome, type SolveRequest } from './exact/solver.js';
export { exactVerdict, type ExactVerdict } from './exact/stage.js';
