// A local OpenID Connect provider for the access tests (tests/test_access*.py), built on the
// certified npm package oidc-provider. Started by the tests; never used by the app itself.
//
//   node tests/oidc/provider.mjs PORT REDIRECT_URI [REDIRECT_URI ...]
//
// Listens on 127.0.0.1:PORT with the issuer http://127.0.0.1:PORT (discovery at
// /.well-known/openid-configuration), one confidential client ("triage-test", secret
// "triage-test-secret") allowed to use the given redirect URIs, and the test users below, each with
// a password checked by the login form (/interaction/<uid>). The email, name and groups claims are
// put in the ID token, which is what Streamlit's st.user shows. Prints "ready <issuer>" when it listens.
import http from 'node:http';
import Provider from 'oidc-provider';

const [port, ...redirectUris] = process.argv.slice(2);
if (!port || redirectUris.length === 0) {
  console.error('usage: node provider.mjs PORT REDIRECT_URI [REDIRECT_URI ...]');
  process.exit(2);
}

// The test users: login -> password and claims. "stranger" can sign in but is in no access config.
const USERS = {
  alice: { password: 'alice-password', name: 'Alice Leader', groups: ['team-leaders'] },
  bob: { password: 'bob-password', name: 'Bob Leader', groups: ['team-leaders'] },
  lena: { password: 'lena-password', name: 'Lena Learning', groups: ['ld-sales'] },
  ada: { password: 'ada-password', name: 'Ada Admin', groups: ['triage-admins'] },
  stranger: { password: 'stranger-password', name: 'Sam Stranger', groups: [] },
};

const issuer = `http://127.0.0.1:${port}`;
const page = (title, body) => `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

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
  features: { devInteractions: { enabled: false } }, // our own login form below checks passwords
  cookies: { keys: ['triage-test-cookie-key-not-secret'] },
  async findAccount(ctx, sub) {
    const user = USERS[sub];
    if (!user) return undefined;
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
  // The sign-out confirmation, plain (the default page loads a remote web font).
  async logoutSource(ctx, form) {
    ctx.body = page('Sign out of the test provider?', `${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

function loginForm(uid, message = '') {
  return page('Sign in to the test provider', `${message ? `<p role="alert">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Login <input name="login" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign-in</button></form>`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

function send(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name !== 'login') { // only login is ever asked (loadExistingGrant grants)
    return send(res, 400, page('Unexpected prompt', escape(details.prompt.name)));
  }
  if (req.method === 'GET') return send(res, 200, loginForm(details.uid));
  const form = await readForm(req);
  const login = form.get('login') || '';
  const user = Object.hasOwn(USERS, login) ? USERS[login] : undefined;
  if (!user || form.get('password') !== user.password) {
    return send(res, 401, loginForm(details.uid, 'Wrong login or password.'));
  }
  return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
}

const oidc = provider.callback();
http.createServer((req, res) => {
  if (!/^\/interaction\/[^/]+(\/login)?$/.test(req.url.split('?')[0])) return oidc(req, res);
  interaction(req, res).catch((err) => send(res, 400, page('Sign-in failed', escape(err.message))));
}).listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
