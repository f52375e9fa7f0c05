// Builds the Go server from this repository once per test run, into
// sdk/js/.test-bin/puguh, which every test file starts its own Puguh from.
// PUGUH_BIN names a binary built elsewhere instead.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { binaryPath, repoRoot } from './paths.mjs';

if (process.env.PUGUH_BIN) {
  console.log(`using PUGUH_BIN=${process.env.PUGUH_BIN}`);
} else {
  mkdirSync(new URL('../../.test-bin/', import.meta.url), { recursive: true });
  const started = Date.now();
  execFileSync('go', ['build', '-o', binaryPath(), './cmd/puguh'], { cwd: repoRoot, stdio: 'inherit' });
  console.log(`built ${binaryPath()} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
