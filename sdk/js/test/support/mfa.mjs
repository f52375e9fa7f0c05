// Second factors for the tests: an RFC 6238 code generator and the
// authenticator-app enrolment of /account/security, driven like a browser.
import { createHmac } from 'node:crypto';
import { Browser } from './browser.mjs';

function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of s) {
    value = (value << 5) | alphabet.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The TOTP code (SHA-1, 6 digits, 30 s) of a base32 secret at `at` (ms). */
export function totp(secret, at = Date.now()) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const sum = createHmac('sha1', base32Decode(secret)).update(msg).digest();
  const off = sum[sum.length - 1] & 0x0f;
  return String((sum.readUInt32BE(off) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

const csrf = (html) => /name="csrf_token" value="([^"]+)"/.exec(html)[1];

/** Sign `user` in and turn an authenticator app on; resolves with { secret, codes }. */
export async function enrolTOTP(baseUrl, user) {
  const b = new Browser(baseUrl);
  const login = await b.get(new URL('/login', baseUrl));
  let p = await b.post('/login', new URLSearchParams({ csrf_token: csrf(login.body), email: user.email, password: user.password }));
  if (p.status !== 303) throw new Error(`sign in: ${p.status}`);
  const sec = await b.get(new URL('/account/security', baseUrl));
  p = await b.post('/account/security/totp', new URLSearchParams({ csrf_token: csrf(sec.body) }));
  const secret = /id="totp-secret" type="text" readonly value="([A-Z2-7]+)"/.exec(p.body)?.[1];
  if (!secret) throw new Error(`enrolment: ${p.status} ${p.body.slice(0, 500)}`);
  p = await b.post('/account/security/totp/confirm', new URLSearchParams({ csrf_token: csrf(p.body), code: totp(secret) }));
  const area = /<textarea id="recovery-codes"[^>]*>([\s\S]*?)<\/textarea>/.exec(p.body);
  if (!area) throw new Error(`confirmation: ${p.status} ${p.body.slice(0, 500)}`);
  return { secret, codes: area[1].split(/\s+/).filter(Boolean) };
}
