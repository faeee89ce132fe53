/**
 * Crash-safe writes: the data is fsynced before the rename that publishes it, and the directory after;
 * a failed write leaves the old file and no temporary one.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { promises as fsp, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../../dist/util/fs.js';

const test = suite('atomic writes');
const dir = mkdtempSync(join(tmpdir(), 'sacl-fs-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Records open/sync/rename on fs.promises while `fn` runs. */
async function traced(fn) {
  const log = [];
  const { open, rename } = fsp;
  fsp.open = async (path, ...rest) => {
    const handle = await open(path, ...rest);
    const sync = handle.sync.bind(handle);
    handle.sync = async () => { log.push(['sync', basename(String(path))]); return sync(); };
    return handle;
  };
  fsp.rename = async (from, to) => { log.push(['rename', basename(String(from)).replace(/\.tmp-.*/, '.tmp'), basename(String(to))]); return rename(from, to); };
  try {
    await fn();
  } finally {
    Object.assign(fsp, { open, rename });
  }
  return log;
}

test('the file is fsynced before the rename publishes it, the directory after', async () => {
  const file = join(dir, 'state.json');
  writeFileSync(file, 'old');
  const log = await traced(() => writeFileAtomic(file, 'new contents'));
  const steps = log.map((l) => (l[0] === 'sync' ? `sync ${l[1].startsWith('state.json.tmp-') ? 'tmp' : l[1] === basename(dir) ? 'dir' : l[1]}` : `rename ${l[1]} → ${l[2]}`));
  if (process.platform === 'win32') assert.equal(steps, ['sync tmp', 'rename state.json.tmp → state.json']);
  else assert.equal(steps, ['sync tmp', 'rename state.json.tmp → state.json', 'sync dir']);
  assert.is(readFileSync(file, 'utf8'), 'new contents');
  assert.equal(readdirSync(dir), ['state.json'], 'no temporary file left');
});

test('a failed write keeps the old file and leaves no temporary one', async () => {
  const file = join(dir, 'kept.json');
  writeFileSync(file, 'old');
  let error;
  try { await writeFileAtomic(file, { notData: true }); } catch (e) { error = e; }
  assert.ok(error, 'invalid data is refused');
  assert.is(readFileSync(file, 'utf8'), 'old');
  assert.equal(readdirSync(dir).filter((f) => f.startsWith('kept.json')), ['kept.json']);
});

test.run();
