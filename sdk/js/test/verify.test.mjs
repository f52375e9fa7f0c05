// verifyAccessToken and createAccessTokenVerifier against a real Puguh's
// tokens and JWKS, a signing-key rotation included, and the middleware
// example on node:http.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createAccessTokenVerifier, PuguhConnectionError, TokenVerificationError, verifyAccessToken } from '@arsaka/puguh-sdk';
import { requireToken } from '../examples/middleware.mjs';
import { decodeJwt, freePort, login, newUser, postJSON, startPuguh } from './support/puguh.mjs';

let server;
let user;
let apiAudience;

before(async () => {
  server = await startPuguh();
  user = await newUser(server, { prefix: 'verify' });
  apiAudience = `${server.issuer}/api`;
});
after(() => server?.stop());

/** A fetch that counts the JWKS requests it passes on. */
function countingFetch() {
  const f = (url, init) => {
    f.count++;
    return fetch(url, init);
  };
  f.count = 0;
  return f;
}

const isInvalid = (e) => e instanceof TokenVerificationError && e.code === 'invalid_token' && e.status === 401;

test('a REST API token: claims, scopes, and one JWKS fetch for many verifications', async () => {
  const f = countingFetch();
  const v = createAccessTokenVerifier({ issuer: server.issuer, audience: apiAudience, fetch: f });
  const claims = await v.verify(user.accessToken, { scopes: ['offline_access'] });
  assert.equal(claims.iss, server.issuer);
  assert.equal(claims.sub, user.userId);
  assert.deepEqual(claims.aud, [apiAudience]);
  assert.equal(claims.kind, 'user');
  assert.equal(claims.org_id, user.organizationId);
  assert.equal(claims.client_id, 'puguh');
  for (let i = 0; i < 5; i++) await v.verify(user.accessToken);
  assert.equal(f.count, 1);

  // verifyAccessToken keeps one cache per issuer, audience and fetch.
  const g = countingFetch();
  for (let i = 0; i < 3; i++) await verifyAccessToken(user.accessToken, { issuer: server.issuer, audience: apiAudience, fetch: g });
  assert.equal(g.count, 1);
});

test('refused: wrong audience, wrong issuer, tampered, alg none, oversized, not a JWT', async () => {
  const ok = { issuer: server.issuer, audience: apiAudience };
  await assert.rejects(verifyAccessToken(user.accessToken, { ...ok, audience: 'some-other-client' }), (e) => isInvalid(e) && /aud/.test(e.message));
  await assert.rejects(
    verifyAccessToken(user.accessToken, { ...ok, issuer: 'https://impostor.example.com', jwksUri: `${server.issuer}/.well-known/jwks.json` }),
    (e) => isInvalid(e) && /iss/.test(e.message),
  );
  const [h, p, s] = user.accessToken.split('.');
  const payload = JSON.parse(Buffer.from(p, 'base64url'));
  const forged = Buffer.from(JSON.stringify({ ...payload, sub: 'someone-else' })).toString('base64url');
  await assert.rejects(verifyAccessToken(`${h}.${forged}.${s}`, ok), isInvalid);
  const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
  await assert.rejects(verifyAccessToken(`${none}.${p}.`, ok), isInvalid);
  await assert.rejects(verifyAccessToken(`${h}.${'A'.repeat(17000)}.${s}`, ok), (e) => isInvalid(e) && /too large/.test(e.message));
  await assert.rejects(verifyAccessToken('pgh_not_a_jwt', ok), isInvalid);
});

test('expiry is checked with 30 s of leeway', async () => {
  const { payload } = decodeJwt(user.accessToken);
  const v = createAccessTokenVerifier({ issuer: server.issuer, audience: apiAudience });
  await v.verify(user.accessToken, { now: new Date((payload.exp + 29) * 1000) });
  await assert.rejects(v.verify(user.accessToken, { now: new Date((payload.exp + 31) * 1000) }), (e) => isInvalid(e) && /exp/.test(e.message));
  const strict = createAccessTokenVerifier({ issuer: server.issuer, audience: apiAudience, clockTolerance: 0 });
  await assert.rejects(strict.verify(user.accessToken, { now: new Date((payload.exp + 1) * 1000) }), isInvalid);
});

test('insufficient_scope: 403 and the scopes in WWW-Authenticate', async () => {
  await assert.rejects(verifyAccessToken(user.accessToken, { issuer: server.issuer, audience: apiAudience, scopes: ['offline_access', 'read:resources'] }), (e) => {
    assert.ok(e instanceof TokenVerificationError);
    assert.equal(e.code, 'insufficient_scope');
    assert.equal(e.status, 403);
    assert.equal(e.wwwAuthenticate('reports'), 'Bearer realm="reports", error="insufficient_scope", scope="offline_access read:resources"');
    return true;
  });
});

test('an unreachable JWKS is a connection error, not a bad token', async () => {
  const port = await freePort();
  await assert.rejects(
    verifyAccessToken(user.accessToken, { issuer: server.issuer, audience: apiAudience, jwksUri: `http://127.0.0.1:${port}/jwks.json` }),
    (e) => e instanceof PuguhConnectionError,
  );
});

/** Bounded wait (15 s) until the served JWKS no longer holds `kid`. */
async function waitUntilUnpublished(kid) {
  for (let i = 0; i < 150; i++) {
    const res = await fetch(`${server.issuer}/.well-known/jwks.json`, { cache: 'no-store' });
    const { keys } = await res.json();
    if (!keys.some((k) => k.kid === kid)) return keys;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`key ${kid} still published after 15 s`);
}

/** A fresh token from the refresh chain (signing with whatever key is active now). */
let chain;
async function freshToken() {
  const res = await postJSON(`${server.baseUrl}/api/v1/auth/refresh`, { refresh_token: chain });
  assert.equal(res.status, 200);
  chain = res.body.refresh_token;
  return res.body.access_token;
}

test('key rotation: a pre-published key verifies from cache; an unknown kid refetches once the cooldown allows', async () => {
  chain = (await login(server, user.email, user.password)).refreshToken;
  const first = await freshToken();
  const k1 = decodeJwt(first).header.kid;

  const fastFetch = countingFetch();
  const slowFetch = countingFetch();
  const opts = { issuer: server.issuer, audience: apiAudience };
  const fast = createAccessTokenVerifier({ ...opts, fetch: fastFetch, jwks: { cooldownDuration: 0 } });
  const slow = createAccessTokenVerifier({ ...opts, fetch: slowFetch, jwks: { cooldownDuration: 60_000 } });
  await fast.verify(first);
  await slow.verify(first);
  assert.deepEqual([fastFetch.count, slowFetch.count], [1, 1]);

  // Rotation 1: the next key (already in both caches) signs; the old one leaves the JWKS.
  await server.cli('keys', 'rotate', '--force');
  await waitUntilUnpublished(k1);
  const second = await freshToken();
  const k2 = decodeJwt(second).header.kid;
  assert.notEqual(k2, k1);
  await fast.verify(second);
  await slow.verify(second);
  assert.deepEqual([fastFetch.count, slowFetch.count], [1, 1], 'a pre-published key needs no fetch');

  // Rotation 2: a key created after the caches were filled signs.
  await server.cli('keys', 'rotate', '--force');
  await waitUntilUnpublished(k2);
  const third = await freshToken();
  assert.notEqual(decodeJwt(third).header.kid, k2);
  await assert.rejects(slow.verify(third), (e) => isInvalid(e) && e.cause?.code === 'ERR_JWKS_NO_MATCHING_KEY');
  assert.equal(slowFetch.count, 1, 'within the cooldown an unknown kid fetches nothing');
  const claims = await fast.verify(third);
  assert.equal(claims.sub, user.userId);
  assert.equal(fastFetch.count, 2, 'the unknown kid fetched the JWKS once');
  // The refetched set no longer holds the first key, so its tokens are refused now.
  await assert.rejects(fast.verify(first), isInvalid);
  // The server agrees.
  const res = await fetch(`${server.baseUrl}/api/v1/iam/users/me`, { headers: { Authorization: `Bearer ${first}` } });
  assert.equal(res.status, 401);
});

test('the middleware example on node:http', async (t) => {
  const auth = requireToken({ issuer: server.issuer, audience: apiAudience });
  const guard = auth.connect(['offline_access']);
  const strict = auth.connect(['read:reports']);
  const app = createServer((req, res) => {
    const mw = req.url === '/strict' ? strict : guard;
    mw(req, res, (err) => {
      if (err) return res.writeHead(500).end(String(err));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ sub: req.auth.sub }));
    });
  });
  await new Promise((r) => app.listen(0, '127.0.0.1', r));
  t.after(() => app.close());
  const base = `http://127.0.0.1:${app.address().port}`;
  const token = await freshToken();
  const call = async (path, authorization) => {
    const res = await fetch(base + path, { headers: authorization ? { Authorization: authorization } : {} });
    return { status: res.status, www: res.headers.get('www-authenticate'), body: await res.json() };
  };

  assert.deepEqual(await call('/', `Bearer ${token}`), { status: 200, www: null, body: { sub: user.userId } });
  assert.deepEqual(await call('/'), { status: 401, www: 'Bearer realm="my-api"', body: { detail: 'Not authenticated' } });
  const bad = await call('/', 'Bearer not.a.token');
  assert.equal(bad.status, 401);
  assert.equal(bad.www, 'Bearer realm="my-api", error="invalid_token"');
  const basic = await call('/', 'Basic dXNlcjpwYXNz');
  assert.equal(basic.status, 400);
  assert.equal(basic.www, 'Bearer realm="my-api", error="invalid_request"');
  const scope = await call('/strict', `Bearer ${token}`);
  assert.equal(scope.status, 403);
  assert.equal(scope.www, 'Bearer realm="my-api", error="insufficient_scope", scope="read:reports"');
});
