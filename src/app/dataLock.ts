// One process per data folder. A second one would mark the first one's live reply as interrupted
// (it looks like a crash from outside) and interleave turns, so it is refused with a clear message.
// The lock is a file holding the owner's pid; a lock whose process is gone (a crash) is taken over.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const LOCK_FILE = 'clasp.lock';

export class DataDirLockedError extends Error {}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function readPid(file: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** A lock file without a pid yet: its owner is between creating and writing it. */
function startedRecently(file: string): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs < 5000;
  } catch {
    return false;
  }
}

/** Takes the data folder's lock; returns its release. Throws DataDirLockedError when a live process holds it. */
export function lockDataDir(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off('exit', release);
        if (readPid(file) === process.pid) fs.rmSync(file, { force: true });
      };
      process.on('exit', release);
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = readPid(file);
    if (pid === null && startedRecently(file)) {
      throw new DataDirLockedError(`${dir} is in use: another CLaSp Studio process is starting on it (${file})`);
    }
    if (pid !== null && alive(pid)) {
      throw new DataDirLockedError(
        `${dir} is in use by another CLaSp Studio process (pid ${pid}); close it first, or give this one its own data folder (CLASP_DATA_DIR). If no such process runs, delete ${file}.`,
      );
    }
    fs.rmSync(file, { force: true }); // left by a process that is gone
  }
  throw new DataDirLockedError(`${dir}: could not take the lock ${file}; another process is starting on the same folder`);
}
