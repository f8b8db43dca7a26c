// Starts the real stack for the browser tests: `web migrate`, `web demo`, `web create-admin`,
// then `web serve` and one `worker`, on a database, Redis prefix and ports of this run's own.
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const run = promisify(execFile);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug');
export const ADMIN = { username: 'admin', password: 'admin-password-for-tests' };

async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

async function waitReady(url) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not become ready`);
}

export async function startStack() {
  const unique = `b${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const database = `novel_t_${unique}`;
  const [port, metrics, workerMetrics] = [await freePort(), await freePort(), await freePort()];
  const env = {
    ...process.env,
    NOVEL_ENV: 'test',
    NOVEL__DATABASE__URL: `mysql://root@127.0.0.1:3306/${database}`,
    NOVEL__REDIS__PREFIX: unique,
    NOVEL__HTTP__PORT: String(port),
    NOVEL__HTTP__METRICS_PORT: String(metrics),
    NOVEL__WORKER__METRICS_PORT: String(workerMetrics),
    NOVEL_ADMIN_PASSWORD: ADMIN.password,
    RUST_LOG: process.env.RUST_LOG || 'warn',
  };
  const options = { cwd: ROOT, env };
  await run(path.join(BIN, 'web'), ['migrate'], options);
  await run(path.join(BIN, 'web'), ['demo'], options);
  await run(path.join(BIN, 'web'), ['create-admin', ADMIN.username], options);
  const children = [
    spawn(path.join(BIN, 'web'), ['serve'], { ...options, stdio: ['ignore', 'ignore', 'inherit'] }),
    spawn(path.join(BIN, 'worker'), [], { ...options, stdio: ['ignore', 'ignore', 'inherit'] }),
  ];
  const stop = async () => {
    await Promise.all(children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }));
  };
  // Never leave the servers behind, even when the test process dies early.
  process.once('exit', () => children.forEach((child) => child.kill('SIGKILL')));
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(`${base}/readyz`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { base, database, env, stop };
}
