// An OpenID provider for the gateway's OAuth tests: oauth2-mock-server (npm), which signs real
// JWTs with keys it generates and serves discovery (/.well-known/openid-configuration), the
// JWKS, /token and /introspect. A second, local-only HTTP server lets a test control it:
//
//   POST /token  {"claims": {...}, "header": {...}, "expiresIn": S, "kid": K}
//                -> {"token": "..."}: a token signed by the provider with its own keys;
//                   claims and header fields are merged in (a null value removes the field)
//   POST /rotate {"alg": "RS256" | "ES256" | "EdDSA", "kid": K}
//                -> {"kid": K}: a new signing key, published in the JWKS from now on
//   POST /opaque {"token": T, "claims": {...}}
//                -> {}: /oauth/introspect (RFC 7662) answers {"active": true, ...claims} for T from
//                   now on; any other token is {"active": false}
//   POST /exchanges
//                -> the requests /oauth/token-exchange (RFC 8693) answered: each one's form
//                   and Authorization header; it answers a token of its own for the audience
//   POST /introspections
//                -> {"count": N, "authorization": A}: how often /introspect was asked, and the
//                   Authorization header of the last request
//   POST /logins -> {"authorizations": [...], "tokens": [...]}: the query of each /authorize
//                   request and the form of each authorization-code /token request. An access
//                   token issued for a code has the `resource` of its request as its `aud`
//                   (RFC 8707) and the subject `johndoe`; PKCE is checked by the package.
//
// Usage: node provider.mjs [PORT]; prints one JSON line {"issuer": URL, "control": URL}.
import http from 'node:http';
import { OAuth2Server } from 'oauth2-mock-server';

const port = Number(process.argv[2] || 0);
const server = new OAuth2Server();
await server.issuer.keys.generate('RS256', { kid: 'key-1' });
await server.start(port, '127.0.0.1');

const logins = { authorizations: [], tokens: [] };
server.service.on('beforeAuthorizeRedirect', (_redirect, req) => {
  logins.authorizations.push({ ...req.query });
});
server.service.on('beforeTokenSigning', (token, req) => {
  const form = req.body || {};
  if (form.grant_type === 'authorization_code') {
    logins.tokens.push({ ...form });
    if (form.resource) token.payload.aud = form.resource;
    token.payload.client_id = form.client_id || 'console';
  }
});

const opaque = new Map();
const introspections = { count: 0, authorization: null };
// RFC 7662 at /oauth/introspect (the package's own /introspect answers before reading the
// body): a client must authenticate; a token registered through /opaque is active with its
// claims, any other is not.
server.service.addRoute('POST', '/oauth/introspect', (req, res) => {
  introspections.count += 1;
  introspections.authorization = req.headers.authorization || null;
  if (!introspections.authorization) {
    res.writeHead(401, { 'www-authenticate': 'Basic' }).end();
    return;
  }
  const claims = opaque.get(req.body && req.body.token);
  const body = claims ? { active: true, ...claims } : { active: false };
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
});

const exchanges = [];
server.service.addRoute('POST', '/oauth/token-exchange', async (req, res) => {
  const form = req.body || {};
  exchanges.push({ form, authorization: req.headers.authorization || null });
  const ok = req.headers.authorization
    && form.grant_type === 'urn:ietf:params:oauth:grant-type:token-exchange'
    && form.subject_token;
  if (!ok) {
    res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_request' }));
    return;
  }
  const token = await server.issuer.buildToken({
    scopesOrTransform: (header, payload) => {
      payload.sub = 'exchanged-for-upstream';
      if (form.audience) payload.aud = form.audience;
    },
  });
  const body = {
    access_token: token,
    issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    token_type: 'Bearer',
    expires_in: 300,
  };
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
});

const merge = (target, fields) => {
  for (const [k, v] of Object.entries(fields || {})) {
    if (v === null) delete target[k];
    else target[k] = v;
  }
};

const body = (req) =>
  new Promise((resolve, reject) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      try {
        resolve(text ? JSON.parse(text) : {});
      } catch (e) {
        reject(e);
      }
    });
  });

const control = http.createServer(async (req, res) => {
  try {
    const input = await body(req);
    let out;
    if (req.method === 'POST' && req.url === '/token') {
      const token = await server.issuer.buildToken({
        kid: input.kid,
        expiresIn: input.expiresIn,
        scopesOrTransform: (header, payload) => {
          merge(payload, input.claims);
          merge(header, input.header);
        },
      });
      out = { token };
    } else if (req.method === 'POST' && req.url === '/rotate') {
      const key = await server.issuer.keys.generate(input.alg || 'RS256', { kid: input.kid });
      out = { kid: key.kid };
    } else if (req.method === 'POST' && req.url === '/opaque') {
      opaque.set(input.token, input.claims || {});
      out = {};
    } else if (req.method === 'POST' && req.url === '/exchanges') {
      out = exchanges;
    } else if (req.method === 'POST' && req.url === '/introspections') {
      out = introspections;
    } else if (req.method === 'POST' && req.url === '/logins') {
      out = logins;
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
  } catch (e) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e));
  }
});
control.listen(0, '127.0.0.1', () => {
  const { port: controlPort } = control.address();
  console.log(JSON.stringify({ issuer: server.issuer.url, control: `http://127.0.0.1:${controlPort}` }));
});
