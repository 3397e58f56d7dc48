// A training run's output directory: created without Node's recursive mkdir (which spins forever on paths such as
// /proc/foo, where every mkdir fails with ENOENT), and owned by one run at a time through a lock file.
//
// The lock is `train.lock` in the directory, holding {"pid", "host", "startedAt"}, created with open(O_CREAT|O_EXCL)
// ('wx'), which fails when the file exists, atomically, on local file systems. A lock whose pid no longer runs on
// this host is stale (a run killed with SIGKILL, a power cut): it is taken over, with a notice. A lock from another
// host, or of a live pid, is refused with a one-line error naming it. The lock is removed when the run ends, and at
// process exit (a second Ctrl-C exits at once).
import { closeSync, mkdirSync, openSync, readFileSync, statSync, type Stats, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { ConfigError, ResourceError } from '../errors.js';

export const LOCK_FILE = 'train.lock';

function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

/** Creates `dir` and its missing parents; a ConfigError when a part is a file, a ResourceError when it cannot be made. */
export function ensureDir(dir: string): void {
  const st = statOrNull(dir);
  if (st !== null) {
    if (!st.isDirectory()) throw new ConfigError(`${dir} is a file, not a directory: give a directory path for the output (it is created if missing)`);
    return;
  }
  const parent = path.dirname(path.resolve(dir));
  if (parent !== path.resolve(dir)) ensureDir(parent);
  try {
    mkdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && statOrNull(dir)?.isDirectory() === true) return; // made by someone else meanwhile
    throw new ResourceError(`cannot create the directory ${dir} (${code ?? (e as Error).message}): choose a path in a writable directory`);
  }
}

interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
}

/** Lock files this process holds: removed at exit, whatever the path out. */
const held = new Set<string>();
let exitHook = false;

function removeHeld(): void {
  for (const file of held) {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
  held.clear();
}

function readOwner(file: string): LockOwner | null {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    if (typeof v.pid === 'number' && typeof v.host === 'string') return { pid: v.pid, host: v.host, startedAt: String(v.startedAt) };
  } catch {
    // unreadable, empty (being written right now) or not JSON
  }
  return null;
}

/** Whether `pid` runs on this machine (this process counts: another train() in it holds the lock). */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

/** Tries to create the lock file; false if it exists. */
function create(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    throw new ResourceError(`cannot create the lock file ${file} (${code ?? (e as Error).message}): choose a writable --out`);
  }
  try {
    writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }) + '\n');
  } finally {
    closeSync(fd);
  }
  return true;
}

export interface OutLock {
  /** Removes the lock file (idempotent). */
  release(): void;
}

/** Takes the lock of output directory `dir` (which must exist), or throws a ResourceError naming its owner. */
export function lockOutDir(dir: string, onNotice: (message: string) => void = () => {}): OutLock {
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (create(file)) {
      held.add(file);
      if (!exitHook) {
        process.on('exit', removeHeld);
        exitHook = true;
      }
      return {
        release: () => {
          if (!held.delete(file)) return;
          try {
            unlinkSync(file);
          } catch {
            // removed by hand meanwhile
          }
        },
      };
    }
    const owner = readOwner(file);
    if (owner === null) {
      throw new ResourceError(`${dir} is locked by another mod train (${file} exists but holds no owner yet): if no other run uses ${dir}, delete ${file}`);
    }
    if (owner.host !== hostname()) {
      throw new ResourceError(`${dir} is in use by pid ${owner.pid} on host ${owner.host} (since ${owner.startedAt}): wait for it, choose another --out, or delete ${file} if that run has ended`);
    }
    if (alive(owner.pid)) {
      throw new ResourceError(`${dir} is in use by another mod train (pid ${owner.pid}, since ${owner.startedAt}): wait for it to finish, or choose another --out`);
    }
    onNotice(`note: took over the lock of ${dir} from pid ${owner.pid}, which is no longer running`);
    try {
      unlinkSync(file);
    } catch {
      // another run took it over first; the next attempt sees its lock
    }
  }
  throw new ResourceError(`${dir}: could not take its lock (other runs are starting in it): try again`);
}
