// The package itself: generated types in step with the OpenAPI document,
// SURFACE.md naming every operation, a browser-safe build, the version, and
// the client's refusals at construction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PuguhClient, ROUTES, VERSION, bearerToken, TokenVerificationError } from '@arsaka/puguh-sdk';
import { repoRoot, sdkRoot } from './support/paths.mjs';

const openapiPath = path.join(repoRoot, 'provider/rest/openapi.yaml');

test('src/generated/openapi.ts is what openapi-typescript makes of provider/rest/openapi.yaml', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'puguh-sdk-gen-'));
  try {
    const out = path.join(dir, 'openapi.ts');
    execFileSync(path.join(sdkRoot, 'node_modules/.bin/openapi-typescript'), [openapiPath, '-o', out], { stdio: 'pipe' });
    const committed = readFileSync(path.join(sdkRoot, 'src/generated/openapi.ts'), 'utf8');
    assert.ok(readFileSync(out, 'utf8') === committed, 'the generated types are stale: run "npm run generate" in sdk/js and commit the result');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ROUTES holds exactly the operationIds of the OpenAPI document', () => {
  const yaml = readFileSync(openapiPath, 'utf8');
  const ids = [...yaml.matchAll(/^\s+operationId:\s*(\w+)\s*$/gm)].map((m) => m[1]);
  assert.ok(ids.length > 30);
  assert.deepEqual(Object.keys(ROUTES).sort(), [...ids].sort());
});

test('sdk/SURFACE.md names every operationId, and every SDK method it lists exists', () => {
  const surface = readFileSync(path.join(sdkRoot, '../SURFACE.md'), 'utf8');
  for (const id of Object.keys(ROUTES)) assert.match(surface, new RegExp(`\`${id}\``), `SURFACE.md does not name ${id}`);
  const client = new PuguhClient({ baseUrl: 'http://127.0.0.1:1' });
  const methods = [...surface.matchAll(/^\| `client\.([\w.]+)\(/gm)].map((m) => m[1]);
  assert.ok(methods.length >= Object.keys(ROUTES).length);
  for (const m of methods) {
    const fn = m.split('.').reduce((o, k) => o?.[k], client);
    assert.equal(typeof fn, 'function', `client.${m} is in SURFACE.md but not in the SDK`);
  }
});

test('the build imports nothing from Node: it loads in browsers', () => {
  const dist = path.join(sdkRoot, 'dist');
  const files = readdirSync(dist, { recursive: true }).filter((f) => f.endsWith('.js'));
  assert.ok(files.length > 10);
  for (const f of files) {
    const src = readFileSync(path.join(dist, f), 'utf8');
    const imports = [...src.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]);
    for (const spec of imports) {
      assert.ok(spec.startsWith('./') || spec.startsWith('../') || spec === 'jose', `${f} imports ${spec}`);
    }
    assert.doesNotMatch(src, /\brequire\(/, `${f} calls require`);
    assert.doesNotMatch(src, /(?<![\w.])process\./, `${f} reads process directly (only globalThis.process, which browsers lack)`);
  }
});

test('VERSION is package.json\'s, and there is one runtime dependency: jose', () => {
  const pkg = JSON.parse(readFileSync(path.join(sdkRoot, 'package.json'), 'utf8'));
  assert.equal(VERSION, pkg.version);
  assert.deepEqual(Object.keys(pkg.dependencies), ['jose']);
  assert.equal(pkg.type, 'module');
  assert.equal(pkg.engines.node, '>=20');
});

test('construction refuses what the server would', () => {
  const saved = process.env.PUGUH_BASE_URL;
  delete process.env.PUGUH_BASE_URL;
  try {
    assert.throws(() => new PuguhClient({ apiKey: 'pgh_x', organizationId: 'o' }), /no baseUrl: pass \{ baseUrl \} or set PUGUH_BASE_URL/);
    process.env.PUGUH_BASE_URL = 'http://127.0.0.1:1/';
    assert.equal(new PuguhClient().baseUrl, 'http://127.0.0.1:1');
  } finally {
    if (saved === undefined) delete process.env.PUGUH_BASE_URL;
    else process.env.PUGUH_BASE_URL = saved;
  }
  const baseUrl = 'http://127.0.0.1:1';
  assert.throws(() => new PuguhClient({ baseUrl, apiKey: 'pgh_x' }), /apiKey needs its organizationId/);
  assert.throws(() => new PuguhClient({ baseUrl, apiKey: 'pgh_x', organizationId: 'o', accessToken: 't' }), /not both/);
  assert.throws(() => new PuguhClient({ baseUrl: 'localhost:8080' }), /not an absolute URL|must be http/);
  assert.throws(() => new PuguhClient({ baseUrl: 'ftp://example.com' }), /must be http\(s\)/);
});

test('bearerToken reads RFC 6750 headers', () => {
  assert.equal(bearerToken('Bearer abc.def-ghi_jkl'), 'abc.def-ghi_jkl');
  assert.equal(bearerToken('bearer abc'), 'abc');
  assert.equal(bearerToken(['Bearer abc']), 'abc');
  const code = (h) => {
    try {
      bearerToken(h);
    } catch (e) {
      assert.ok(e instanceof TokenVerificationError);
      return `${e.code} ${e.status}`;
    }
    return 'accepted';
  };
  assert.equal(code(undefined), 'missing_token 401');
  assert.equal(code(''), 'missing_token 401');
  assert.equal(code('Basic dXNlcjpwYXNz'), 'invalid_request 400');
  assert.equal(code('Bearer a b'), 'invalid_request 400');
  assert.equal(code(['Bearer a', 'Bearer b']), 'invalid_request 400');
});

test('Retry-After: delta-seconds or an HTTP-date; anything else is ignored', async () => {
  const { parseRetryAfter } = await import('../dist/response.js');
  const h = (v) => new Headers({ 'Retry-After': v });
  assert.equal(parseRetryAfter(h('5')), 5);
  assert.equal(parseRetryAfter(h('Wed, 21 Oct 2015 07:28:00 GMT'), Date.parse('Wed, 21 Oct 2015 07:27:30 GMT')), 30);
  assert.equal(parseRetryAfter(h('Wed, 21 Oct 2015 07:28:00 GMT'), Date.parse('Wed, 21 Oct 2015 08:00:00 GMT')), 0);
  assert.equal(parseRetryAfter(h('soon')), null);
  assert.equal(parseRetryAfter(new Headers()), null);
});
