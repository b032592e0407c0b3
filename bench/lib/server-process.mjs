import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const gcHook = fileURLToPath(new URL('./gc-hook.mjs', import.meta.url));
const CLOCK_TICKS = 100; // USER_HZ on Linux

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function portOpen(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/**
 * A server under test in its own process (its own core on a 2-core machine), with its CPU time
 * read from /proc and its memory read through the gc hook. With `{ logFile: true }` its stdout
 * and stderr go to a file of its own (removed at stop), for a benchmark that counts log lines
 * (see countLines); otherwise stdout is dropped (BENCH_SERVER_STDOUT shows it) and stderr shown.
 */
export class ServerProcess {
  constructor(name, script, port, env = {}, { logFile = false } = {}) {
    this.name = name;
    this.port = port;
    this.memFile = join(tmpdir(), `bench-mem-${process.pid}-${port}.json`);
    let stdio = ['ignore', process.env.BENCH_SERVER_STDOUT ? 'inherit' : 'ignore', 'inherit'];
    let fd;
    if (logFile) {
      this.logFile = join(tmpdir(), `bench-log-${process.pid}-${port}.log`);
      fd = openSync(this.logFile, 'w');
      stdio = ['ignore', fd, fd];
    }
    this.child = spawn(process.execPath, ['--expose-gc', '--import', gcHook, script], {
      env: { ...process.env, ...env, PORT: String(port), BENCH_MEM_FILE: this.memFile },
      stdio,
    });
    // The child holds its own copy of the descriptor.
    if (fd !== undefined) closeSync(fd);
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
  }

  async ready(timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await portOpen(this.port))) {
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited with ${this.child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not listen on ${this.port}`);
      await sleep(100);
    }
    await sleep(300);
  }

  /** User + system CPU seconds used by the server process so far. */
  cpuSeconds() {
    const stat = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  }

  /** process.memoryUsage() of the server after two forced GCs. */
  async memory() {
    rmSync(this.memFile, { force: true });
    this.child.kill('SIGUSR2');
    const deadline = Date.now() + 10_000;
    while (!existsSync(this.memFile)) {
      if (Date.now() > deadline) throw new Error(`${this.name} did not report memory`);
      await sleep(50);
    }
    await sleep(50);
    return JSON.parse(readFileSync(this.memFile, 'utf8'));
  }

  /** Lines of the server's log file (`{ logFile: true }`) that match `pattern`, so far. */
  countLines(pattern) {
    if (!this.logFile) throw new Error(`${this.name} has no log file: start it with { logFile: true }`);
    return readFileSync(this.logFile, 'utf8')
      .split('\n')
      .filter((line) => pattern.test(line)).length;
  }

  /**
   * SIGTERM, then SIGKILL after `killAfterMs` (as an orchestrator's grace period). Returns how
   * long the process took to exit and whether it had to be killed.
   */
  async stop({ killAfterMs = 10_000 } = {}) {
    const startedAt = Date.now();
    let killed = false;
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      killed = true;
      this.child.kill('SIGKILL');
    }, killAfterMs);
    await this.exited;
    clearTimeout(timer);
    rmSync(this.memFile, { force: true });
    if (this.logFile) rmSync(this.logFile, { force: true });
    return { exitMs: Date.now() - startedAt, killed };
  }
}
