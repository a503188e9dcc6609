// A small, strict argument parser: every flag is declared with its type, unknown flags and bad
// values are errors that name the flag, and --help text is generated from the same table.

export type FlagType = 'string' | 'int' | 'float' | 'bool' | 'list';

export interface FlagSpec {
  type: FlagType;
  help: string;
  default?: string;
}

export class UsageError extends Error {}

export type ParsedArgs = { flags: Record<string, string | number | boolean | undefined>; positional: string[] };

export function parseArgs(argv: string[], spec: Record<string, FlagSpec>, command: string): ParsedArgs {
  const flags: ParsedArgs['flags'] = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    // `-o FILE` is the one short flag (clasp trace export ... -o OUT).
    const a = argv[i] === '-o' ? '--o' : argv[i]!;
    if (!a.startsWith('--') || a === '--') {
      positional.push(a);
      continue;
    }
    let name = a.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const s = spec[name];
    if (!s) throw new UsageError(`unknown option --${name} (see clasp ${command} --help)`);
    if (s.type === 'bool') {
      if (value !== undefined && value !== 'true' && value !== 'false') throw new UsageError(`--${name} takes no value`);
      flags[name] = value !== 'false';
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
    }
    flags[name] = convert(name, s.type, value);
  }
  return { flags, positional };
}

function convert(name: string, type: FlagType, v: string): string | number {
  if (type === 'int') {
    if (!/^-?\d+$/.test(v.trim())) throw new UsageError(`--${name} must be an integer (got "${v}")`);
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new UsageError(`--${name} is out of range (got "${v}")`);
    return n;
  }
  if (type === 'float') {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number (got "${v}")`);
    return n;
  }
  return v;
}

export function helpText(usage: string, spec: Record<string, FlagSpec>): string {
  const lines = [usage, '', 'Options:'];
  for (const [name, s] of Object.entries(spec)) {
    const arg = s.type === 'bool' ? '' : ` <${s.type === 'list' ? 'a,b' : s.type}>`;
    const def = s.default !== undefined ? ` (default: ${s.default})` : '';
    lines.push(`  --${(name + arg).padEnd(24)} ${s.help}${def}`);
  }
  return lines.join('\n');
}
