// Starts a private Redis, the maildev SMTP sink and the built Keyhold server
// on free loopback ports, waits until each answers, and stops them afterwards.
import { spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, child: ChildProcess, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${ms} ms`);
}

async function httpOk(url: string) {
  const res = await fetch(url);
  return res.ok;
}

export default async function globalSetup() {
  const children: ChildProcess[] = [];
  const dataDir = mkdtempSync(path.join(tmpdir(), 'keyhold-e2e-'));
  const stop = async () => {
    for (const child of children.reverse()) child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const redisPort = await freePort();
    const redis = spawn(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dataDir],
      { stdio: 'ignore' },
    );
    children.push(redis);

    const [smtpPort, mailWebPort] = [await freePort(), await freePort()];
    const maildev = spawn(
      path.join(__dirname, '..', 'node_modules', '.bin', 'maildev'),
      ['--ip', '127.0.0.1', '--smtp', String(smtpPort), '--web', String(mailWebPort), '--silent'],
      { stdio: 'ignore' },
    );
    children.push(maildev);
    const mailUrl = `http://127.0.0.1:${mailWebPort}`;
    await waitFor('maildev', () => httpOk(`${mailUrl}/healthz`), maildev);

    const appPort = await freePort();
    const baseUrl = `http://127.0.0.1:${appPort}`;
    const serverBin =
      process.env.KEYHOLD_SERVER_BIN ?? path.join(repoRoot, 'target', 'debug', 'keyhold-server');
    const server = spawn(serverBin, [], {
      cwd: repoRoot,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        RUST_LOG: process.env.RUST_LOG ?? 'warn',
        APP_ENV: 'development',
        APP_URL: baseUrl,
        REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
        SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        OUTBOX_DIR: path.join(dataDir, 'outbox'),
        OBJECT_STORE_URL: path.join(dataDir, 'objects'),
        UPLOAD_MAX_BYTES: String(4 * 1024 * 1024),
        ADMIN_EMAILS: 'admin-js@example.com,admin-nojs@example.com',
        ERROR_INGEST_TOKEN: 'e2e-ingest-token-0123456789abcdef',
        LEPTOS_SITE_ADDR: `127.0.0.1:${appPort}`,
        LEPTOS_SITE_ROOT: process.env.KEYHOLD_SITE_ROOT ?? path.join(repoRoot, 'target', 'site'),
        // Tests share one client IP: keep the per-IP limits out of their way.
        USERNAME_STATUS_LIMIT: '10000',
        LOGIN_FAIL_LIMIT_IP: '10000',
        CODE_REQUEST_LIMIT_IP: '10000',
        CODE_RESEND_COOLDOWN: '2',
      },
    });
    children.push(server);
    await waitFor('keyhold-server', () => httpOk(`${baseUrl}/readyz`), server);

    process.env.KEYHOLD_BASE_URL = baseUrl;
    process.env.MAILDEV_URL = mailUrl;
    process.env.KEYHOLD_OUTBOX_DIR = path.join(dataDir, 'outbox');
    process.env.REDIS_PORT = String(redisPort);
  } catch (error) {
    await stop();
    throw error;
  }
  return stop;
}
