// Reading a call's arguments. The sidecar validates calls against the schema, but model output is untrusted and the
// extension does not rely on that: each tool reads its arguments through these, which say what is wrong.
import { ToolError } from './toolTypes';

export function stringArg(args: Record<string, unknown>, name: string): string;
export function stringArg(args: Record<string, unknown>, name: string, optional: true): string | undefined;
export function stringArg(args: Record<string, unknown>, name: string, optional = false): string | undefined {
  const v = args[name];
  if (v === undefined || v === null) {
    if (optional) return undefined;
    throw new ToolError(`The argument "${name}" is missing.`);
  }
  if (typeof v !== 'string') throw new ToolError(`The argument "${name}" must be a string.`);
  return v;
}

/** An integer argument; numbers given as strings ("12") are accepted. */
export function intArg(args: Record<string, unknown>, name: string): number | undefined {
  const v = args[name];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new ToolError(`The argument "${name}" must be a whole number.`);
  return n;
}

export function boolArg(args: Record<string, unknown>, name: string): boolean | undefined {
  const v = args[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new ToolError(`The argument "${name}" must be true or false.`);
}
