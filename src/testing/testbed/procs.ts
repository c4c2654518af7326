/**
 * Child processes of the test bed: started in their own process group with output to a log file,
 * stopped by group so nothing is left behind.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Started {
  readonly pid: number;
  readonly logPath: string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
}

export function startProcess(bin: string, args: readonly string[], logPath: string, env: NodeJS.ProcessEnv = process.env): Started {
  const fd = openSync(logPath, 'a');
  try {
    const child = spawn(bin, [...args], { stdio: ['ignore', fd, fd], detached: true, env });
    if (child.pid === undefined) throw new Error(`could not start ${bin}`);
    child.unref();
    const exited = new Promise<number | string>((resolve) => {
      child.on('exit', (code, signal) => { resolve(code ?? signal ?? 'unknown'); });
      child.on('error', (err) => { resolve(err.message); });
    });
    return { pid: child.pid, logPath, exited };
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  // pid 0 or negative would address a process group (possibly our own): never a test-bed process.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a process group: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(pid: number, graceMs = 5000): Promise<void> {
  if (!Number.isInteger(pid) || pid <= 0) return;
  const signalGroup = (sig: NodeJS.Signals) => {
    try { process.kill(-pid, sig); } catch { try { process.kill(pid, sig); } catch { /* already gone */ } }
  };
  if (!isAlive(pid)) return;
  signalGroup('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) {
    signalGroup('SIGKILL');
    while (isAlive(pid)) await sleep(20);
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => { resolve(port); });
    });
  });
}

/** The last lines of a log file, for error messages. */
export function tail(logPath: string, lines = 15): string {
  if (!existsSync(logPath)) return '';
  return readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
