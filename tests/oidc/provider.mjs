// A local OpenID Connect provider for the access tests (tests/test_access*.py), built on the
// certified npm package oidc-provider. Started by the tests; never used by the app itself.
//
//   node tests/oidc/provider.mjs PORT REDIRECT_URI [REDIRECT_URI ...]
//
// Listens on 127.0.0.1:PORT with the issuer http://127.0.0.1:PORT (discovery at
// /.well-known/openid-configuration), one confidential client ("triage-test", secret
// "triage-test-secret") allowed to use the given redirect URIs, and the test users below. Sign-in
// goes through the provider's own login form (its development interactions: the login is the
// account id). The email, name and groups claims are put in the ID token, which is what Streamlit's
// st.user shows. Prints "ready <issuer>" on standard output when it listens.
import Provider from 'oidc-provider';

const [port, ...redirectUris] = process.argv.slice(2);
if (!port || redirectUris.length === 0) {
  console.error('usage: node provider.mjs PORT REDIRECT_URI [REDIRECT_URI ...]');
  process.exit(2);
}

// The test users: login -> claims. "stranger" can sign in but is not in any access config.
const USERS = {
  alice: { name: 'Alice Leader', groups: ['team-leaders'] },
  bob: { name: 'Bob Leader', groups: ['team-leaders'] },
  lena: { name: 'Lena Learning', groups: ['ld-sales'] },
  ada: { name: 'Ada Admin', groups: ['triage-admins'] },
  stranger: { name: 'Sam Stranger', groups: [] },
};

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'triage-test',
      client_secret: 'triage-test-secret',
      redirect_uris: redirectUris,
      post_logout_redirect_uris: redirectUris, // Streamlit's st.logout returns to the redirect URI
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
  conformIdTokenClaims: false, // the claims of the granted scopes go into the ID token too
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['triage-test-cookie-key-not-secret'] },
  // The sign-out confirmation, without the default page's remote web font.
  async logoutSource(ctx, form) {
    ctx.body = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign out</title></head>
<body><h1>Sign out of the test provider?</h1>${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button></body></html>`;
  },
  async findAccount(ctx, sub) {
    const user = USERS[sub];
    if (!user) return undefined; // an unknown login fails at the provider
    return {
      accountId: sub,
      async claims() {
        return { sub, email: `${sub}@example.test`, email_verified: true, name: user.name, groups: user.groups };
      },
    };
  },
  // A first-party test client: grant its scopes without a consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});

provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
