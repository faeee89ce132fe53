/** File writes that an interruption cannot leave half-done. */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';

/** Writes `data` to `file` through a temporary file in the same directory and a rename. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
