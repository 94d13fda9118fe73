/**
 * POST /api/verify {model, pixels, label, eps}: is this image robust at ε on the served .bnn? A
 * proof (sound bounds, then the exact stage where the model allows it), a counterexample the
 * runtime misclassifies, or unknown — src/verify's verdict for one image, computed in the attack
 * pool (off the event loop, queued, time-limited) like an attack. The body is schema-checked as
 * /api/attack's; what depends on the model is checked in the worker.
 */
import type { FastifyInstance } from 'fastify';
import type { AttackPool } from './attack_pool.js';
import type { VerifyOutcome } from './attack_protocol.js';
import { IMAGE_REQUEST_PROPERTIES, runForClient } from './attack.js';

const body = {
  type: 'object',
  required: ['model', 'pixels', 'label'],
  additionalProperties: false,
  properties: IMAGE_REQUEST_PROPERTIES,
} as const;

/** What /api/verify answers. */
export interface VerifyResponse extends Omit<VerifyOutcome, 'margin'> {
  readonly eps: number;
  /** The proven lower bound of (label's logit − largest other) over the ball, > 0 when verified; null where none was computed (a misclassified image). */
  readonly margin: number | null;
  /** The runtime-confirmed counterexample, when one was found. */
  readonly counterexample?: number[];
}

interface VerifyBody {
  readonly model: string;
  readonly pixels: readonly number[];
  readonly label: number;
  readonly eps?: number;
}

export function verifyRoute(app: FastifyInstance, pool: AttackPool): void {
  app.post<{ Body: VerifyBody }>('/api/verify', { schema: { body } }, async (req, reply) => {
    const eps = req.body.eps ?? 0.1;
    const out = await runForClient(pool, { ...req.body, attack: 'verify', eps }, req, reply);
    const v = out.verify!;
    const response: VerifyResponse = { ...v, eps, margin: Number.isFinite(v.margin) ? v.margin : null, ...(out.adversarial.length ? { counterexample: Array.from(out.adversarial) } : {}) };
    return response;
  });
}
