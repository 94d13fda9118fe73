/**
 * Accuracy against ε as a standalone SVG: one line for the tfjs graph the attack was crafted on,
 * one for the packed runtime it was replayed on. Plain SVG text, no plotting library: the chart is
 * two polylines, axes and labels.
 */

export interface AccuracyCurve {
  readonly label: string;
  readonly color: string;
  /** [ε, accuracy in 0…1] points. */
  readonly points: readonly (readonly [number, number])[];
}

export interface AccuracyPlot {
  readonly title: string;
  readonly xLabel?: string;
  readonly curves: readonly AccuracyCurve[];
}

const W = 560;
const H = 360;
const M = { left: 64, right: 160, top: 40, bottom: 52 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (v: number) => String(Math.round(v * 100) / 100);

/** "Nice" tick values covering [0, max]: steps of 1, 2 or 5 times a power of ten. */
function ticks(max: number, target = 5): number[] {
  if (!(max > 0)) return [0];
  const raw = max / target;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(Math.round(v / step) * step);
  return out;
}

export function accuracyPlotSvg(plot: AccuracyPlot): string {
  const xs = plot.curves.flatMap((c) => c.points.map(([x]) => x));
  const xTicks = ticks(Math.max(...xs, 0));
  const xMax = Math.max(xTicks[xTicks.length - 1]!, 1e-9);
  const px = (x: number) => M.left + (x / xMax) * (W - M.left - M.right);
  const py = (a: number) => M.top + (1 - a) * (H - M.top - M.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="22" font-size="14" font-weight="bold">${esc(plot.title)}</text>`,
  ];
  for (const a of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${num(py(a))}" y2="${num(py(a))}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 8}" y="${num(py(a) + 4)}" text-anchor="end">${Math.round(a * 100)}%</text>`);
  }
  for (const x of xTicks) {
    out.push(`<line x1="${num(px(x))}" x2="${num(px(x))}" y1="${H - M.bottom}" y2="${H - M.bottom + 5}" stroke="#333"/>`);
    out.push(`<text x="${num(px(x))}" y="${H - M.bottom + 18}" text-anchor="middle">${num(x)}</text>`);
  }
  out.push(`<polyline points="${M.left},${M.top} ${M.left},${H - M.bottom} ${W - M.right},${H - M.bottom}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">${esc(plot.xLabel ?? 'ε (L∞)')}</text>`);
  out.push(`<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">accuracy</text>`);
  plot.curves.forEach((c, i) => {
    const pts = [...c.points].sort((a, b) => a[0] - b[0]);
    const dash = i % 2 ? ' stroke-dasharray="6 4"' : '';
    out.push(`<polyline points="${pts.map(([x, a]) => `${num(px(x))},${num(py(a))}`).join(' ')}" fill="none" stroke="${c.color}" stroke-width="2"${dash}/>`);
    for (const [x, a] of pts) out.push(`<circle cx="${num(px(x))}" cy="${num(py(a))}" r="3.5" fill="${c.color}"><title>${esc(c.label)}: ε ${num(x)}, ${(100 * a).toFixed(1)}%</title></circle>`);
    const ly = M.top + 10 + i * 22;
    out.push(`<line x1="${W - M.right + 14}" x2="${W - M.right + 40}" y1="${ly}" y2="${ly}" stroke="${c.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${W - M.right + 46}" y="${ly + 4}">${esc(c.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
