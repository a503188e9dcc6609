// The session database's file before SQLite opens it: its folder made, the file created private,
// and a clear error when something other than a file sits at its path.
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The database's folder, and the file itself created private (0600: the chats are the user's alone;
 * SQLite gives its -wal and -shm files the same mode). Something other than a file there is named.
 */
export function prepareDbFile(file: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  let st: fs.Stats | null;
  try {
    st = fs.statSync(file);
  } catch {
    st = null;
  }
  if (st && !st.isFile()) {
    throw new Error(`${path.resolve(file)} is ${st.isDirectory() ? 'a folder' : 'not a regular file'}, not a session database: move it away, or use another data folder (CLASP_DATA_DIR)`);
  }
  if (!st) {
    try {
      fs.closeSync(fs.openSync(file, 'wx', 0o600));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  } else if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    try {
      fs.chmodSync(file, 0o600);
    } catch {
      /* not ours to change: leave it */
    }
  }
}
