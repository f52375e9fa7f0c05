// The enterprise SSO flow with OAuthClient against a real Puguh: the
// authorization URL (PKCE S256, state), a user's browser through sign-in and
// consent, the callback, the code exchange, refresh and revocation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { codeChallengeS256, createAccessTokenVerifier, OAuthClient, OAuthError, PuguhClient } from '@arsaka/puguh-sdk';
import { Browser } from './support/browser.mjs';
import { decodeJwt, newUser, startPuguh } from './support/puguh.mjs';

const REDIRECT = 'http://127.0.0.1:9/callback';
let server;
let owner;
let user;
let app; // confidential application, client_secret_post
let oauth;

before(async () => {
  server = await startPuguh();
  owner = await newUser(server, { prefix: 'oauth-owner' });
  user = await newUser(server, { prefix: 'oauth-user' });
  const admin = new PuguhClient({ baseUrl: server.baseUrl, accessToken: owner.accessToken });
  app = await admin.applications.create({
    name: 'Intranet',
    redirect_uris: [REDIRECT],
    scopes: ['openid', 'profile', 'email', 'offline_access', 'read:user'],
  });
  oauth = new OAuthClient({ issuer: server.issuer, clientId: app.client_id, clientSecret: app.client_secret, redirectUri: REDIRECT });
});
after(() => server?.stop());

test('RFC 7636 appendix B: the S256 challenge of the example verifier', async () => {
  assert.equal(await codeChallengeS256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
});

test('authorizationUrl: code flow, PKCE S256 and a random state', async () => {
  const a = await oauth.authorizationUrl({ scope: ['openid', 'read:user'] });
  const b = await oauth.authorizationUrl({ scope: 'openid' });
  const u = new URL(a.url);
  assert.equal(`${u.origin}${u.pathname}`, `${server.issuer}/oauth/authorize`);
  assert.deepEqual(Object.fromEntries(u.searchParams), {
    response_type: 'code',
    client_id: app.client_id,
    redirect_uri: REDIRECT,
    scope: 'openid read:user',
    state: a.state,
    code_challenge: await codeChallengeS256(a.codeVerifier),
    code_challenge_method: 'S256',
  });
  assert.match(a.state, /^[A-Za-z0-9_-]{43}$/);
  assert.match(a.codeVerifier, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a.state, b.state);
  assert.notEqual(a.codeVerifier, b.codeVerifier);
  await assert.rejects(oauth.authorizationUrl({ scope: 'openid', codeVerifier: 'short' }), /43 to 128/);
});

let tokens;

test('the browser signs in and consents; handleCallback exchanges the code', async () => {
  const request = await oauth.authorizationUrl({ scope: ['openid', 'profile', 'offline_access', 'read:user'], nonce: 'n-0123456789' });
  const callback = await new Browser(server.baseUrl).authorize(request.url, user);
  assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT);
  assert.equal(callback.searchParams.get('state'), request.state);
  assert.equal(callback.searchParams.get('iss'), server.issuer);

  tokens = await oauth.handleCallback(callback, request);
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
  assert.ok(tokens.id_token);
  const id = decodeJwt(tokens.id_token).payload;
  assert.equal(id.nonce, 'n-0123456789');
  assert.equal(id.sub, user.userId);

  // The application's resource server verifies the access token: its audience is the client_id.
  const v = createAccessTokenVerifier({ issuer: server.issuer, audience: app.client_id });
  const claims = await v.verify(tokens.access_token, { scopes: ['read:user'] });
  assert.equal(claims.sub, user.userId);
  assert.equal(claims.client_id, app.client_id);
  // An ID token is not an access token (typ JWT, not at+jwt).
  await assert.rejects(v.verify(tokens.id_token), (e) => e.code === 'invalid_token' && /typ/.test(e.message));
  // Nor is it meant for Puguh's REST API.
  const api = createAccessTokenVerifier({ issuer: server.issuer, audience: `${server.issuer}/api` });
  await assert.rejects(api.verify(tokens.access_token), (e) => e.code === 'invalid_token');
});

test('refresh rotates; revoke ends the refresh token', async () => {
  const next = await oauth.refresh(tokens.refresh_token);
  assert.ok(next.access_token);
  assert.notEqual(next.refresh_token, tokens.refresh_token);
  await oauth.revoke(next.refresh_token, { tokenTypeHint: 'refresh_token' });
  await assert.rejects(oauth.refresh(next.refresh_token), (e) => {
    assert.ok(e instanceof OAuthError);
    assert.equal(e.status, 400);
    assert.equal(e.error, 'invalid_grant');
    assert.equal(e.response.operationId, 'oauth.token');
    return true;
  });
});

test('callback checks: state, issuer, error answers, the code verifier', async () => {
  const request = await oauth.authorizationUrl({ scope: 'openid' });
  const callback = await new Browser(server.baseUrl).authorize(request.url, user);
  await assert.rejects(oauth.handleCallback(callback, { ...request, state: 'another-state-value' }), (e) => e instanceof OAuthError && e.error === 'invalid_state');
  const foreign = new URL(callback);
  foreign.searchParams.set('iss', 'https://impostor.example.com');
  await assert.rejects(oauth.handleCallback(foreign, request), (e) => e instanceof OAuthError && e.error === 'invalid_issuer');
  // The right code with the wrong verifier: Puguh refuses (PKCE).
  await assert.rejects(
    oauth.exchangeCode({ code: callback.searchParams.get('code'), codeVerifier: 'x'.repeat(43) }),
    (e) => e instanceof OAuthError && e.error === 'invalid_grant',
  );

  // A user who denies consent: the callback carries error=access_denied.
  const other = await newUser(server, { prefix: 'denier' });
  const denied = await oauth.authorizationUrl({ scope: 'openid' });
  const back = await new Browser(server.baseUrl).authorize(denied.url, { ...other, decision: 'deny' });
  await assert.rejects(oauth.handleCallback(back, denied), (e) => e instanceof OAuthError && e.error === 'access_denied' && e.status === 0);
});

test('either secret method is accepted for a confidential client; a wrong secret is invalid_client, status 401', async () => {
  const basic = new OAuthClient({ issuer: server.issuer, clientId: app.client_id, clientSecret: app.client_secret, redirectUri: REDIRECT, tokenEndpointAuthMethod: 'client_secret_basic' });
  await assert.rejects(basic.refresh('ory_rt_whatever'), (e) => e instanceof OAuthError && e.error === 'invalid_grant');
  for (const method of ['client_secret_basic', 'client_secret_post']) {
    const wrong = new OAuthClient({ issuer: server.issuer, clientId: app.client_id, clientSecret: 'not-the-secret', redirectUri: REDIRECT, tokenEndpointAuthMethod: method });
    await assert.rejects(wrong.refresh('ory_rt_whatever'), (e) => e instanceof OAuthError && e.error === 'invalid_client' && e.status === 401);
  }
});

test('a public client: PKCE without a secret', async () => {
  const admin = new PuguhClient({ baseUrl: server.baseUrl, accessToken: owner.accessToken });
  const spa = await admin.applications.create({ name: 'SPA', redirect_uris: [REDIRECT], public: true });
  assert.equal(spa.token_endpoint_auth_method, 'none');
  const client = new OAuthClient({ issuer: server.issuer, clientId: spa.client_id, redirectUri: REDIRECT });
  assert.equal(client.tokenEndpointAuthMethod, 'none');
  const request = await client.authorizationUrl({ scope: 'openid profile' });
  const callback = await new Browser(server.baseUrl).authorize(request.url, user);
  // A server sees only the path and query of the callback (req.url); that is enough.
  const t = await client.handleCallback(`${callback.pathname}${callback.search}`, request);
  assert.equal(decodeJwt(t.access_token).payload.client_id, spa.client_id);
});
