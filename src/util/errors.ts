import { message } from './validate.js';

/**
 * A command-line argument that cannot be used: a flag missing, out of range or conflicting with what an
 * earlier run recorded. The CLI exits 2 for these and 1 for every other failure. A RangeError, so code
 * that calls the library directly sees the same class as before.
 */
export class UsageError extends RangeError {
  override name = 'UsageError';
}

/** Runs `fn`; an Error it throws is rethrown as a UsageError with the same message (for checks of values the user gave). */
export function asUsage<T>(fn: () => T, prefix = ''): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof UsageError || !(e instanceof Error)) throw e;
    throw new UsageError(`${prefix}${e.message}`);
  }
}

/** A UsageError in the library's one message shape, "Expected <what> for <name> but received <what>". */
export function usageError(name: string, expected: string, actual: string): UsageError {
  return new UsageError(message(name, expected, actual));
}
