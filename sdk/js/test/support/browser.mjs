// A user's browser for the OAuth code flow, with plain fetch and a cookie jar:
// follows Puguh's redirects by hand, signs in on /login and answers the
// consent page, until Puguh sends the browser back to the application.
const HIDDEN = /<input type="hidden" name="([a-z_]+)" value="([^"]*)">/g;

function unescapeHtml(s) {
  return s
    .replace(/&#34;|&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function hiddenFields(html) {
  const form = new URLSearchParams();
  for (const m of html.matchAll(HIDDEN)) form.set(m[1], unescapeHtml(m[2]));
  if (!form.get('csrf_token')) throw new Error(`page has no csrf_token:\n${html.slice(0, 500)}`);
  return form;
}

export class Browser {
  constructor(baseUrl) {
    this.baseUrl = baseUrl;
    this.origin = new URL(baseUrl).origin;
    this.cookies = new Map();
  }

  async #request(url, init = {}) {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('Cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(c) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const body = await res.text();
    const loc = res.headers.get('location');
    return { status: res.status, body, location: loc ? new URL(loc, url) : null, headers: res.headers };
  }

  get(url) {
    return this.#request(url);
  }

  post(path, form) {
    return this.#request(new URL(path, this.baseUrl), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: this.origin },
      body: form.toString(),
    });
  }

  /**
   * Open an authorization URL and get through sign-in and consent (`decision`: allow or deny).
   * Resolves with the URL Puguh sends the browser back to. At most 8 hops.
   */
  async authorize(authorizationUrl, { email, password, decision = 'allow' }) {
    let page = await this.get(authorizationUrl);
    for (let hop = 0; hop < 8; hop++) {
      if (page.status !== 303 || !page.location) {
        throw new Error(`authorize: stuck at ${page.status}:\n${page.body.slice(0, 800)}`);
      }
      if (page.location.origin !== this.origin) return page.location;
      if (page.location.pathname === '/login') {
        const form = await this.get(page.location);
        const fields = hiddenFields(form.body);
        fields.set('email', email);
        fields.set('password', password);
        page = await this.post('/login', fields);
      } else if (page.location.pathname === '/consent') {
        const form = await this.get(page.location);
        const fields = hiddenFields(form.body);
        fields.set('decision', decision);
        fields.set('remember', '1');
        page = await this.post('/consent', fields);
      } else {
        page = await this.get(page.location);
      }
    }
    throw new Error('authorize: too many redirects');
  }
}
