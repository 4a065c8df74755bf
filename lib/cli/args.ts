/**
 * Option parsing shared by the `acr` commands: node:util parseArgs (strict) plus typed number
 * conversion and a --help text generated from the same table, so the two never disagree.
 * Every mistake becomes an ArgumentError, which main.ts turns into exit code 2.
 */
import { parseArgs } from 'node:util';
import { ArgumentError } from '../errors';

export type OptionKind = 'string' | 'boolean' | 'number' | 'integer';

export interface OptionSpec {
  kind: OptionKind;
  /** What the option does (one line). */
  help: string;
  /** Placeholder in the help text (e.g. DIR, N). */
  arg?: string;
  short?: string;
  /** Shown as "(default ...)" in the help. */
  defaultText?: string;
  /** Allowed values of a string option. */
  choices?: readonly string[];
  required?: boolean;
}

export type OptionTable = Record<string, OptionSpec>;
export type ParsedValues = Record<string, string | number | boolean | undefined>;

export function usageText(command: string, summary: string, table: OptionTable, extra = '', interruptible = false): string {
  const lines = [`Usage: acr ${command} [options]`, '', summary, '', 'Options:'];
  const rows = Object.entries(table).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.kind === 'boolean' ? '' : ` ${o.arg ?? (o.kind === 'string' ? 'VALUE' : 'N')}`}`;
    const notes = [o.choices ? `one of ${o.choices.join(', ')}` : '', o.required ? 'required' : '', o.defaultText !== undefined ? `default ${o.defaultText}` : '']
      .filter(Boolean)
      .join('; ');
    return [flag, `${o.help}${notes ? ` (${notes})` : ''}`];
  });
  rows.push(['-h, --help', 'Show this help']);
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  for (const [f, h] of rows) lines.push(`  ${f.padEnd(w)}${h}`);
  if (extra) lines.push('', extra);
  lines.push('', `Exit codes: 0 success, 1 failure, 2 bad usage${interruptible ? ', 130 interrupted (checkpoint written)' : ''}.`);
  return lines.join('\n');
}

/**
 * parseArgs reads '--epochs -1' as two options and calls it ambiguous; a negative number after a
 * value-taking option is its value ('--epochs=-1'), so the range check can name what is wrong.
 */
function joinNegativeValues(argv: string[], table: OptionTable): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : null;
    const o = name !== null ? table[name] : undefined;
    if (o && o.kind !== 'boolean' && i + 1 < argv.length && /^-(\d|\.\d|Infinity)/.test(argv[i + 1])) {
      out.push(`${argv[i]}=${argv[++i]}`);
    } else {
      out.push(argv[i]);
    }
  }
  return out;
}

/** Parses `argv` against `table`; numbers are checked here, ranges by the library's validation. */
export function parseOptions(command: string, argv: string[], table: OptionTable): ParsedValues {
  return parseCommand(command, argv, table, []).values;
}

/**
 * Like parseOptions, for commands that also take positional arguments: exactly one per name in
 * `positionalNames` (used in the error message), returned in order.
 */
export function parseCommand(
  command: string,
  argv: string[],
  table: OptionTable,
  positionalNames: readonly string[],
): { values: ParsedValues; positionals: string[] } {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, o] of Object.entries(table)) config[name] = { type: o.kind === 'boolean' ? 'boolean' : 'string', ...(o.short ? { short: o.short } : {}) };
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: joinNegativeValues(argv, table), options: config, strict: true, allowPositionals: true }) as {
      values: Record<string, string | boolean | undefined>;
      positionals: string[];
    });
  } catch (err) {
    throw new ArgumentError(`${(err as Error).message.replace(/\. To specify a positional argument.*$/s, '')}; see 'acr ${command} --help'`);
  }
  if (positionalNames.length === 0 && positionals.length > 0) {
    throw new ArgumentError(`unexpected argument '${positionals[0]}'; see 'acr ${command} --help'`);
  }
  if (positionals.length !== positionalNames.length) {
    throw new ArgumentError(
      `expected ${positionalNames.join(' ')}, got ${positionals.length} argument${positionals.length === 1 ? '' : 's'}; see 'acr ${command} --help'`,
    );
  }
  const out: ParsedValues = {};
  for (const [name, o] of Object.entries(table)) {
    const raw = values[name];
    if (raw === undefined) {
      if (o.required) throw new ArgumentError(`--${name} is required; see 'acr ${command} --help'`);
      continue;
    }
    if (o.kind === 'boolean' || o.kind === 'string') {
      if (o.choices && !o.choices.includes(raw as string)) {
        throw new ArgumentError(`--${name}: expected one of ${o.choices.join(', ')}, got '${raw}'`);
      }
      if (o.kind === 'string' && raw === '') throw new ArgumentError(`--${name}: expected a value, got an empty string`);
      out[name] = raw;
      continue;
    }
    const text = String(raw).trim();
    const n = text === '' ? NaN : Number(text);
    if (!Number.isFinite(n) || (o.kind === 'integer' && !Number.isInteger(n))) {
      throw new ArgumentError(`--${name}: expected ${o.kind === 'integer' ? 'an integer' : 'a number'}, got '${raw}'`);
    }
    out[name] = n;
  }
  return { values: out, positionals };
}
