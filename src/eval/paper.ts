/**
 * The figures reported by Galloway, Taylor & Moussa (ICLR 2018) — the seed slides' tables — as
 * mean and ± (over their runs), in percent unless noted. docs/REPRODUCTION.md sets ours beside them.
 */
export interface PaperFigure {
  readonly mean: number;
  readonly pm: number;
}

const f = (mean: number, pm: number): PaperFigure => ({ mean, pm });

/** White-box FGSM accuracy at ε = 0.1 / 0.2 / 0.3. */
export const PAPER_FGSM: Record<string, Record<number, readonly PaperFigure[]>> = {
  A: { 64: [f(74, 4), f(39, 4), f(22, 5)], 128: [f(75, 3), f(34, 2), f(18, 3)], 256: [f(74, 1), f(33, 2), f(17, 3)] },
  B: { 64: [f(75, 2), f(64, 3), f(59, 2)], 128: [f(85, 1), f(77, 2), f(70, 2)], 256: [f(89, 1), f(83, 1), f(78, 1)] },
  C: { 64: [f(56, 7), f(27, 5), f(15, 3)], 128: [f(64, 3), f(26, 9), f(11, 5)], 256: [f(73, 2), f(37, 6), f(16, 3)] },
};

/** FGSM accuracy of the PGD-trained models (the paper's A+* and C+*). */
export const PAPER_FGSM_ADV: Record<string, Record<number, readonly PaperFigure[]>> = {
  A: { 64: [f(94.7, 0.2), f(90.9, 0.3), f(80.2, 0.2)], 128: [f(95.8, 0.3), f(92.3, 0.3), f(82.9, 0.9)], 256: [f(95.9, 0.2), f(92.9, 0.3), f(85, 1)] },
  C: { 64: [f(92.9, 0.4), f(83.6, 0.6), f(67, 2)], 128: [f(95.0, 0.2), f(88.2, 0.3), f(74.3, 0.6)], 256: [f(96.8, 0.3), f(93.4, 0.3), f(85.6, 0.6)] },
};

/** Carlini–Wagner L2 (1 search step, lr 0.1, c 10, 100 iterations): accuracy and mean L2. */
export const PAPER_CW: Record<string, Record<number, { acc: PaperFigure; l2: PaperFigure }>> = {
  B: { 64: { acc: f(7, 3), l2: f(3.1, 0.2) }, 128: { acc: f(12, 3), l2: f(3.2, 0.1) }, 256: { acc: f(22, 3), l2: f(3.2, 0.1) } },
  'B+': { 64: { acc: f(2.9, 0.6), l2: f(3.43, 0.05) }, 128: { acc: f(15, 2), l2: f(2.9, 0.1) }, 256: { acc: f(29, 3), l2: f(2.4, 0.2) } },
  S: { 64: { acc: f(71, 2), l2: f(1.9, 0.3) }, 128: { acc: f(57, 5), l2: f(3.0, 0.4) }, 256: { acc: f(46, 3), l2: f(3.5, 0.1) } },
};

/** Papernot substitute black-box attack (FGSM ε = 0.3 on the substitute): target accuracy. */
export const PAPER_BLACKBOX: Record<string, Record<number, PaperFigure>> = {
  A: { 64: f(79, 1), 128: f(78, 4), 256: f(73, 5) },
  'A+': { 64: f(73, 2), 128: f(76, 4), 256: f(80, 2) },
  'A+*': { 64: f(95.8, 0.4), 128: f(96.4, 0.3), 256: f(96.7, 0.3) },
  B: { 64: f(46, 5), 128: f(55, 4), 256: f(39, 3) },
  'B+': { 64: f(42, 2), 128: f(52, 3), 256: f(50, 6) },
};
