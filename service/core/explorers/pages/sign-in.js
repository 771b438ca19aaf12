// Signs a person in for GraphiQL and Swagger UI at the service's identity provider: the authorization-code flow
// with PKCE as a public client (no secret). The access token stays in this tab's sessionStorage; the explorers
// send it as `Authorization: Bearer` through `window.explorerSignIn.accessToken()`. A file of its own: the
// pages' Content-Security-Policy allows no inline script.
(() => {
  const SESSION = "interior-explorer-sign-in";
  const PENDING = SESSION + ":pending";
  const assets = document.currentScript.src.replace(/\/sign-in\.js(\?.*)?$/, "");
  const here = () => window.location.origin + window.location.pathname;

  const base64url = (bytes) =>
    btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const random = (size) => base64url(crypto.getRandomValues(new Uint8Array(size)));

  function session() {
    try {
      const kept = JSON.parse(sessionStorage.getItem(SESSION));
      if (kept && kept.expiresAt > Date.now()) return kept;
    } catch (_) {
      // an unreadable entry is no session
    }
    sessionStorage.removeItem(SESSION);
    return null;
  }

  function claimsOf(token) {
    try {
      const text = atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"));
      return JSON.parse(new TextDecoder().decode(Uint8Array.from(text, (c) => c.charCodeAt(0))));
    } catch (_) {
      return {};
    }
  }

  let configured = null;
  async function settings() {
    if (configured) return configured;
    const response = await fetch(assets + "/sign-in.json");
    if (response.status === 404) return null;
    const body = await response.json();
    if (!response.ok) throw new Error(body.detail || "Sign-in is unavailable now.");
    configured = body;
    return body;
  }

  async function signIn() {
    const provider = await settings();
    const verifier = random(48);
    const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    const state = random(16);
    const pending = { verifier, state, redirectUri: here(), search: window.location.search };
    sessionStorage.setItem(PENDING, JSON.stringify(pending));
    const query = new URLSearchParams({
      response_type: "code", client_id: provider.client_id, redirect_uri: pending.redirectUri,
      scope: provider.scope, state, code_challenge: challenge, code_challenge_method: "S256",
    });
    window.location.assign(provider.authorization_endpoint + "?" + query);
  }

  async function exchange(code, pending) {
    const provider = await settings();
    const response = await fetch(provider.token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code", code, redirect_uri: pending.redirectUri,
        client_id: provider.client_id, code_verifier: pending.verifier,
      }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok || !body.access_token) {
      throw new Error(body.error_description || body.error || "The identity provider refused the sign-in.");
    }
    const expiresAt = Date.now() + 1000 * (body.expires_in || 300);
    sessionStorage.setItem(SESSION, JSON.stringify({ accessToken: body.access_token, expiresAt }));
  }

  // Back from the provider (?code=…&state=…): off the address at once, before the explorer reads it, then exchanged.
  let completed = Promise.resolve();
  const answer = new URLSearchParams(window.location.search);
  const pendingText = sessionStorage.getItem(PENDING);
  if (pendingText && answer.has("state")) {
    const pending = JSON.parse(pendingText);
    sessionStorage.removeItem(PENDING);
    history.replaceState(null, "", pending.redirectUri + pending.search);
    completed = answer.get("state") === pending.state && answer.has("code")
      ? exchange(answer.get("code"), pending)
      : Promise.reject(new Error(answer.get("error_description") || answer.get("error") || "The sign-in did not complete."));
  }

  const bar = document.createElement("div");
  bar.id = "sign-in";
  function show(problem) {
    const current = session();
    const text = document.createElement("span");
    const button = document.createElement("button");
    button.type = "button";
    if (current) {
      const claims = claimsOf(current.accessToken);
      text.textContent = "Signed in as " + (claims.name || claims.preferred_username || claims.sub);
      button.textContent = "Sign out";
      button.onclick = () => { sessionStorage.removeItem(SESSION); show(); };
    } else {
      text.textContent = problem || "Writes need a sign-in.";
      text.className = problem ? "problem" : "";
      button.textContent = "Sign in";
      button.onclick = () => signIn().catch((error) => show(error.message));
    }
    bar.replaceChildren(text, button);
    if (!bar.isConnected) document.body.appendChild(bar);
  }

  window.explorerSignIn = { accessToken: () => (session() || {}).accessToken || null };
  settings().then(
    (provider) => provider && completed.then(() => show(), (error) => show(error.message)),
    (error) => show(error.message),
  );
})();
