/**
 * JSON for files people read (models/manifest.json, model graphs): indented like
 * JSON.stringify(v, null, 2), except that an array or object that fits on one line within
 * `width` characters is written on one line — a graph's layers one per line.
 */
export function formatJson(value: unknown, width = 120): string {
  return write(JSON.parse(JSON.stringify(value)) as unknown, '', width) + '\n';
}

/** One line: `{ "a": 1, "b": [2, 3] }` (values as JSON.stringify writes them). */
function inline(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(inline).join(', ')}]`;
  const entries = Object.entries(v as Record<string, unknown>);
  return entries.length ? `{ ${entries.map(([k, x]) => `${JSON.stringify(k)}: ${inline(x)}`).join(', ')} }` : '{}';
}

function write(v: unknown, indent: string, width: number): string {
  const line = inline(v);
  if (v === null || typeof v !== 'object' || indent.length + line.length <= width) return line;
  const inner = indent + '  ';
  if (Array.isArray(v)) return `[\n${v.map((x) => inner + write(x, inner, width)).join(',\n')}\n${indent}]`;
  const entries = Object.entries(v as Record<string, unknown>);
  // A value after its key: fits on the key's line if key + value fit, else breaks as usual.
  return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${inner.length + JSON.stringify(k).length + 2 + inline(x).length <= width ? inline(x) : write(x, inner, width)}`).join(',\n')}\n${indent}}`;
}
