/**
 * A small layer over node:util's parseArgs: every command declares its options once, and the
 * same table produces the parser, `--help`, and errors that name the bad option.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly help: string;
  /** Shown in help; also the value when absent (strings only). */
  readonly default?: string;
  readonly metavar?: string;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: Record<string, OptionSpec>;
  /** Extra help text (examples, notes). */
  readonly details?: string;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function helpText(cmd: CommandSpec): string {
  const lines = [`Usage: ${cmd.usage}`, '', cmd.summary, ''];
  const opts = Object.entries({ ...cmd.options, help: { type: 'boolean', short: 'h', help: 'show this help' } as OptionSpec });
  if (opts.length) {
    lines.push('Options:');
    const left = opts.map(([name, o]) => `  ${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.metavar ?? name.toUpperCase()}` : ''}`);
    const width = Math.max(...left.map((l) => l.length)) + 2;
    opts.forEach(([, o], i) => lines.push(`${left[i]!.padEnd(width)}${o.help}${o.default !== undefined ? ` (default: ${o.default})` : ''}`));
  }
  if (cmd.details) lines.push('', cmd.details.trim());
  return lines.join('\n') + '\n';
}

export interface Parsed {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
  readonly help: boolean;
  /** Options typed on the command line (not filled in from their defaults). */
  readonly given: ReadonlySet<string>;
}

export function parseCommand(cmd: CommandSpec, argv: string[]): Parsed {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(cmd.options)) options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}) };
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, cmd), options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/\. To specify.*$/, '')}\nRun "bnn-edge ${cmd.name} --help" for usage.`);
  }
  const values = { ...parsed.values } as Record<string, string | boolean | undefined>;
  const given = new Set(Object.keys(values).filter((name) => values[name] !== undefined));
  for (const [name, o] of Object.entries(cmd.options)) if (values[name] === undefined && o.default !== undefined && o.type === 'string') values[name] = o.default;
  return { values, positionals: parsed.positionals, help: Boolean(parsed.values['help']), given };
}

/**
 * `--n -5` as `--n=-5`: node:util's parser takes a value that starts with a dash for an option, so
 * a negative number would fail with its message instead of reaching our range check.
 */
function joinNegativeValues(argv: string[], cmd: CommandSpec): string[] {
  const takesValue = (arg: string): boolean => {
    const long = /^--([^=]+)$/.exec(arg);
    if (long) return cmd.options[long[1]!]?.type === 'string';
    const short = /^-(\w)$/.exec(arg);
    return Boolean(short && Object.values(cmd.options).some((o) => o.short === short[1] && o.type === 'string'));
  };
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (next !== undefined && /^-(\d|\.\d|Infinity)/.test(next) && takesValue(arg)) out.push(arg.startsWith('--') ? `${arg}=${next}` : `${arg}${next}`), i++;
    else out.push(arg);
  }
  return out;
}

/** Reads a numeric option, with a clear error naming it. */
export function numberOption(p: Parsed, name: string, check: { integer?: boolean; min?: number; above?: number; max?: number } = {}): number | undefined {
  const raw = p.values[name];
  if (raw === undefined) return undefined;
  const v = Number(raw);
  const bad =
    typeof raw !== 'string' ||
    raw.trim() === '' ||
    !Number.isFinite(v) ||
    (check.integer && !Number.isInteger(v)) ||
    (check.min !== undefined && v < check.min) ||
    (check.above !== undefined && v <= check.above) ||
    (check.max !== undefined && v > check.max);
  if (bad) {
    const low = check.above !== undefined ? `(${check.above}` : `[${check.min ?? '-∞'}`;
    const range = check.min !== undefined || check.above !== undefined || check.max !== undefined ? ` in ${low}, ${check.max ?? '∞'}]` : '';
    throw new UsageError(`--${name} must be ${check.integer ? 'an integer' : 'a number'}${range}, got "${String(raw)}"`);
  }
  return v;
}

/** Reads a comma-separated list of positive integers (each at most `max`), with a clear error naming the option. */
export function positiveIntListOption(p: Parsed, name: string, max = Infinity): number[] | undefined {
  const raw = stringOption(p, name);
  return raw?.split(',').map((s) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 1 || v > max) throw new UsageError(`--${name} must be positive integers, got "${s}"`);
    return v;
  });
}

/** Refuses arguments a command that takes none was given (a stray word is a mistake, not ignored). */
export function noPositionals(p: Parsed): void {
  if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
}

/** `--eps 0.1,1/255`: L∞ radii in [0, 1], each a number or a fraction; an empty entry is an error, not 0. */
export function epsListOption(p: Parsed, name = 'eps'): number[] {
  return (stringOption(p, name) ?? '').split(',').map((s) => {
    const m = /^\s*([0-9.eE+-]+)\s*(?:\/\s*([0-9.eE+-]+))?\s*$/.exec(s);
    const v = m ? Number(m[1]) / (m[2] !== undefined ? Number(m[2]) : 1) : NaN;
    if (!Number.isFinite(v) || v < 0 || v > 1) throw new UsageError(`--${name} values must be numbers in [0, 1] (or fractions like 1/255), got "${s}"`);
    return v;
  });
}

export function stringOption(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function requirePositional(p: Parsed, cmd: CommandSpec, what: string, count = 1): string[] {
  if (p.positionals.length < count) throw new UsageError(`missing ${what}\nUsage: ${cmd.usage}`);
  if (p.positionals.length > count) throw new UsageError(`unexpected argument "${p.positionals[count]}"\nUsage: ${cmd.usage}`);
  return p.positionals;
}
