// node-oidc-provider 9 as the peer of bench/peer/compare.sh: the in-memory
// adapter (its default), one confidential client_credentials client, JWT
// access tokens signed RS256 with a 2048-bit key, introspection on.
// node-oidc-provider refuses to introspect its JWT access tokens
// (unsupported_token_type), so tokens for the resource urn:puguh-bench:opaque
// are opaque, for the introspection row.
//   PORT=18300 CLIENT_SECRET=… node oidc-provider.mjs
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 18300);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', alg: 'RS256', use: 'sig' };
const resource = 'urn:puguh-bench:api';
const opaqueResource = 'urn:puguh-bench:opaque';

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'bench',
    client_secret: process.env.CLIENT_SECRET || 'bench-secret-0123456789abcdef0123456789abcdef',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_post',
    scope: 'read:resources',
  }],
  jwks: { keys: [jwk] },
  scopes: ['read:resources'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => (indicator === opaqueResource
        ? { scope: 'read:resources', audience: opaqueResource, accessTokenFormat: 'opaque', accessTokenTTL: 3600 }
        : {
          scope: 'read:resources',
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 3600,
          jwt: { sign: { alg: 'RS256' } },
        }),
    },
  },
});
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider ${issuer}`));
