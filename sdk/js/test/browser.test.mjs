// The build in a real browser: headless Chromium loads dist/ and jose as ES
// modules (an import map, no bundler) from a page whose origin proxies
// Puguh's /api/v1 and JWKS (Puguh sends no CORS headers), and talks to a real
// Puguh. A Node built-in anywhere in the import graph would fail the import.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { newUser, postJSON, startPuguh } from './support/puguh.mjs';
import { sdkRoot } from './support/paths.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM} (set CHROMIUM)`;

let server;
let page;

before(async () => {
  if (skip) return;
  server = await startPuguh();
});
after(async () => {
  page?.close();
  await server?.stop();
});

const TYPES = { '.js': 'text/javascript', '.html': 'text/html', '.json': 'application/json' };

function serveFile(res, root, rel) {
  const file = path.resolve(root, rel);
  if (!file.startsWith(root + path.sep) || !existsSync(file)) return res.writeHead(404).end();
  res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
}

const PAGE_SCRIPT = `
import { PuguhClient, OAuthClient, createAccessTokenVerifier, ValidationError, VERSION } from '@arsaka/puguh-sdk';
const cfg = JSON.parse(document.getElementById('cfg').textContent);
const out = { version: VERSION };
try {
  const anon = new PuguhClient({ baseUrl: location.origin });
  out.health = await anon.health.check();
  const keyed = new PuguhClient({ baseUrl: location.origin, apiKey: cfg.apiKey, organizationId: cfg.organizationId });
  out.principal = (await keyed.health.check()).principal.type;
  const session = new PuguhClient({ baseUrl: location.origin });
  await session.auth.login({ email: cfg.email, password: cfg.password });
  out.me = (await session.iam.users.me()).email;
  try {
    await anon.auth.register({ email: 'nope', password: 'short', full_name: 'x' });
  } catch (e) {
    out.validation = e instanceof ValidationError ? e.issues.map((i) => i.loc.join('.')) : String(e);
  }
  const verifier = createAccessTokenVerifier({ issuer: cfg.issuer, audience: cfg.issuer + '/api', jwksUri: location.origin + '/.well-known/jwks.json' });
  out.sub = (await verifier.verify(session.accessToken)).sub;
  const oauth = new OAuthClient({ issuer: cfg.issuer, clientId: 'spa', redirectUri: location.origin + '/callback' });
  const request = await oauth.authorizationUrl({ scope: 'openid' });
  out.pkce = new URL(request.url).searchParams.get('code_challenge_method');
  out.processDefined = typeof process !== 'undefined';
} catch (e) {
  out.error = String((e && e.stack) || e);
}
await fetch('/result', { method: 'POST', body: JSON.stringify(out) });
`;

test('the SDK runs in headless Chromium against a real Puguh', { skip }, async () => {
  const user = await newUser(server, { prefix: 'browser' });
  const key = await postJSON(`${server.baseUrl}/api/v1/api-keys`, { name: 'browser' }, { Authorization: `Bearer ${user.accessToken}` });
  const cfg = { apiKey: key.body.key, organizationId: user.organizationId, email: user.email, password: user.password, issuer: server.issuer };
  const html = `<!doctype html><meta charset="utf-8"><title>sdk</title>
<script type="importmap">{"imports":{"@arsaka/puguh-sdk":"/sdk/index.js","jose":"/jose/index.js"}}</script>
<script type="application/json" id="cfg">${JSON.stringify(cfg)}</script>
<script type="module">${PAGE_SCRIPT}</script>`;

  let resolveResult;
  const result = new Promise((r) => (resolveResult = r));
  const dist = path.join(sdkRoot, 'dist');
  const jose = path.join(sdkRoot, 'node_modules/jose/dist/webapi');
  page = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://page');
    if (url.pathname === '/') return res.writeHead(200, { 'Content-Type': 'text/html' }).end(html);
    if (url.pathname.startsWith('/sdk/')) return serveFile(res, dist, url.pathname.slice(5));
    if (url.pathname.startsWith('/jose/')) return serveFile(res, jose, url.pathname.slice(6));
    if (url.pathname === '/result') {
      let body = '';
      for await (const chunk of req) body += chunk;
      res.writeHead(204).end();
      return resolveResult(JSON.parse(body));
    }
    if (url.pathname.startsWith('/api/v1/') || url.pathname.startsWith('/.well-known/')) {
      // Same-origin proxy to Puguh, as a deployment without CORS would have.
      let body;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        body = Buffer.concat(chunks);
      }
      const headers = { ...req.headers };
      delete headers.host;
      delete headers['content-length'];
      const upstream = await fetch(server.baseUrl + url.pathname + url.search, { method: req.method, headers, body });
      const out = Buffer.from(await upstream.arrayBuffer());
      const h = Object.fromEntries([...upstream.headers].filter(([k]) => !['content-encoding', 'content-length', 'transfer-encoding', 'connection'].includes(k)));
      return res.writeHead(upstream.status, h).end(out);
    }
    res.writeHead(404).end();
  });
  await new Promise((r) => page.listen(0, '127.0.0.1', r));
  const profile = mkdtempSync(path.join(tmpdir(), 'puguh-sdk-chromium-'));
  const browser = spawn(
    CHROMIUM,
    [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      `http://127.0.0.1:${page.address().port}/`,
    ],
    { stdio: 'ignore', detached: true },
  );
  try {
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('no result from the page within 60 s')), 60_000).unref());
    const out = await Promise.race([result, timeout]);
    assert.equal(out.error, undefined, out.error);
    assert.deepEqual(out, {
      version: JSON.parse(readFileSync(path.join(sdkRoot, 'package.json'), 'utf8')).version,
      health: { status: 'ok', database: 'ok', redis: 'disabled' },
      principal: 'api_key',
      me: user.email,
      validation: ['body.email', 'body.password'],
      sub: user.userId,
      pkce: 'S256',
      processDefined: false,
    });
  } finally {
    try {
      process.kill(-browser.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(profile, { recursive: true, force: true });
  }
});
