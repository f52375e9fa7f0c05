// The token-expired path against a real Puguh. A token is made to fail the
// way an expired one does (401, "Invalid or expired token",
// WWW-Authenticate: Bearer … error="invalid_token") by logging it out.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthenticationError, PuguhClient } from '../dist/index.js';
import { login, logout, newUser, postJSON, recordingFetch, startPuguh } from './support/puguh.mjs';

let server;
let user; // owner of an organization on the business plan
let dead; // an access token of user's that the server refuses: logged out
let chain; // a live refresh token of user's, rotated by fresh()

before(async () => {
  server = await startPuguh();
  user = await newUser(server, { prefix: 'tokens' });
  await server.cli('orgs', 'set-plan', user.organizationId, 'business');
  // Sign-ins are throttled per account (10 at once), so tokens come from refreshes.
  const other = await login(server, user.email, user.password);
  await logout(server, other.accessToken);
  dead = other.accessToken;
  chain = user.refreshToken;
});
after(() => server?.stop());

/** A live pair of user's, from the refresh chain (no password check). */
async function fresh() {
  const res = await postJSON(`${server.baseUrl}/api/v1/auth/refresh`, { refresh_token: chain });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  chain = res.body.refresh_token;
  return { accessToken: res.body.access_token, refreshToken: res.body.refresh_token };
}

test('an expired token: onTokenExpired is called once and the call is retried once with the new token', async () => {
  const next = await fresh();
  const f = recordingFetch();
  let calls = 0;
  const client = new PuguhClient({
    baseUrl: server.baseUrl,
    fetch: f,
    accessToken: dead,
    onTokenExpired: async () => {
      calls++;
      return next.accessToken;
    },
  });
  const me = await client.iam.users.me();
  assert.equal(me.id, user.userId);
  assert.equal(calls, 1);
  assert.deepEqual(
    f.calls.map((c) => c.authorization),
    [`Bearer ${dead}`, `Bearer ${next.accessToken}`],
  );
  assert.equal(client.accessToken, next.accessToken);

  // The new token stays: the next call sends it first.
  await client.iam.users.me();
  assert.equal(calls, 1);
  assert.equal(f.calls.length, 3);
});

test('concurrent calls that fail together share one pending refresh', async () => {
  const next = await fresh();
  const f = recordingFetch();
  let calls = 0;
  let release;
  const gate = new Promise((r) => (release = r));
  const client = new PuguhClient({
    baseUrl: server.baseUrl,
    fetch: f,
    accessToken: dead,
    onTokenExpired: async () => {
      calls++;
      await gate; // hold the refresh until every call has failed
      return next.accessToken;
    },
  });
  const pending = Array.from({ length: 5 }, () => client.iam.users.me());
  // Bounded wait until all five have been refused and are waiting on the one refresh.
  for (let i = 0; i < 200 && f.calls.length < 5; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(f.calls.length, 5);
  await new Promise((r) => setTimeout(r, 50));
  release();
  const results = await Promise.all(pending);
  assert.ok(results.every((me) => me.id === user.userId));
  assert.equal(calls, 1);
  assert.equal(f.calls.length, 10, 'each call sent twice: once refused, once with the new token');
  assert.equal(f.calls.filter((c) => c.authorization === `Bearer ${next.accessToken}`).length, 5);
});

test('never loops: a refreshed token that is refused again is thrown', async () => {
  const alsoDead = 'not-a-token';
  const f = recordingFetch();
  let calls = 0;
  const client = new PuguhClient({
    baseUrl: server.baseUrl,
    fetch: f,
    accessToken: dead,
    onTokenExpired: async () => {
      calls++;
      return alsoDead;
    },
  });
  await assert.rejects(client.iam.users.me(), (e) => {
    assert.ok(e instanceof AuthenticationError);
    assert.equal(e.status, 401);
    assert.equal(e.detail, 'Invalid or expired token');
    assert.equal(e.wwwAuthenticate, 'Bearer realm="puguh", error="invalid_token"');
    assert.equal(e.invalidToken, true);
    return true;
  });
  assert.equal(calls, 1);
  assert.equal(f.calls.length, 2);
});

test('onTokenExpired returning null gives up with the 401; its own error reaches the caller', async () => {
  const f = recordingFetch();
  const giveUp = new PuguhClient({ baseUrl: server.baseUrl, fetch: f, accessToken: dead, onTokenExpired: () => null });
  await assert.rejects(giveUp.apiKeys.list(), AuthenticationError);
  assert.equal(f.calls.length, 1);

  class SignInAgain extends Error {}
  const throwing = new PuguhClient({
    baseUrl: server.baseUrl,
    accessToken: dead,
    onTokenExpired: async () => {
      throw new SignInAgain('please sign in again');
    },
  });
  await assert.rejects(throwing.apiKeys.list(), SignInAgain);
});

test('no refresh for 401s that are not a refused Bearer token', async () => {
  let calls = 0;
  const onTokenExpired = () => {
    calls++;
    return 'x';
  };
  // A bad API key: WWW-Authenticate is APIKey, not invalid_token.
  const keyClient = new PuguhClient({ baseUrl: server.baseUrl, apiKey: 'pgh_nope', organizationId: user.organizationId, onTokenExpired });
  await assert.rejects(keyClient.iam.users.me(), (e) => e instanceof AuthenticationError && e.detail === 'Invalid API key' && !e.invalidToken);
  // No credential at all: `Bearer realm="puguh"` without an error.
  const anonymous = new PuguhClient({ baseUrl: server.baseUrl, onTokenExpired });
  await assert.rejects(anonymous.iam.users.me(), (e) => e instanceof AuthenticationError && !e.invalidToken);
  // A failed sign-in.
  await assert.rejects(anonymous.auth.login({ email: user.email, password: 'wrong password!' }), (e) => e.detail === 'Invalid email or password');
  assert.equal(calls, 0);
});

test('the session refreshes by itself with its refresh token and keeps the rotated one', async () => {
  // A pair of its own family, whose refresh token only the client uses from now on.
  const live = await login(server, user.email, user.password);
  const stored = [];
  const f = recordingFetch();
  const client = new PuguhClient({
    baseUrl: server.baseUrl,
    fetch: f,
    accessToken: dead,
    refreshToken: live.refreshToken,
    onTokens: (pair) => stored.push(pair),
  });
  const me = await client.iam.users.me();
  assert.equal(me.id, user.userId);
  assert.deepEqual(
    f.calls.map((c) => `${c.method} ${c.path}`),
    ['GET /api/v1/iam/users/me', 'POST /api/v1/auth/refresh', 'GET /api/v1/iam/users/me'],
  );
  assert.equal(stored.length, 1);
  assert.notEqual(client.refreshToken, live.refreshToken, 'the rotated refresh token replaced the used one');
  assert.equal(client.refreshToken, stored[0].refresh_token);
  assert.equal(client.accessToken, stored[0].access_token);
  assert.equal(f.calls[2].authorization, `Bearer ${stored[0].access_token}`);
});

test('a session whose refresh token is refused throws that refusal', async () => {
  const client = new PuguhClient({ baseUrl: server.baseUrl, accessToken: dead, refreshToken: 'ory_rt_not.valid' });
  await assert.rejects(client.iam.users.me(), (e) => e instanceof AuthenticationError && e.detail === 'Invalid or expired refresh token');
});

test('auth.login on a fresh client, then logout: a later call is refused without a refresh', async () => {
  const f = recordingFetch();
  const client = new PuguhClient({ baseUrl: server.baseUrl, fetch: f });
  await client.auth.login({ email: user.email, password: user.password });
  assert.equal((await client.iam.users.me()).email, user.email);
  await client.auth.logout();
  await assert.rejects(client.iam.users.me(), (e) => e instanceof AuthenticationError && !e.invalidToken);
  assert.equal(f.calls.at(-1).authorization, null, 'after logout no token is sent');
});

test('a session resumed from a refresh token alone refreshes before its first call', async () => {
  const live = await login(server, user.email, user.password);
  const f = recordingFetch();
  const client = new PuguhClient({ baseUrl: server.baseUrl, fetch: f, refreshToken: live.refreshToken });
  const [a, b] = await Promise.all([client.iam.users.me(), client.organizations.list()]);
  assert.equal(a.id, user.userId);
  assert.equal(b.items.length, 1);
  assert.deepEqual(
    f.calls.map((c) => `${c.method} ${c.path}`).sort(),
    ['GET /api/v1/iam/users/me', 'GET /api/v1/organizations', 'POST /api/v1/auth/refresh'],
  );
  assert.equal(f.calls.find((c) => c.path === '/api/v1/iam/users/me').authorization, `Bearer ${client.accessToken}`);
});
