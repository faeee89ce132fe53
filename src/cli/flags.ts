/** Numeric command-line flags, checked one way for every command. */

/** A numeric flag's value, undefined when absent; out of range or not a number is a RangeError naming it. */
export function numberFlag(name: string, text: string | boolean | undefined, { integer = false, min = 0 } = {}): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (typeof text === 'boolean' || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    const what = min === 0 ? `a non-negative ${integer ? 'integer' : 'number'}`
      : min === 1 && integer ? 'a positive integer' : `${integer ? 'an integer' : 'a number'} ≥ ${min}`;
    throw new RangeError(`--${name}: expected ${what}; got ${JSON.stringify(text)}`);
  }
  return v;
}
