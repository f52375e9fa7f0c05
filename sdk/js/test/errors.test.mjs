// Error shapes, rate limits and opt-in retries against a real Puguh; timeouts
// and aborts against a loopback server that never answers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import {
  AuthenticationError,
  BadRequestError,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
  PuguhAPIError,
  PuguhClient,
  PuguhConnectionError,
  PuguhError,
  PuguhTimeoutError,
  RateLimitError,
  ServerError,
  ValidationError,
} from '../dist/index.js';
import { freePort, newUser, recordingFetch as recording, startPuguh } from './support/puguh.mjs';
import { validatingFetch } from './support/schema.mjs';

// Every answer from Puguh, errors included, is checked against the OpenAPI document.
const checked = validatingFetch();
const recordingFetch = () => recording(checked);

let server;
let owner; // business plan
let client;

before(async () => {
  server = await startPuguh();
  owner = await newUser(server, { prefix: 'errors' });
  await server.cli('orgs', 'set-plan', owner.organizationId, 'business');
  client = new PuguhClient({ baseUrl: server.baseUrl, accessToken: owner.accessToken, fetch: checked });
});
after(() => server?.stop());

test('400: an invalid cursor', async () => {
  await assert.rejects(client.iam.users.list({ cursor: 'forged' }), (e) => {
    assert.ok(e instanceof BadRequestError && e instanceof PuguhAPIError && e instanceof PuguhError);
    assert.equal(e.status, 400);
    assert.equal(e.detail, 'Invalid cursor');
    assert.deepEqual(e.body, { detail: 'Invalid cursor' });
    assert.equal(e.rateLimit.limit, 1000);
    assert.match(e.requestId, /^[0-9a-f]+$/);
    return true;
  });
});

test('401: the per-IP budget in the rate-limit headers, WWW-Authenticate exposed', async () => {
  const anonymous = new PuguhClient({ baseUrl: server.baseUrl, fetch: checked });
  await assert.rejects(anonymous.apiKeys.list(), (e) => {
    assert.ok(e instanceof AuthenticationError);
    assert.equal(e.detail, 'Invalid or expired token');
    assert.equal(e.wwwAuthenticate, 'Bearer realm="puguh"');
    // An unauthenticated request spends the anonymous per-IP budget (600/min by default).
    assert.equal(e.rateLimit.limit, 600);
    assert.ok(e.rateLimit.remaining < 600);
    return true;
  });
});

test('403: missingPermission names the permission', async () => {
  const viewerKey = await client.apiKeys.create({ name: 'viewer', role: 'viewer' });
  const viewer = new PuguhClient({ baseUrl: server.baseUrl, apiKey: viewerKey.key, organizationId: owner.organizationId, fetch: checked });
  await assert.rejects(viewer.apiKeys.list(), (e) => {
    assert.ok(e instanceof PermissionDeniedError);
    assert.equal(e.status, 403);
    assert.equal(e.detail, 'Missing permission: api_keys.read');
    assert.equal(e.missingPermission, 'api_keys.read');
    return true;
  });
  // Only users create keys: a 403 that names no permission.
  await assert.rejects(viewer.apiKeys.create({ name: 'x' }), (e) => e instanceof PermissionDeniedError && e.missingPermission === null && e.detail === 'Only users can create API keys');
  // The platform-operator permission no organization role holds.
  await assert.rejects(client.organizations.setPlan(owner.organizationId, { plan: 'pro' }), (e) => e.missingPermission === 'platform.plans.update');
});

test('404: an unknown organization', async () => {
  await assert.rejects(client.organizations.get('00000000-0000-4000-8000-000000000000'), (e) => {
    assert.ok(e instanceof NotFoundError);
    assert.equal(e.detail, 'Organization not found');
    return true;
  });
});

test('409: registering an email twice', async () => {
  await assert.rejects(client.auth.register({ email: owner.email.toUpperCase(), password: 'another password 1', full_name: 'Twin' }), (e) => {
    assert.ok(e instanceof ConflictError);
    assert.equal(e.detail, 'Email already registered');
    return true;
  });
});

test('422: the detail list with loc, in the body, query and header', async () => {
  await assert.rejects(client.auth.register({ email: 'not an email', password: 'short', full_name: '' }), (e) => {
    assert.ok(e instanceof ValidationError);
    assert.equal(e.status, 422);
    assert.deepEqual(e.issues, [
      { loc: ['body', 'email'], msg: 'value is not a valid email address', type: 'value_error.email' },
      { loc: ['body', 'password'], msg: 'ensure this value has at least 8 characters', type: 'value_error.any_str.min_length' },
      { loc: ['body', 'full_name'], msg: 'ensure this value has at least 1 characters', type: 'value_error.any_str.min_length' },
    ]);
    assert.equal(e.issueAt('body', 'password').type, 'value_error.any_str.min_length');
    assert.equal(e.issueAt('body', 'nothing'), undefined);
    assert.match(e.message, /^422 body\.email: value is not a valid email address; /);
    return true;
  });
  await assert.rejects(client.iam.users.list({ limit: 101 }), (e) => {
    assert.deepEqual(e.issues, [{ loc: ['query', 'limit'], msg: 'ensure this value is less than or equal to 100', type: 'value_error.number.not_le' }]);
    return true;
  });
  await assert.rejects(client.iam.users.me({ organizationId: 'not-a-uuid' }), (e) => {
    assert.ok(e instanceof ValidationError);
    assert.deepEqual(e.issues.map((i) => [i.loc, i.type]), [[['header', 'X-Organization-ID'], 'type_error.uuid']]);
    return true;
  });
  await assert.rejects(
    client.applications.create({ name: 'x', redirect_uris: ['https://ok.example.com/cb', 'http://evil.example.com/cb'] }),
    (e) => e instanceof ValidationError && e.issues[0].loc.join('/') === 'body/redirect_uris/1' && e.issues[0].type === 'value_error.url.scheme',
  );
});

test('429: retryAfter, limit, remaining, reset on a free-plan organization', async () => {
  const free = await newUser(server, { prefix: 'free' }); // a new organization: free plan, 60 a minute
  const f = recordingFetch();
  const c = new PuguhClient({ baseUrl: server.baseUrl, accessToken: free.accessToken, fetch: f });
  let refused;
  // The bucket holds 60; the 61st request inside a second is refused. Bounded: 80 requests.
  for (let i = 0; i < 80 && !refused; i++) {
    try {
      await c.iam.users.me();
    } catch (e) {
      refused = e;
    }
  }
  assert.ok(refused instanceof RateLimitError, `want a RateLimitError, got ${refused}`);
  assert.equal(refused.status, 429);
  assert.match(refused.detail, /^Rate limit exceeded\. Retry after \d+ seconds\.$/);
  assert.ok(refused.retryAfter >= 1);
  assert.equal(refused.detail, `Rate limit exceeded. Retry after ${refused.retryAfter} seconds.`);
  assert.equal(refused.limit, 60);
  assert.equal(refused.remaining, 0);
  assert.ok(refused.reset >= Math.floor(Date.now() / 1000));
  // 60 pass at once; a slow machine may see a request or two refilled meanwhile.
  assert.ok(f.calls.length >= 61 && f.calls.length <= 65, `refused after ${f.calls.length} requests`);

  // Spend the budget again (bounded), so the next call starts refused.
  const drain = async () => {
    for (let i = 0; i < 80; i++) {
      try {
        await c.iam.users.me();
      } catch {
        return;
      }
    }
    assert.fail('the budget was never spent');
  };

  // Opt-in retry: waits Retry-After and succeeds, one request per attempt.
  await drain();
  const retried = recordingFetch();
  const infos = [];
  const patient = new PuguhClient({
    baseUrl: server.baseUrl,
    accessToken: free.accessToken,
    fetch: retried,
    maxRetries: 3,
    onResponse: (i) => infos.push(i),
  });
  const started = Date.now();
  const me = await patient.iam.users.me();
  assert.equal(me.id, free.userId);
  const statuses = infos.map((i) => i.status);
  assert.equal(statuses.at(-1), 200);
  assert.ok(statuses.slice(0, -1).every((s) => s === 429) && statuses.length >= 2, `statuses ${statuses}`);
  const waited = infos.slice(0, -1).reduce((ms, i) => ms + i.retryAfter * 1000, 0);
  assert.ok(Date.now() - started >= waited - 50, 'it waited the Retry-After it was told');
  assert.equal(retried.calls.length, statuses.length);

  // Retries are off by default: one request, one RateLimitError.
  await drain();
  const once = recordingFetch();
  const plain = new PuguhClient({ baseUrl: server.baseUrl, accessToken: free.accessToken, fetch: once });
  await assert.rejects(plain.iam.users.me(), RateLimitError);
  assert.equal(once.calls.length, 1);

  // A Retry-After longer than maxRetryDelay is thrown at once.
  await drain();
  const impatient = recordingFetch();
  const hurried = new PuguhClient({ baseUrl: server.baseUrl, accessToken: free.accessToken, fetch: impatient, maxRetries: 3, maxRetryDelay: 10 });
  await assert.rejects(hurried.iam.users.me(), RateLimitError);
  assert.equal(impatient.calls.length, 1);

  // An abort during the wait ends the call with the signal's reason.
  await drain();
  const ctrl = new AbortController();
  const waiting = new PuguhClient({ baseUrl: server.baseUrl, accessToken: free.accessToken, maxRetries: 5, fetch: checked });
  const call = waiting.iam.users.me({ signal: ctrl.signal });
  setTimeout(() => ctrl.abort(new Error('user gave up')), 100);
  await assert.rejects(call, /user gave up/);
});

test('5xx: health answers 503 with Retry-After when Redis is down; retried after it when opted in', { skip: !existsSync('/usr/bin/redis-server') && 'redis-server is not installed' }, async (t) => {
  const port = await freePort();
  const startRedis = () => spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  let redis = startRedis();
  t.after(() => redis.kill('SIGKILL'));
  const waitRedis = async () => {
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise((resolve) => {
        const s = connect(port, '127.0.0.1', () => {
          s.end();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('redis did not start');
  };
  await waitRedis();
  const withRedis = await startPuguh({ env: { PUGUH_REDIS_URL: `redis://127.0.0.1:${port}/10` } });
  t.after(() => withRedis.stop());
  const c = new PuguhClient({ baseUrl: withRedis.baseUrl, fetch: checked });
  assert.equal((await c.health.check()).redis, 'ok');

  redis.kill('SIGKILL');
  await new Promise((r) => redis.once('exit', r));
  // The health status is cached for a second: bounded wait for the outage to show.
  let down;
  for (let i = 0; i < 40 && !down; i++) {
    try {
      await c.health.check();
      await new Promise((r) => setTimeout(r, 100));
    } catch (e) {
      down = e;
    }
  }
  assert.ok(down instanceof ServerError, `want a ServerError, got ${down}`);
  assert.equal(down.status, 503);
  assert.equal(down.retryAfter, 5);
  assert.deepEqual(down.body, { status: 'unavailable', database: 'ok', redis: 'unavailable' });

  // maxRetries: the client waits the 5 s; Redis is back meanwhile.
  const infos = [];
  const patient = new PuguhClient({ baseUrl: withRedis.baseUrl, maxRetries: 1, onResponse: (i) => infos.push(i.status), fetch: checked });
  const pending = patient.health.check();
  await new Promise((r) => setTimeout(r, 200));
  redis = startRedis();
  await waitRedis();
  const healthy = await pending;
  assert.equal(healthy.status, 'ok');
  assert.deepEqual(infos, [503, 200]);
});

test('timeout: PuguhTimeoutError; abort: the signal reason; no server: PuguhConnectionError', async (t) => {
  const silent = createServer(() => {}); // accepts, never answers
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  t.after(() => {
    silent.closeAllConnections();
    silent.close();
  });
  const url = `http://127.0.0.1:${silent.address().port}`;

  const c = new PuguhClient({ baseUrl: url, timeout: 150 });
  await assert.rejects(c.health.check(), (e) => {
    assert.ok(e instanceof PuguhTimeoutError && e instanceof PuguhConnectionError);
    assert.match(e.message, /timed out after 150 ms: GET \/api\/v1\/health/);
    return true;
  });
  // Per call, the timeout option wins over the client's.
  const slow = new PuguhClient({ baseUrl: url, timeout: 60_000 });
  await assert.rejects(slow.health.check({ timeout: 100 }), PuguhTimeoutError);

  const ctrl = new AbortController();
  const reason = new Error('navigated away');
  const call = slow.health.check({ signal: ctrl.signal });
  setTimeout(() => ctrl.abort(reason), 50);
  await assert.rejects(call, (e) => e === reason);
  await assert.rejects(slow.health.check({ signal: AbortSignal.abort(reason) }), (e) => e === reason);

  const closedPort = await freePort();
  const nobody = new PuguhClient({ baseUrl: `http://127.0.0.1:${closedPort}` });
  await assert.rejects(nobody.health.check(), (e) => e instanceof PuguhConnectionError && !(e instanceof PuguhTimeoutError) && e.cause instanceof Error);
});

test('every answer above matched its schema in the OpenAPI document', () => {
  assert.deepEqual(checked.problems, []);
  const wanted = ['listUsers 400', 'listAPIKeys 401', 'listAPIKeys 403', 'getOrganization 404', 'register 409', 'register 422', 'getMe 429'];
  if (existsSync('/usr/bin/redis-server')) wanted.push('getHealth 503');
  for (const want of wanted) {
    assert.ok(checked.checked.has(want), `${want} was not checked`);
  }
});
