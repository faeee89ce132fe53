/**
 * MATLAB MAT-files, whichever version the datasets shipped: Level 5 (v5–v7, read here in TypeScript)
 * or v7.3 (HDF5, read through h5wasm). BP4D's 2-D features and DISFA's landmark points are MAT-files.
 */
import { open, readFile } from 'node:fs/promises';
import { isMat5, readMat5 } from './mat5.js';
import { isHdf5, readMat73 } from './mat73.js';
import type { MatValue } from './value.js';

export type { MatValue } from './value.js';
export { isEmpty, landmarksFromMatrix, numericMatrix, structField } from './value.js';

async function head(file: string, bytes: number): Promise<Uint8Array> {
  const h = await open(file, 'r');
  try {
    const buf = new Uint8Array(bytes);
    const { bytesRead } = await h.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await h.close();
  }
}

/**
 * The variables of a MAT-file (only `names`, when given; of struct variables only `fields`, when given);
 * a RangeError names the file when it is not one.
 */
export async function readMatFile(file: string, names?: readonly string[], fields?: readonly string[]): Promise<Map<string, MatValue>> {
  const start = await head(file, 2048);
  if (isMat5(start) && !isHdf5(start)) {
    return readMat5(await readFile(file), file, names); // Level 5 files are read whole: they are small
  }
  if (isHdf5(start)) return readMat73(file, names, fields);
  throw new RangeError(`${file}: not a MAT-file (neither a Level 5 header nor an HDF5 v7.3 signature)`);
}

/** One variable of a MAT-file (of a struct, only `fields` if given), or a RangeError naming the file and the variable. */
export async function readMatVariable(file: string, name: string, fields?: readonly string[]): Promise<MatValue> {
  const v = (await readMatFile(file, [name], fields)).get(name);
  if (!v) throw new RangeError(`${file}: no variable "${name}"`);
  return v;
}
