// Done means: a user can `npm install` the packed tarball into an empty
// project and run the API guide's two snippets against a local Puguh. This
// test does exactly that, with the snippets taken verbatim from README.md.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { login, logout, newUser, postJSON, startPuguh } from './support/puguh.mjs';
import { sdkRoot } from './support/paths.mjs';

const run = promisify(execFile);
let server;
let project;
let packed;

/** The code block after `<!-- guide-snippet: NAME -->` in README.md, verbatim. */
function snippet(name) {
  const readme = readFileSync(path.join(sdkRoot, 'README.md'), 'utf8');
  const m = new RegExp(`<!-- guide-snippet: ${name} -->\\n\`\`\`typescript\\n([\\s\\S]*?)\`\`\`\\n`).exec(readme);
  assert.ok(m, `README.md has no guide snippet ${name}`);
  return m[1];
}

before(async () => {
  server = await startPuguh();
  project = mkdtempSync(path.join(tmpdir(), 'puguh-sdk-consumer-'));
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', project], { cwd: sdkRoot, maxBuffer: 16 << 20 });
  packed = JSON.parse(stdout.slice(stdout.indexOf('[')))[0];
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(project, packed.filename)], { cwd: project });
});
after(async () => {
  await server?.stop();
  if (project) rmSync(project, { recursive: true, force: true });
});

test('the tarball holds the build, the sources and the README, nothing else', () => {
  const files = packed.files.map((f) => f.path).sort();
  for (const f of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/verify.js', 'src/index.ts']) {
    assert.ok(files.includes(f), `${f} is missing from the tarball`);
  }
  const stray = files.filter((f) => !/^(package\.json|README\.md|dist\/|src\/)/.test(f));
  assert.deepEqual(stray, []);
  assert.equal(packed.name, '@arsaka/puguh-sdk');
  assert.ok(packed.size < 200_000, `the tarball is ${packed.size} bytes`);
  const installed = JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8'));
  assert.ok(installed.dependencies['@arsaka/puguh-sdk']);
});

test('snippet "Using API Key" runs verbatim', async () => {
  const owner = await newUser(server, { prefix: 'guide-key' });
  const key = await postJSON(`${server.baseUrl}/api/v1/api-keys`, { name: 'guide' }, { Authorization: `Bearer ${owner.accessToken}` });
  assert.equal(key.status, 201);
  const file = path.join(project, 'api-key.mjs');
  writeFileSync(file, `${snippet('api-key')}\nconsole.log(JSON.stringify(await client.health.check()));\n`);
  const { stdout } = await run(process.execPath, [file], {
    cwd: project,
    env: { PATH: process.env.PATH, PUGUH_BASE_URL: server.baseUrl, PUGUH_API_KEY: key.body.key, PUGUH_ORGANIZATION_ID: owner.organizationId },
  });
  assert.deepEqual(JSON.parse(stdout).principal, { type: 'api_key', id: key.body.id, organization_id: owner.organizationId });
});

test('snippet "Using JWT" runs verbatim: an expired token is renewed through refreshToken()', async () => {
  const user = await newUser(server, { prefix: 'guide-jwt' });
  const expired = await login(server, user.email, user.password);
  await logout(server, expired.accessToken);
  // The user's own code around the snippet: where userToken comes from and what refreshToken() does.
  const prelude = `
const userToken = process.env.USER_TOKEN;
let refreshes = 0;
async function refreshToken() {
  refreshes++;
  const res = await fetch(process.env.PUGUH_BASE_URL + '/api/v1/auth/refresh', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh_token: process.env.USER_REFRESH_TOKEN }),
  });
  return (await res.json()).access_token;
}
`;
  const file = path.join(project, 'jwt.mjs');
  writeFileSync(file, `${prelude}\n${snippet('jwt')}\nconst me = await client.iam.users.me();\nconsole.log(JSON.stringify({ email: me.email, refreshes }));\n`);
  const { stdout } = await run(process.execPath, [file], {
    cwd: project,
    env: { PATH: process.env.PATH, PUGUH_BASE_URL: server.baseUrl, USER_TOKEN: expired.accessToken, USER_REFRESH_TOKEN: user.refreshToken },
  });
  assert.deepEqual(JSON.parse(stdout), { email: user.email, refreshes: 1 });
});

test('both snippets type-check against the installed package', async () => {
  const declarations = 'declare const userToken: string;\ndeclare function refreshToken(): Promise<string>;\n';
  writeFileSync(path.join(project, 'api-key.mts'), snippet('api-key'));
  writeFileSync(path.join(project, 'jwt.mts'), declarations + snippet('jwt'));
  writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
        typeRoots: [path.join(sdkRoot, 'node_modules/@types')],
      },
      files: ['api-key.mts', 'jwt.mts'],
    }),
  );
  await run(path.join(sdkRoot, 'node_modules/.bin/tsc'), ['-p', project], { cwd: project }).catch((e) => {
    assert.fail(`tsc: ${e.stdout}${e.stderr}`);
  });
});
