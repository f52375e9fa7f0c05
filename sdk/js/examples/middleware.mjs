// Protecting your own API with Puguh access tokens: one framework-agnostic
// check, and the few lines that adapt it to Connect/Express (and node:http),
// and to Fastify. The SDK's test suite runs the Connect-style one on node:http.
import { createAccessTokenVerifier, TokenVerificationError } from '@arsaka/puguh-sdk';

/**
 * requireToken({ issuer, audience }) → (scopes) → middleware.
 * issuer: your Puguh (PUGUH_ISSUER); audience: your application's client_id for tokens it got
 * through the code flow, or `${issuer}/api` for tokens of Puguh's own REST API.
 */
export function requireToken(options) {
  // One verifier per process: it caches the JWKS and refetches on an unknown kid.
  const verifier = createAccessTokenVerifier(options);

  /** The framework-agnostic part: an Authorization header in, claims or an answer out. */
  async function check(authorization, scopes) {
    try {
      return { claims: await verifier.authenticate(authorization, { scopes }) };
    } catch (err) {
      if (!(err instanceof TokenVerificationError)) throw err; // JWKS unreachable: let the framework answer 5xx
      return {
        status: err.status,
        headers: { 'WWW-Authenticate': err.wwwAuthenticate('my-api'), 'Content-Type': 'application/json' },
        body: JSON.stringify({ detail: err.code === 'missing_token' ? 'Not authenticated' : err.message }),
      };
    }
  }

  return {
    check,

    /** Connect / Express / node:http: `app.get('/reports', auth.connect(['read:resources']), handler)`. */
    connect(scopes = []) {
      return async (req, res, next) => {
        let result;
        try {
          result = await check(req.headers.authorization, scopes);
        } catch (err) {
          return next(err);
        }
        if (result.claims) {
          req.auth = result.claims;
          return next();
        }
        res.writeHead(result.status, result.headers).end(result.body);
      };
    },

    /** Fastify: `fastify.get('/reports', { onRequest: auth.fastify(['read:resources']) }, handler)`. */
    fastify(scopes = []) {
      return async (request, reply) => {
        const result = await check(request.headers.authorization, scopes);
        if (result.claims) {
          request.auth = result.claims;
          return;
        }
        return reply.code(result.status).headers(result.headers).send(result.body);
      };
    },
  };
}
