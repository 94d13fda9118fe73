/**
 * POST /api/attack {model, pixels, label, attack, eps}: an FGSM or PGD image crafted on the tfjs
 * graph rebuilt from the model's .bnn, in the attack pool. The body is schema-checked here (types,
 * ranges, no extra fields, no coercion: `label: true` is refused, not taken as 1); what depends on
 * the model (the pixel count, the class count) is checked in the worker.
 */
import type { FastifyInstance } from 'fastify';
import type { AttackPool } from './attack_pool.js';
import type { AttackKind, AttackRequest } from './attack_protocol.js';
import { MODEL_NAME } from './samples.js';

/** Most pixels an attack request may carry (512×512 gray; the body limit binds first anyway). */
export const MAX_PIXELS = 1 << 18;

const body = {
  type: 'object',
  required: ['model', 'pixels', 'label'],
  additionalProperties: false,
  properties: {
    model: { type: 'string', pattern: MODEL_NAME },
    pixels: { type: 'array', minItems: 1, maxItems: MAX_PIXELS, items: { type: 'number', minimum: 0, maximum: 1 } },
    label: { type: 'integer', minimum: 0, maximum: 65535 },
    attack: { type: 'string', enum: ['fgsm', 'pgd'] },
    eps: { type: 'number', minimum: 0, maximum: 1 },
  },
} as const;

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
    reply.header('cache-control', 'no-store');
    const attack = req.body.attack ?? 'pgd';
    const request: AttackRequest = { ...req.body, attack, eps: req.body.eps ?? 0.2 };
    // The client going away frees its place in the queue (or stops its running attack).
    const gone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) gone.abort();
    };
    reply.raw.once('close', onClose);
    try {
      const out = await pool.run(request, req.ip, gone.signal);
      const response: AttackResponse = { adversarial: Array.from(out.adversarial), l2: out.l2, attack, eps: request.eps };
      return response;
    } finally {
      reply.raw.off('close', onClose);
    }
  });
}
