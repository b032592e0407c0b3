import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { NodeProbe } from './node-probe.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Connections and rooms a node reports on `/metrics`. */
export interface NodeStats {
  connections: number;
  rooms: number;
}

/**
 * One app node of the soak: the built sample (`dist-sample/sample/main.js`) in a child process
 * of its own, on a fixed port so that it comes back at the same address after a kill or a
 * drain. Its output goes to `<logDir>/<id>.log`.
 */
export class SampleNode {
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> = Promise.resolve();
  private log: WriteStream | undefined;
  /** Times the node was started (1 + restarts). */
  starts = 0;

  constructor(
    readonly id: string,
    readonly port: number,
    private readonly root: string,
    private readonly env: Record<string, string>,
    private readonly logDir: string,
  ) {}

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private get probeFile(): string {
    return join(this.logDir, `${this.id}.probe.json`);
  }

  /** Starts the node and resolves once `/health` answers 200. */
  async start(): Promise<void> {
    this.log ??= createWriteStream(join(this.logDir, `${this.id}.log`), { flags: 'a' });
    this.log.write(`--- start ${++this.starts} at ${new Date().toISOString()}\n`);
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', join(this.root, 'dist-sample/test/soak/node-probe.js'), 'dist-sample/sample/main.js'],
      {
        cwd: this.root,
        env: {
          ...process.env,
          ...this.env,
          PORT: String(this.port),
          NODE_ID: this.id,
          SOAK_PROBE_FILE: this.probeFile,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    child.stdout!.pipe(this.log, { end: false });
    child.stderr!.pipe(this.log, { end: false });
    this.exited = new Promise((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 60_000;
    while (!(await this.healthy())) {
      if (!this.running) throw new Error(`node ${this.id} exited at start-up (see ${this.id}.log)`);
      if (Date.now() > deadline) throw new Error(`node ${this.id} did not answer /health within 60 s`);
      await sleep(100);
    }
  }

  /** A crash: SIGKILL, no close frames, no cleanup. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await this.exited;
  }

  /** A deploy: SIGTERM, the sample closes every connection with 1012 and exits. */
  async drain(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    await this.drain();
    this.log?.end();
    this.log = undefined;
    rmSync(this.probeFile, { force: true });
  }

  async healthy(): Promise<boolean> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.port}/health`, { signal: AbortSignal.timeout(2000) });
      return response.status === 200;
    } catch {
      return false;
    }
  }

  /** Live connections and rooms of this node, from its Prometheus metrics. */
  async stats(): Promise<NodeStats> {
    const response = await fetch(`http://127.0.0.1:${this.port}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await response.text();
    const gauge = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    return { connections: gauge('websocket_active_connections'), rooms: gauge('websocket_active_rooms') };
  }

  /** Settled memory and live resources of the node (see node-probe.ts). */
  async probe(): Promise<NodeProbe> {
    rmSync(this.probeFile, { force: true });
    this.child!.kill('SIGUSR2');
    const deadline = Date.now() + 10_000;
    while (!existsSync(this.probeFile)) {
      if (Date.now() > deadline) throw new Error(`node ${this.id} did not answer the probe`);
      await sleep(50);
    }
    return JSON.parse(readFileSync(this.probeFile, 'utf8')) as NodeProbe;
  }
}
