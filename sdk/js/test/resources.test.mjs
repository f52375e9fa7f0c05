// Every resource of the REST API through the SDK, against a real Puguh. The
// last test checks that every operation of provider/rest/openapi.yaml
// answered a 2xx to some call in this file.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AuthenticationError,
  MFAEnrollmentRequiredError,
  MFARequiredError,
  NotFoundError,
  OAuthClient,
  Page,
  PermissionDeniedError,
  PuguhClient,
  ROUTES,
} from '../dist/index.js';
import { Browser } from './support/browser.mjs';
import { enrolTOTP, totp } from './support/mfa.mjs';
import { mailLink } from './support/mail.mjs';
import { newUser, startPuguh, uniqueEmail } from './support/puguh.mjs';
import { validatingFetch } from './support/schema.mjs';

const OPERATOR = 'operator@example.com';
let server;
/** operationIds that answered 2xx. */
const reached = new Set();
const onResponse = (info) => {
  if (info.status >= 200 && info.status < 300) reached.add(info.operationId);
};
// Every answer is checked against the OpenAPI document's schema for it.
const checkedFetch = validatingFetch();
const client = (opts = {}) => new PuguhClient({ baseUrl: server.baseUrl, onResponse, fetch: checkedFetch, ...opts });

// Shared across the tests below, which run in order.
let owner; // { email, password, ..., client }
let acme; // organization
const members = [];

before(async () => {
  server = await startPuguh({ env: { PUGUH_PLATFORM_OPERATORS: OPERATOR } });
});
after(() => server?.stop());

test('health.check without credentials', async () => {
  const c = client();
  const { data, response } = await c.health.check().withResponse();
  assert.deepEqual(data, { status: 'ok', database: 'ok', redis: 'disabled' });
  assert.equal(response.status, 200);
  assert.equal(response.operationId, 'getHealth');
  assert.match(response.requestId, /^[0-9a-f]+$/);
});

test('auth.login of a TOTP user throws MFARequiredError; auth.completeLogin answers it once', async () => {
  const user = { email: uniqueEmail('mfa'), password: 'mfa password 1234' };
  await client().auth.register({ ...user, full_name: 'Mo Factor' });
  const { secret, codes } = await enrolTOTP(server.baseUrl, user);
  const login = async (c) => {
    const err = await c.auth.login(user).then(
      () => assert.fail('login of a TOTP user succeeded'),
      (e) => e,
    );
    assert.ok(err instanceof MFARequiredError && err instanceof AuthenticationError, String(err));
    assert.equal(err.status, 401);
    assert.equal(err.detail, 'A second factor is required');
    assert.equal(err.challenge.length, 43);
    assert.deepEqual(err.methods, ['totp', 'recovery_code']);
    assert.equal(err.expiresIn, 300);
    assert.equal(c.accessToken, undefined, 'no token before the second factor');
    return err;
  };
  const c = client();
  const { challenge } = await login(c);
  await assert.rejects(c.auth.completeLogin(challenge, '000000'), (e) => e instanceof AuthenticationError && e.detail === 'Invalid authentication code');
  await assert.rejects(
    c.auth.completeLogin('not-a-challenge', totp(secret, Date.now() + 30_000)),
    (e) => e instanceof AuthenticationError && e.detail === 'The sign-in challenge is invalid or has expired; sign in again',
  );
  const pair = await c.auth.completeLogin(challenge, totp(secret, Date.now() + 30_000));
  assert.equal(c.accessToken, pair.access_token);
  assert.equal((await c.iam.users.me()).type, 'user');
  // A recovery code works once.
  const c2 = client();
  await c2.auth.completeLogin((await login(c2)).challenge, codes[0]);
  const c3 = client();
  await assert.rejects(
    c3.auth.completeLogin((await login(c3)).challenge, codes[0]),
    (e) => e instanceof AuthenticationError && e.detail === 'Invalid authentication code',
  );
});

test('auth.register, auth.login: the client becomes the session', async () => {
  const c = client();
  const email = uniqueEmail('owner');
  const password = 'owner password 123';
  const reg = await c.auth.register({ email, password, full_name: 'Olive Owner' });
  assert.equal(reg.email, email);
  assert.match(reg.user_id, /^[0-9a-f-]{36}$/);
  assert.match(reg.organization_id, /^[0-9a-f-]{36}$/);
  assert.equal(c.accessToken, undefined, 'register does not sign in');

  const pair = await c.auth.login({ email, password });
  assert.equal(pair.token_type, 'Bearer');
  assert.equal(pair.expires_in, 3600);
  assert.equal(c.accessToken, pair.access_token);
  assert.equal(c.refreshToken, pair.refresh_token);
  owner = { email, password, userId: reg.user_id, organizationId: reg.organization_id, client: c };
  // Enough budget for the rest of this file: the free plan allows 60 a minute.
  await server.cli('orgs', 'set-plan', reg.organization_id, 'business');

  const health = await c.health.check();
  assert.deepEqual(health.principal, { type: 'user', id: reg.user_id, organization_id: reg.organization_id });
});

test('iam.users.me', async () => {
  const { data: me, response } = await owner.client.iam.users.me().withResponse();
  assert.equal(me.id, owner.userId);
  assert.equal(me.type, 'user');
  assert.equal(me.email, owner.email);
  assert.equal(me.full_name, 'Olive Owner');
  assert.equal(me.role, 'owner');
  assert.ok(me.permissions.includes('organization.members.create'));
  assert.ok(response.rateLimit.limit > 0, 'rate-limit headers are exposed');
  assert.equal(typeof response.rateLimit.remaining, 'number');
  assert.ok(response.rateLimit.reset > Date.now() / 1000 - 1);
});

test('organizations.create, get, list', async () => {
  acme = await owner.client.organizations.create({ name: 'Acme' });
  assert.equal(acme.name, 'Acme');
  assert.equal(acme.plan, 'free');
  assert.equal(acme.personal, false);
  assert.equal(acme.role, 'owner');

  const got = await owner.client.organizations.get(acme.id);
  assert.equal(got.id, acme.id);

  const page = await owner.client.organizations.list();
  assert.ok(page instanceof Page);
  assert.equal(page.nextCursor, null);
  assert.deepEqual(page.items.map((o) => o.name).sort(), ['Acme', 'Olive Owner']);
  const iterated = [];
  for await (const o of owner.client.organizations.list()) iterated.push(o.id);
  assert.deepEqual(iterated.sort(), page.items.map((o) => o.id).sort());
});

test('organizations.setPlan as a platform operator', async () => {
  const op = client();
  await op.auth.register({ email: OPERATOR, password: 'operator password 1', full_name: 'Op' });
  await op.auth.login({ email: OPERATOR, password: 'operator password 1' });
  const plan = await op.organizations.setPlan(acme.id, { plan: 'business' });
  assert.deepEqual(plan, { organization_id: acme.id, plan: 'business', rate_limit: 0, requests_per_minute: 1000 });
  const enterprise = await op.organizations.setPlan(acme.id, { plan: 'enterprise', rate_limit: 5000 });
  assert.equal(enterprise.requests_per_minute, 5000);
});

test('organizations.members.add, list (paginated), update, remove', async () => {
  for (let i = 0; i < 3; i++) members.push(await newUser(server, { prefix: `member${i}`, fullName: `Member ${i}` }));
  for (const m of members) {
    const added = await owner.client.organizations.members.add(acme.id, { email: m.email, role: 'member' });
    assert.equal(added.user_id, m.userId);
    assert.equal(added.role, 'member');
  }

  const first = await owner.client.organizations.members.list(acme.id, { limit: 2 });
  assert.equal(first.items.length, 2);
  assert.equal(typeof first.nextCursor, 'string');
  assert.ok(first.hasNextPage());
  const second = await first.nextPage();
  assert.equal(second.items.length, 2);
  assert.equal(second.nextCursor, null);
  assert.equal(await second.nextPage(), null);

  const all = [];
  for await (const m of owner.client.organizations.members.list(acme.id, { limit: 1 })) all.push(m.email);
  assert.deepEqual(all.sort(), [owner.email, ...members.map((m) => m.email)].sort());
  let pages = 0;
  for await (const p of first.pages()) pages += p.items.length > 0 ? 1 : 0;
  assert.equal(pages, 2);

  const promoted = await owner.client.organizations.members.update(acme.id, members[0].userId, { role: 'admin' });
  assert.equal(promoted.role, 'admin');

  const removed = await owner.client.organizations.members.remove(acme.id, members[2].userId);
  assert.equal(removed, undefined);
  const left = [];
  for await (const m of owner.client.organizations.members.list(acme.id)) left.push(m.user_id);
  assert.equal(left.length, 3);
  assert.ok(!left.includes(members[2].userId));
});

test('organizations.connections: create, list, get, update, delete; the secret never comes back', async () => {
  const c = owner.client.organizations.connections;
  const created = await c.create(acme.id, {
    name: 'Acme IdP', issuer: 'https://idp.acme.example', client_id: 'puguh', client_secret: 'sdk-js-secret',
    domains: ['sdk-js.acme.example'], role_mapping: { admins: 'admin' },
  });
  assert.equal(created.protocol, 'oidc');
  assert.equal(created.default_role, 'member');
  assert.deepEqual(created.role_mapping, { admins: 'admin' });
  assert.ok(created.redirect_uri.endsWith(`/federation/${created.id}/callback`));
  assert.ok(!JSON.stringify(created).includes('sdk-js-secret'));
  const page = await c.list(acme.id);
  assert.deepEqual(page.items.map((x) => x.id), [created.id]);
  assert.equal((await c.get(acme.id, created.id)).name, 'Acme IdP');
  const updated = await c.update(acme.id, created.id, { name: 'Renamed' });
  assert.equal(updated.name, 'Renamed');
  assert.deepEqual(updated.domains, ['sdk-js.acme.example']);
  await assert.rejects(c.create(acme.id, { name: 'x' }), (e) => e.status === 422);
  assert.equal(await c.delete(acme.id, created.id), undefined);
  await assert.rejects(c.get(acme.id, created.id), (e) => e.status === 404 && e.detail === 'Connection not found');
});

test('iam.users.list in another organization (organizationId per call)', async () => {
  const emails = [];
  for await (const u of owner.client.iam.users.list({ limit: 1 }, { organizationId: acme.id })) emails.push(u.email);
  assert.deepEqual(emails.sort(), [owner.email, members[0].email, members[1].email].sort());
  // Without the option the client acts in the personal organization: only the owner.
  const personal = await owner.client.iam.users.list();
  assert.deepEqual(personal.items.map((u) => u.email), [owner.email]);
});

test('iam.users.disable and enable a user the organization manages', async () => {
  const target = members[1];
  const disabled = await owner.client.iam.users.disable(target.userId, { organizationId: acme.id });
  assert.equal(disabled.id, target.userId);
  assert.equal(disabled.disabled, true);
  await assert.rejects(
    client().auth.login({ email: target.email, password: target.password }),
    (e) => e instanceof AuthenticationError && e.detail === 'Invalid email or password',
  );
  const enabled = await owner.client.iam.users.enable(target.userId, { organizationId: acme.id });
  assert.equal(enabled.disabled, false);
  await client().auth.login({ email: target.email, password: target.password });
});

test('apiKeys.create, list, use, revoke', async () => {
  const created = await owner.client.apiKeys.create({ name: 'CI key', role: 'viewer' });
  assert.match(created.key, /^pgh_[0-9A-Za-z]{49}$/);
  assert.equal(created.prefix, created.key.slice(0, 12));
  assert.equal(created.role, 'viewer');
  assert.equal(created.service_account_id, null);

  const listed = await owner.client.apiKeys.list();
  const row = listed.items.find((k) => k.id === created.id);
  assert.ok(row);
  assert.equal('key' in row, false, 'a listing never holds the secret');

  const keyClient = client({ apiKey: created.key, organizationId: owner.organizationId });
  const health = await keyClient.health.check();
  assert.deepEqual(health.principal, { type: 'api_key', id: created.id, organization_id: owner.organizationId });
  const me = await keyClient.iam.users.me();
  assert.equal(me.type, 'api_key');

  const rotating = await owner.client.apiKeys.create({ name: 'quarterly', role: 'viewer' });
  const rotated = await owner.client.apiKeys.rotate(rotating.id, { overlap: '1h' });
  assert.equal(rotated.replaces, rotating.id);
  assert.equal(rotated.name, 'quarterly');
  assert.equal(rotated.role, 'viewer');
  assert.notEqual(rotated.key, rotating.key);
  const ends = Date.parse(rotated.replaced_key_ends_at) - Date.now();
  assert.ok(ends > 59 * 60_000 && ends <= 3_600_000, `replaced_key_ends_at ${rotated.replaced_key_ends_at}`);
  const old = (await owner.client.apiKeys.list()).items.find((k) => k.id === rotating.id);
  assert.equal(old.replaced_by, rotated.id);
  assert.equal(old.rotation_due, false);

  assert.equal(await owner.client.apiKeys.revoke(created.id), undefined);
  await assert.rejects(keyClient.iam.users.me(), (e) => e instanceof AuthenticationError && e.detail === 'Invalid API key');
});

test('serviceAccounts.create, list, get, createApiKey, client credentials, delete', async () => {
  const sa = await owner.client.serviceAccounts.create({ name: 'deployer', role: 'member' });
  assert.equal(sa.client_id, `sa-${sa.id}`);
  assert.match(sa.client_secret, /^pghs_/);

  const listed = await owner.client.serviceAccounts.list();
  assert.ok(listed.items.some((s) => s.id === sa.id && !('client_secret' in s)));
  const got = await owner.client.serviceAccounts.get(sa.id);
  assert.equal(got.name, 'deployer');

  const secret = await owner.client.serviceAccounts.rotateSecret(sa.id);
  assert.equal(secret.client_id, sa.client_id);
  assert.notEqual(secret.client_secret, sa.client_secret);
  assert.ok(Date.parse(secret.previous_secret_ends_at) - Date.now() > 23 * 3_600_000);
  assert.ok((await owner.client.serviceAccounts.get(sa.id)).previous_secret_ends_at);

  const key = await owner.client.serviceAccounts.createApiKey(sa.id, { name: 'deployer key' });
  assert.equal(key.service_account_id, sa.id);
  assert.equal(key.role, 'member');

  const oauth = new OAuthClient({
    issuer: server.issuer,
    clientId: sa.client_id,
    clientSecret: sa.client_secret,
    tokenEndpointAuthMethod: 'client_secret_basic',
  });
  const tokens = await oauth.clientCredentials();
  const saClient = client({ accessToken: tokens.access_token });
  const me = await saClient.iam.users.me();
  assert.equal(me.type, 'service_account');
  assert.equal(me.id, sa.id);

  await owner.client.serviceAccounts.delete(sa.id);
  await assert.rejects(owner.client.serviceAccounts.get(sa.id), NotFoundError);
});

test('applications.create, list, get, update, rotateSecret, grants, delete', async () => {
  const redirect = 'http://127.0.0.1:9/callback';
  const app = await owner.client.applications.create({ name: 'Dashboard', redirect_uris: [redirect], scopes: ['openid', 'profile', 'read:user'] });
  assert.equal(app.client_id, app.id);
  assert.equal(app.token_endpoint_auth_method, 'client_secret_post');
  assert.match(app.client_secret, /^pghs_/);

  assert.ok((await owner.client.applications.list()).items.some((a) => a.id === app.id));
  assert.equal((await owner.client.applications.get(app.id)).name, 'Dashboard');
  const updated = await owner.client.applications.update(app.id, { name: 'Dashboard 2' });
  assert.equal(updated.name, 'Dashboard 2');
  assert.deepEqual(updated.redirect_uris, [redirect]);
  const rotated = await owner.client.applications.rotateSecret(app.id);
  assert.equal(rotated.client_id, app.id);
  assert.notEqual(rotated.client_secret, app.client_secret);

  // A user grants the application through the code flow, which leaves a grant.
  const user = members[0];
  const oauth = new OAuthClient({ issuer: server.issuer, clientId: app.id, clientSecret: rotated.client_secret, redirectUri: redirect });
  const request = await oauth.authorizationUrl({ scope: ['openid', 'read:user'] });
  const callback = await new Browser(server.baseUrl).authorize(request.url, user);
  await oauth.handleCallback(callback, request);

  const appClient = client({ accessToken: owner.client.accessToken, applicationId: app.id });
  const grants = await appClient.applications.grants.list();
  assert.deepEqual(
    grants.items.map((g) => [g.user_id, g.email, g.scopes]),
    [[user.userId, user.email, ['openid', 'read:user']]],
  );
  await assert.rejects(owner.client.applications.grants.list(), /applicationId is required/);
  assert.equal(await owner.client.applications.grants.revoke(user.userId, { applicationId: app.id }), undefined);
  assert.deepEqual((await appClient.applications.grants.list()).items, []);

  await owner.client.applications.delete(app.id);
  await assert.rejects(owner.client.applications.get(app.id), NotFoundError);
});

test('iam.users.consents, deleteMe and delete: connected apps and account deletion', async () => {
  const redirect = 'http://127.0.0.1:9/callback';
  const appOwner = await newUser(server, { prefix: 'appowner' });
  const app = await client({ accessToken: appOwner.accessToken }).applications.create({
    name: 'Planner',
    redirect_uris: [redirect],
    scopes: ['openid', 'profile'],
  });
  const user = await newUser(server, { prefix: 'consenter' });
  const oauth = new OAuthClient({ issuer: server.issuer, clientId: app.id, clientSecret: app.client_secret, redirectUri: redirect });
  const request = await oauth.authorizationUrl({ scope: ['openid', 'profile'] });
  await oauth.handleCallback(await new Browser(server.baseUrl).authorize(request.url, user), request);

  const c = client({ accessToken: user.accessToken });
  const consents = await c.iam.users.consents.list();
  assert.deepEqual(
    consents.items.map((x) => [x.application_id, x.application_name, x.scopes]),
    [[app.id, 'Planner', ['openid', 'profile']]],
  );
  assert.ok(consents.items[0].last_used_at);
  assert.equal(await c.iam.users.consents.revoke(app.id), undefined);
  await assert.rejects(c.iam.users.consents.revoke(app.id), NotFoundError);
  assert.deepEqual((await c.iam.users.consents.list()).items, []);

  await assert.rejects(
    c.iam.users.deleteMe({ password: 'not the password' }),
    (e) => e instanceof PermissionDeniedError && e.detail === 'The password is not correct',
  );
  assert.equal(await c.iam.users.deleteMe({ password: user.password }), undefined);
  await assert.rejects(c.iam.users.me(), AuthenticationError);

  const op = client();
  await op.auth.login({ email: OPERATOR, password: 'operator password 1' });
  assert.equal(await op.iam.users.delete(appOwner.userId), undefined);
  await assert.rejects(op.iam.users.delete(appOwner.userId), NotFoundError);
});

test('audit.list: the events of the organization, filtered and paged', async () => {
  const type = ['application.created', 'application.deleted'];
  const first = await owner.client.audit.list({ type, actor: owner.userId, limit: 1 });
  assert.equal(first.items.length, 1);
  assert.equal(first.items[0].type, 'application.deleted');
  assert.equal(first.items[0].actor_id, owner.userId);
  assert.ok(first.hasNextPage());
  const seen = [];
  const since = new Date(Date.parse(first.items[0].occurred_at) - 3600_000);
  for await (const e of owner.client.audit.list({ type, since, limit: 1 })) seen.push(e.type);
  assert.deepEqual(seen, ['application.deleted', 'application.created']);
  assert.deepEqual((await owner.client.audit.list({ type: ['member.removed'], until: since })).items, []);
});

test('auth.refresh rotates the stored refresh token; auth.logout ends the session', async () => {
  const c = owner.client;
  const before = { access: c.accessToken, refresh: c.refreshToken };
  const pair = await c.auth.refresh();
  assert.notEqual(pair.refresh_token, before.refresh);
  assert.equal(c.refreshToken, pair.refresh_token);
  assert.equal(c.accessToken, pair.access_token);

  await c.auth.logout();
  assert.equal(c.accessToken, undefined);
  assert.equal(c.refreshToken, undefined);
  const stale = client({ accessToken: pair.access_token });
  await assert.rejects(stale.iam.users.me(), (e) => e instanceof AuthenticationError && e.invalidToken);
});

test('auth: confirm an address and reset a password with the mailed links', async () => {
  const c = client();
  const email = uniqueEmail('mail');
  await c.auth.register({ email, password: 'mail password 123', full_name: 'Mia Mail' });
  const accepted = await c.auth.resendVerification({ email });
  assert.match(accepted.detail, /^If the address belongs to an account/);
  let link = await mailLink(server, email, '/verify-email?token=', 1);
  const token = new URL(link).searchParams.get('token');
  const v = await c.auth.verifyEmail({ token });
  assert.deepEqual({ email: v.email, email_verified: v.email_verified }, { email, email_verified: true });
  await assert.rejects(c.auth.verifyEmail({ token }), (e) => e.status === 400 && e.detail === 'Invalid or expired verification link');

  await c.auth.requestPasswordReset({ email });
  link = await mailLink(server, email, '/password-reset/confirm?token=');
  await c.auth.confirmPasswordReset({ token: new URL(link).searchParams.get('token'), password: 'a new mail password' });
  await c.auth.login({ email, password: 'a new mail password' });
  const me = await c.iam.users.me();
  assert.equal(me.email_verified, true);
});

test('organization second-factor policy: grace notice, mfa.*, MFAEnrollmentRequiredError and enrolment at login', async () => {
  const o = await newUser(server, { prefix: 'policy-owner' });
  const owner = client();
  await owner.auth.login({ email: o.email, password: o.password });
  const org = await owner.organizations.create({ name: 'Policy Co' });
  const m = await newUser(server, { prefix: 'policy-member' });
  await owner.organizations.members.add(org.id, { email: m.email, role: 'member' });

  const before = await owner.organizations.getMfaPolicy(org.id);
  assert.equal(before.required, false);
  assert.equal(before.required_since, null);
  await assert.rejects(owner.organizations.setMfaPolicy(org.id, { required: true, grace_period: 'soon' }),
    (e) => e.status === 422 && e.issues[0].type === 'value_error.duration');
  const on = await owner.organizations.setMfaPolicy(org.id, { required: true, grace_period: '168h' });
  assert.equal(on.grace_period, '168h');
  assert.equal(Date.parse(on.enforced_from) - Date.parse(on.required_since), 168 * 3600 * 1000);

  const member = client();
  const pair = await member.auth.login({ email: m.email, password: m.password });
  assert.equal(pair.mfa_enrollment?.required, true);
  assert.equal(pair.mfa_enrollment?.organizations[0]?.id, org.id);
  assert.deepEqual(await member.mfa.status(), { enabled: false, totp: false, recovery_codes_left: 0, passkeys: 0 });
  const en = await member.mfa.beginTotp();
  assert.match(en.qr_code, /^data:image\/png;base64,/);
  await assert.rejects(member.mfa.confirmTotp('000000'), (e) => e.status === 422 && e.issues[0].msg === 'the code is not correct; check the time on your device');
  const { recovery_codes: codes } = await member.mfa.confirmTotp(totp(en.secret));
  assert.equal(codes.length, 10);
  assert.deepEqual(await member.mfa.status(), { enabled: true, totp: true, recovery_codes_left: 10, passkeys: 0 });
  await assert.rejects(member.mfa.removeTotp({ password: m.password, code: '000000' }),
    (e) => e instanceof PermissionDeniedError && e.detail === 'The authentication code is not correct');
  await member.mfa.removeTotp({ password: m.password, code: codes[0] });

  await owner.organizations.setMfaPolicy(org.id, { required: true, grace_period: '0s' });
  const late = client();
  let err;
  await assert.rejects(late.auth.login({ email: m.email, password: m.password }), (e) => {
    err = e;
    return e instanceof MFAEnrollmentRequiredError && e instanceof PermissionDeniedError && e.status === 403;
  });
  assert.equal(err.challenge.length, 43);
  assert.equal(err.expiresIn, 900);
  assert.equal(err.organizations[0].name, 'Policy Co');
  assert.equal(late.accessToken, undefined);
  const again = await late.auth.beginLoginEnrollment(err.challenge);
  const done = await late.auth.completeLoginEnrollment(err.challenge, totp(again.secret));
  assert.equal(done.recovery_codes.length, 10);
  assert.equal(late.accessToken, done.access_token);
  assert.equal((await late.mfa.status()).totp, true);
});

test('invitations: invite, list, revoke, accept with the mailed link; then the invitee changes address and password', async () => {
  const owner = client();
  const ownerEmail = uniqueEmail('inviter');
  await owner.auth.register({ email: ownerEmail, password: 'inviter password 123', full_name: 'Ines Inviter' });
  await owner.auth.login({ email: ownerEmail, password: 'inviter password 123' });
  const org = await owner.organizations.create({ name: 'Invited Co' });
  const inv = owner.organizations.invitations;
  const email = uniqueEmail('invitee');
  const created = await inv.create(org.id, { email, role: 'member' });
  assert.deepEqual([created.email, created.role, created.status], [email, 'member', 'pending']);
  assert.equal(Date.parse(created.expires_at) - Date.parse(created.created_at), 7 * 24 * 3600 * 1000);
  const other = await inv.create(org.id, { email: uniqueEmail('other'), role: 'viewer' });
  const ids = [];
  for await (const i of inv.list(org.id, { limit: 1 })) ids.push(i.id);
  assert.deepEqual(ids, [created.id, other.id]);
  assert.equal(await inv.revoke(org.id, other.id), undefined);
  await assert.rejects(inv.revoke(org.id, other.id), (e) => e.status === 404 && e.detail === 'Invitation not found');
  await assert.rejects(inv.create(org.id, { email, role: 'member' }), (e) => e.status === 409);

  const token = new URL(await mailLink(server, email, '/invitations/accept?token=')).searchParams.get('token');
  const invitee = client();
  await invitee.auth.register({ email, password: 'invitee password 123', full_name: 'Ivo Invitee' });
  await invitee.auth.login({ email, password: 'invitee password 123' });
  await assert.rejects(invitee.invitations.accept({ token: 'nope' }), (e) => e.status === 400 && e.detail === 'Invalid invitation link');
  const joined = await invitee.invitations.accept({ token });
  assert.deepEqual([joined.id, joined.role], [org.id, 'member']);
  await assert.rejects(invitee.invitations.accept({ token }), (e) => e.status === 400 && e.detail === 'This invitation was already accepted');

  const newEmail = uniqueEmail('moved');
  const change = await invitee.iam.users.changeEmail({ password: 'invitee password 123', new_email: newEmail });
  assert.equal(change.new_email, newEmail);
  await assert.rejects(
    invitee.iam.users.changePassword({ current_password: 'wrong one', new_password: 'a fresh password 1' }),
    (e) => e.status === 403 && e.detail === 'The current password is not correct',
  );
  const before = invitee.accessToken;
  const pair = await invitee.iam.users.changePassword({ current_password: 'invitee password 123', new_password: 'a fresh password 1' });
  assert.equal(invitee.accessToken, pair.access_token);
  assert.notEqual(pair.access_token, before);
  const me = await invitee.iam.users.me();
  assert.deepEqual([me.email, me.email_verified], [email, true]);
});

test('every operation of the OpenAPI document answered 2xx through the SDK', () => {
  const missing = Object.keys(ROUTES).filter((op) => !reached.has(op));
  assert.deepEqual(missing, []);
});

test('every answer matched its schema in the OpenAPI document', () => {
  assert.deepEqual(checkedFetch.problems, []);
  const validated2xx = new Set([...checkedFetch.checked].filter((k) => / 2\d\d$/.test(k)).map((k) => k.split(' ')[0]));
  assert.deepEqual(Object.keys(ROUTES).filter((op) => !validated2xx.has(op)), []);
});
