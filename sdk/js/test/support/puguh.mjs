// Starts a real Puguh for a test file: the binary built from this repository
// (build-puguh.mjs), a fresh data directory, a free loopback port, and the
// admin listener off. Also: the CLI with the same environment, and a few raw
// HTTP helpers for setting up users without going through the SDK.
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { binaryPath } from './paths.mjs';

const run = promisify(execFile);

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Start Puguh. `env` adds variables (PUGUH_PLATFORM_OPERATORS, PUGUH_REDIS_URL, …).
 * Returns { baseUrl, issuer, env, cli(...args), stop() }; register stop with t.after / after().
 */
export async function startPuguh({ env = {} } = {}) {
  const bin = binaryPath();
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run "npm test" (it builds the server first) or set PUGUH_BIN`);
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'puguh-sdk-js-'));
  const baseUrl = `http://127.0.0.1:${port}`;
  const fullEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? dataDir,
    PUGUH_ADDR: `127.0.0.1:${port}`,
    PUGUH_ISSUER: baseUrl,
    PUGUH_DATA_DIR: dataDir,
    PUGUH_ADMIN_ADDR: 'off',
    PUGUH_LOG_LEVEL: 'warn',
    PUGUH_SHUTDOWN_TIMEOUT: '2s',
    ...env,
  };
  const child = spawn(bin, ['serve'], { env: fullEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => {
    log = (log + d.toString()).slice(-8000);
  });
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });

  // Bounded wait for the health endpoint: at most 30 s.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`puguh exited during start (${JSON.stringify(exited)}):\n${log}`);
    try {
      const res = await fetch(`${baseUrl}/api/v1/health`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`puguh did not answer /api/v1/health within 30 s:\n${log}`);
    }
    await sleep(100);
  }

  const server = {
    baseUrl,
    issuer: baseUrl,
    env: fullEnv,
    dataDir,
    log: () => log,
    /** Run `puguh ARGS…` against the same database; resolves with stdout. */
    async cli(...args) {
      const { stdout } = await run(bin, args, { env: fullEnv, timeout: 30_000 });
      return stdout;
    },
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        for (let i = 0; i < 100 && !exited; i++) await sleep(50);
        if (!exited) child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

let counter = 0;

/** A unique email for this process. */
export function uniqueEmail(prefix = 'user') {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${Date.now().toString(36)}@example.com`;
}

/** POST JSON with plain fetch; resolves with { status, body, headers }. */
export async function postJSON(url, body, headers = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

/** Register a user and log in, with plain fetch. Returns { email, password, userId, organizationId, accessToken, refreshToken }. */
export async function newUser(server, { prefix = 'user', fullName = 'Test User' } = {}) {
  const email = uniqueEmail(prefix);
  const password = `pw-${Math.random().toString(36).slice(2)}-long enough`;
  const reg = await postJSON(`${server.baseUrl}/api/v1/auth/register`, { email, password, full_name: fullName });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
  const tokens = await login(server, email, password);
  return { email, password, userId: reg.body.user_id, organizationId: reg.body.organization_id, ...tokens };
}

export async function login(server, email, password) {
  const res = await postJSON(`${server.baseUrl}/api/v1/auth/login`, { email, password });
  if (res.status !== 200) throw new Error(`login: ${res.status} ${JSON.stringify(res.body)}`);
  return { accessToken: res.body.access_token, refreshToken: res.body.refresh_token };
}

/** Log a token out with plain fetch (the way tests make a token fail without waiting an hour). */
export async function logout(server, accessToken) {
  const res = await fetch(`${server.baseUrl}/api/v1/auth/logout`, { method: 'POST', headers: { Authorization: `Bearer ${accessToken}` } });
  await res.arrayBuffer();
  if (res.status !== 204) throw new Error(`logout: ${res.status}`);
}

/** A fetch that records every request (method, path, Authorization) before passing it on. */
export function recordingFetch(inner = globalThis.fetch) {
  const calls = [];
  const f = async (url, init = {}) => {
    const h = new Headers(init.headers);
    calls.push({ method: init.method ?? 'GET', path: new URL(url).pathname, authorization: h.get('authorization'), apiKey: h.get('x-api-key') });
    return inner(url, init);
  };
  f.calls = calls;
  return f;
}

/** Decode a JWT's header and payload without verifying (tests only). */
export function decodeJwt(token) {
  const [h, p] = token.split('.');
  const dec = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  return { header: dec(h), payload: dec(p) };
}
