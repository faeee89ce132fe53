/** Command-line flags, checked one way for every command; a bad one is a UsageError (exit 2). */
import { UsageError, usageError } from '../util/errors.js';

export { UsageError, usageError };

/** A numeric flag's value, undefined when absent; out of range or not a number is a UsageError naming it. */
export function numberFlag(name: string, text: string | boolean | undefined, { integer = false, min = 0 } = {}, say = `--${name}`): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (typeof text === 'boolean' || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    const what = min === 0 ? `a non-negative ${integer ? 'integer' : 'number'}`
      : min === 1 && integer ? 'a positive integer' : `${integer ? 'an integer' : 'a number'} ≥ ${min}`;
    throw usageError(say, what, JSON.stringify(text));
  }
  return v;
}

/** Throws a UsageError unless every flag in `names` was given. */
export function requireFlags(values: Record<string, unknown>, names: readonly string[], command: string): void {
  for (const name of names) if (!values[name]) throw new UsageError(`--${name} is required (sacl-au ${command} --help)`);
}

/** The fold flag: 1, 2 or 3 (ME-GraphAU's naming), `fallback` when absent. */
export function foldFlag(text: string | boolean | undefined, fallback = 1): number {
  const fold = numberFlag('fold', text, { integer: true, min: 1 }) ?? fallback;
  if (fold > 3) throw usageError('--fold', '1, 2 or 3', JSON.stringify(text));
  return fold;
}
