// A real OpenID Connect provider (the npm package oidc-provider) for the SSO tests.
//
//   node tests/support/oidc/provider.mjs --port=0 --client-id=paydesk \
//     --client-secret=s3cret --redirect-uri=http://127.0.0.1/staff/login/sso/callback \
//     --accounts-file=/tmp/accounts.json
//
// Every option can also come from the environment: OIDC_PORT, OIDC_CLIENT_ID,
// OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI (comma-separated), OIDC_ACCOUNTS (JSON) or
// OIDC_ACCOUNTS_FILE, OIDC_CLIENT_AUTH_METHOD. Port 0 picks a free port. Once listening it
// prints its issuer URL, alone on one line of standard output.
//
// Accounts are {"login": {"name": ..., "email": ..., "groups": [...], "amr": [...],
// "acr": ...}}; "preferred_username" is the login unless given. The file is read again at
// every lookup, so a test can change someone's groups between two sign-ins. "amr" and
// "acr" say how the person signed in (RFC 8176 methods, an assurance class): they reach
// the ID token the way a real IdP reports a second factor, as the login's result.
// Sign-in and consent are oidc-provider's development pages: any password is accepted
// for a known login.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string' },
    'client-auth-method': { type: 'string' },
    accounts: { type: 'string' },
    'accounts-file': { type: 'string' },
  },
});
const option = (name, envName, fallback) => args[name] ?? process.env[envName] ?? fallback;

const port = Number(option('port', 'OIDC_PORT', '0'));
const clientId = option('client-id', 'OIDC_CLIENT_ID', 'paydesk');
const clientSecret = option('client-secret', 'OIDC_CLIENT_SECRET', 'paydesk-test-secret');
const redirectUris = option('redirect-uri', 'OIDC_REDIRECT_URI', 'http://127.0.0.1/callback').split(',');
const clientAuthMethod = option('client-auth-method', 'OIDC_CLIENT_AUTH_METHOD', 'client_secret_basic');
const accountsJson = option('accounts', 'OIDC_ACCOUNTS', '{}');
const accountsFile = option('accounts-file', 'OIDC_ACCOUNTS_FILE', undefined);

function accounts() {
  return JSON.parse(accountsFile ? readFileSync(accountsFile, 'utf8') : accountsJson);
}

// A signing key of this run's own: nothing outside this process can sign for it.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' };

const server = createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: clientAuthMethod,
      },
    ],
    clientAuthMethods: [clientAuthMethod],
    claims: {
      // As IdPs do, say how the person signed in (amr, acr) in every ID token.
      openid: ['sub', 'acr', 'amr'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    // Put the scopes' claims in the ID token, as IdPs configured for group claims do.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    async findAccount(ctx, id) {
      const account = accounts()[id];
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            preferred_username: account.preferred_username ?? id,
            name: account.name ?? id,
            email: account.email,
            email_verified: account.email ? true : undefined,
            groups: account.groups ?? [],
          };
        },
      };
    },
  });
  const callback = provider.callback();
  server.on('request', (req, res) => {
    finishLogin(provider, req, res)
      .then((done) => done || callback(req, res))
      .catch((error) => {
        res.statusCode = 500;
        res.end(String(error));
      });
  });
  process.stdout.write(`${issuer}\n`);
});

// The development sign-in page's answer, finished here rather than by oidc-provider: its
// own result names only the account, and how they signed in (amr, acr) belongs there too.
// Anything else (consent, cancel, errors) is oidc-provider's. True when it answered.
async function finishLogin(provider, req, res) {
  if (req.method !== 'POST' || !/^\/interaction\/[^/]+$/.test(req.url.split('?')[0])) {
    return false;
  }
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    return false; // no interaction: oidc-provider gives the proper error page
  }
  if (details.prompt.name !== 'login') return false;
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const accountId = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('login');
  const { amr, acr } = accounts()[accountId] ?? {};
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId, amr, acr } },
    { mergeWithLastSubmission: false },
  );
  return true;
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
