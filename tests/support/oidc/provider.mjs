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
// Accounts are {"login": {"name": ..., "email": ..., "groups": [...]}}. The file is read
// again at every lookup, so a test can change someone's groups between two sign-ins.
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
      openid: ['sub'],
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
  server.on('request', provider.callback());
  process.stdout.write(`${issuer}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
