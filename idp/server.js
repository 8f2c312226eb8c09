// Opastin's test identity provider: oidc-provider (a certified OpenID Provider) with made-up test
// persons, for development (`make run` starts it on 127.0.0.1:8100) and the tests. Never for
// production: the handoff service refuses to start with it when OPASTIN_ENV=production.
//
// Environment:
//   IDP_HOST, IDP_PORT        where to listen (127.0.0.1, 8100)
//   IDP_ISSUER                the issuer identifier (http://127.0.0.1:<port>)
//   IDP_CLIENT_ID             the handoff service's client id (opastin)
//   IDP_CLIENT_JWKS           file with the client's keys (a JWK set; private members are dropped
//                             here): it signs its token requests (private_key_jwt) with them, and
//                             ID tokens are encrypted to its encryption key
//   IDP_REDIRECT_URIS         comma-separated callback URLs of the client
//                             (http://localhost:8000/tunnistautuminen/paluu and the same on 127.0.0.1)
//   IDP_ENCRYPT_ID_TOKENS     1: ID tokens are encrypted (RSA-OAEP-256, A256GCM), as Finnish
//                             identity brokers do; 0 or unset: signed only
//
// The login page lists the test persons of persons.json: choose one, or cancel (the client
// then gets error=access_denied). Consent is granted without asking.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const host = env.IDP_HOST || '127.0.0.1';
const port = Number(env.IDP_PORT || 8100);
const issuer = (env.IDP_ISSUER || `http://127.0.0.1:${port}`).replace(/\/$/, '');
const clientId = env.IDP_CLIENT_ID || 'opastin';
const encrypt = env.IDP_ENCRYPT_ID_TOKENS === '1';
const redirectUris = (env.IDP_REDIRECT_URIS
  || 'http://localhost:8000/tunnistautuminen/paluu,http://127.0.0.1:8000/tunnistautuminen/paluu')
  .split(',').map((uri) => uri.trim()).filter(Boolean);
// Chromium applies form-action to the redirects after a form is posted: the login and abort
// forms end in a redirect to the client's callback, so its origins must be allowed too.
const formTargets = ["'self'", ...new Set(redirectUris.map((uri) => new URL(uri).origin))].join(' ');

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function publicKeys(path) {
  if (!path) {
    throw new Error('IDP_CLIENT_JWKS is not set: the file with the client\'s keys is needed');
  }
  const keys = JSON.parse(readFileSync(path, 'utf8')).keys || [];
  return keys.map((key) => Object.fromEntries(
    Object.entries(key).filter(([name]) => !PRIVATE_MEMBERS.includes(name)),
  ));
}

const persons = JSON.parse(readFileSync(join(here, 'persons.json'), 'utf8')).persons;
const personById = new Map(persons.map((person) => [person.id, person]));

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  }[c]));
}

async function signingKey() {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, alg: 'RS256', use: 'sig', kid: `test-${randomBytes(6).toString('hex')}` };
}

const client = {
  client_id: clientId,
  token_endpoint_auth_method: 'private_key_jwt',
  token_endpoint_auth_signing_alg: 'RS256',
  jwks: { keys: publicKeys(env.IDP_CLIENT_JWKS) },
  redirect_uris: redirectUris,
  response_types: ['code'],
  grant_types: ['authorization_code'],
  id_token_signed_response_alg: 'RS256',
  ...(encrypt ? { id_token_encrypted_response_alg: 'RSA-OAEP-256', id_token_encrypted_response_enc: 'A256GCM' } : {}),
};

const provider = new Provider(issuer, {
  clients: [client],
  jwks: { keys: [await signingKey()] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    profile: ['given_name', 'family_name'],
    personal_identity_code: ['personal_identity_code'],
  },
  // The ID token carries the claims of the granted scopes (the relying party reads it only).
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    encryption: { enabled: true },
    rpInitiatedLogout: { enabled: false },
  },
  pkce: { required: () => true },
  responseTypes: ['code'],
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, sub) {
    const person = personById.get(sub);
    if (!person) return undefined;
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          given_name: person.given_name,
          family_name: person.family_name,
          personal_identity_code: person.identity_code,
        };
      },
    };
  },
  ttl: { Session: 600, Interaction: 600, Grant: 600, AuthorizationCode: 60, AccessToken: 300, IdToken: 300 },
});

function page(res, status, body) {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': `default-src 'none'; style-src 'unsafe-inline'; form-action ${formTargets}`,
    'Cache-Control': 'no-store',
  });
  res.end(`<!doctype html><html lang="fi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Testitunnistus</title>
<style>body{font-family:sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}
button{display:block;width:100%;margin:.5rem 0;padding:.75rem;font-size:1rem;text-align:left}
.warn{background:#fff3cd;padding:.75rem}</style></head><body>${body}</body></html>`);
}

function loginPage(res, uid) {
  const buttons = persons.map((person) => `<button type="submit" name="person" value="${escapeHtml(person.id)}">
${escapeHtml(person.given_name)} ${escapeHtml(person.family_name)} (${escapeHtml(person.identity_code)}) –
${escapeHtml(person.description)}</button>`).join('\n');
  page(res, 200, `<h1>Testitunnistus</h1>
<p class="warn">Tämä on kehityskäytön testitunnistus. Henkilöt ja henkilötunnukset ovat keksittyjä.</p>
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<fieldset><legend>Valitse testihenkilö</legend>
${buttons}
</fieldset></form>
<form method="post" action="/interaction/${escapeHtml(uid)}/abort">
<button type="submit">Peruuta tunnistautuminen</button></form>`);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16384) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function grantConsent(details) {
  const { prompt, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  if (prompt.details.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  return { consent: { grantId: await grant.save() } };
}

async function interaction(req, res, path) {
  const [, , uid, action] = path.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    page(res, 400, '<h1>Virheellinen pyyntö</h1>');
    return;
  }
  if (req.method === 'GET' && !action) {
    if (details.prompt.name === 'login') {
      loginPage(res, uid);
      return;
    }
    await provider.interactionFinished(req, res, await grantConsent(details), { mergeWithLastSubmission: true });
    return;
  }
  if (req.method === 'POST' && action === 'login') {
    const person = personById.get((await readForm(req)).get('person'));
    if (!person) {
      loginPage(res, uid);
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: person.id } }, { mergeWithLastSubmission: false });
    return;
  }
  if (req.method === 'POST' && action === 'abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }
  page(res, 404, '<h1>Sivua ei löydy</h1>');
}

const handle = provider.callback();
const server = createServer((req, res) => {
  const path = new URL(req.url, issuer).pathname;
  if (path.startsWith('/interaction/')) {
    interaction(req, res, path).catch((error) => {
      console.error(`interaction failed: ${error.name}`);
      if (!res.headersSent) page(res, 400, '<h1>Tunnistautuminen vanhentui</h1><p>Aloita alusta.</p>');
    });
    return;
  }
  handle(req, res);
});

provider.on('server_error', (_ctx, error) => console.error(`server_error: ${error.name}: ${error.message}`));

server.listen(port, host, () => {
  console.log(`test identity provider ${issuer} listening on ${host}:${port}${encrypt ? ' (encrypted ID tokens)' : ''}`);
});

function shutdown() {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
