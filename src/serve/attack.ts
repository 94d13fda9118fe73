/**
 * POST /api/attack {model, pixels, label, attack, eps}: an FGSM or PGD image crafted on the tfjs
 * graph rebuilt from the model's .bnn, in the attack pool. The body is schema-checked here (types,
 * ranges, no extra fields, no coercion: `label: true` is refused, not taken as 1); what depends on
 * the model (the pixel count, the class count) is checked in the worker.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AttackPool } from './attack_pool.js';
import type { AttackKind, AttackRequest, AttackResult } from './attack_protocol.js';
import { MODEL_NAME } from './samples.js';

/** Most pixels an attack request may carry (512×512 gray; the body limit binds first anyway). */
export const MAX_PIXELS = 1 << 18;

/** The fields /api/attack and /api/verify share: which model, one image, its label, ε. */
export const IMAGE_REQUEST_PROPERTIES = {
  model: { type: 'string', pattern: MODEL_NAME },
  pixels: { type: 'array', minItems: 1, maxItems: MAX_PIXELS, items: { type: 'number', minimum: 0, maximum: 1 } },
  label: { type: 'integer', minimum: 0, maximum: 65535 },
  eps: { type: 'number', minimum: 0, maximum: 1 },
} as const;

const body = {
  type: 'object',
  required: ['model', 'pixels', 'label'],
  additionalProperties: false,
  properties: { ...IMAGE_REQUEST_PROPERTIES, attack: { type: 'string', enum: ['fgsm', 'pgd'] } },
} as const;

/**
 * Runs a job in the pool for this request; the client going away frees its place in the queue
 * (or stops its running job).
 */
export async function runForClient(pool: AttackPool, request: AttackRequest, req: FastifyRequest, reply: FastifyReply): Promise<AttackResult> {
  reply.header('cache-control', 'no-store');
  const gone = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) gone.abort();
  };
  reply.raw.once('close', onClose);
  try {
    return await pool.run(request, req.ip, gone.signal);
  } finally {
    reply.raw.off('close', onClose);
  }
}

/** What /api/attack answers. */
export interface AttackResponse {
  readonly adversarial: number[];
  readonly l2: number;
  readonly attack: 'fgsm' | 'pgd';
  readonly eps: number;
}

type AttackBody = Omit<AttackRequest, 'attack' | 'eps'> & { readonly attack?: AttackKind; readonly eps?: number };

export function attackRoute(app: FastifyInstance, pool: AttackPool): void {
  app.post<{ Body: AttackBody }>('/api/attack', { schema: { body } }, async (req, reply) => {
    const attack = req.body.attack ?? 'pgd';
    const request: AttackRequest = { ...req.body, attack, eps: req.body.eps ?? 0.2 };
    const out = await runForClient(pool, request, req, reply);
    const response: AttackResponse = { adversarial: Array.from(out.adversarial), l2: out.l2, attack, eps: request.eps };
    return response;
  });
}
