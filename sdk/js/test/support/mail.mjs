// The messages a test server wrote to its outbox ($PUGUH_DATA_DIR/outbox,
// without PUGUH_SMTP_URL): one .eml file each, text parts quoted-printable.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

function decodeQuotedPrintable(s) {
  return s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

/** Waits (10 s at most) for the (n+1)th link to server.baseUrl+linkPath mailed to `to`. */
export async function mailLink(server, to, linkPath, n = 0) {
  const dir = path.join(server.dataDir, 'outbox');
  const prefix = server.baseUrl + linkPath;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const links = [];
    let files = [];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();
    } catch {}
    for (const f of files) {
      const raw = readFileSync(path.join(dir, f), 'utf8');
      const [head] = raw.split(/\r?\n\r?\n/, 1);
      if (!new RegExp(`^To: <${to.replace(/[.+]/g, '\\$&')}>`, 'mi').test(head)) continue;
      const link = decodeQuotedPrintable(raw).match(/https?:\/\/\S+/g)?.find((l) => l.startsWith(prefix));
      if (link) links.push(link);
    }
    if (links.length > n) return links[n];
    if (Date.now() > deadline) throw new Error(`no message ${n + 1} to ${to} with a link to ${linkPath} after 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
