// Signed-out pages: log in, sign up ("check your email"), ask for a password reset, and /verify-email/#token=... .
// The emailed reset link opens a page of its own (reset_password.js).

export class AuthPages {
  /** onLoggedIn() runs after a successful login. */
  constructor({ api, root, verifyRoot, onLoggedIn }) {
    this.api = api;
    this.onLoggedIn = onLoggedIn;
    this.tabs = { login: root.querySelector("#tab-login"), signup: root.querySelector("#tab-signup") };
    this.loginForm = root.querySelector("#login-form");
    this.signupForm = root.querySelector("#signup-form");
    this.resetForm = root.querySelector("#reset-request-form");
    this.done = root.querySelector("#signup-done");
    this.verifyStatus = verifyRoot.querySelector('[data-testid="verify-status"]');
    this.tabs.login.addEventListener("click", () => this.showTab("login"));
    this.tabs.signup.addEventListener("click", () => this.showTab("signup"));
    this.loginForm.addEventListener("submit", (event) => this.login(event));
    this.signupForm.addEventListener("submit", (event) => this.signup(event));
    this.done.querySelector('[data-role="back"]').addEventListener("click", () => this.showTab("login"));
    this.loginForm.querySelector('[data-role="forgot"]').addEventListener("click", () => this.showResetRequest());
    this.resetForm.addEventListener("submit", (event) => this.requestReset(event));
    this.resetForm.querySelector('[data-role="back"]').addEventListener("click", () => this.showTab("login"));
  }

  showTab(name) {
    for (const [key, tab] of Object.entries(this.tabs)) tab.setAttribute("aria-selected", String(key === name));
    this.loginForm.hidden = name !== "login";
    this.signupForm.hidden = name !== "signup";
    this.resetForm.hidden = true;
    this.done.hidden = true;
    (name === "login" ? this.loginForm : this.signupForm).querySelector("input").focus();
  }

  async login(event) {
    event.preventDefault();
    const form = this.loginForm;
    const error = form.querySelector('[data-role="error"]');
    error.textContent = "";
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await this.api.login({ username: form.username.value.trim(), password: form.password.value });
      form.reset();
      this.onLoggedIn();
    } catch (err) {
      error.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  }

  showResetRequest() {
    this.loginForm.hidden = true;
    this.resetForm.hidden = false;
    this.resetForm.querySelector('[data-role="status"]').hidden = true;
    this.resetForm.email.focus();
  }

  async requestReset(event) {
    event.preventDefault();
    const form = this.resetForm;
    const error = form.querySelector('[data-role="error"]');
    const status = form.querySelector('[data-role="status"]');
    error.textContent = "";
    status.hidden = true;
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const email = form.email.value.trim();
      const answer = await this.api.publicRequest("POST", "/api/auth/password-reset/", { email });
      status.textContent = answer.detail; // the same whether or not the address has an account
      status.hidden = false;
    } catch (err) {
      error.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  }

  async signup(event) {
    event.preventDefault();
    const form = this.signupForm;
    const error = form.querySelector('[data-role="error"]');
    error.textContent = "";
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const user = await this.api.publicRequest("POST", "/api/auth/signup/", {
        username: form.username.value.trim(),
        email: form.email.value.trim(),
        password: form.password.value,
      });
      this.showSignedUp(user);
      this.loginForm.username.value = user.username;
      form.reset();
    } catch (err) {
      error.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  }

  showSignedUp(user) {
    this.loginForm.hidden = true;
    this.signupForm.hidden = true;
    this.done.hidden = false;
    this.done.querySelector('[data-role="email"]').textContent = user.email;
    // DEBUG only (the template renders this block only then, and the API sends the link only then).
    const debugLink = this.done.querySelector('[data-role="debug-link"]');
    if (debugLink && user.verification_link) {
      const url = new URL(user.verification_link, location.href);
      // The link names the configured public URL; follow it on the origin this page came from.
      debugLink.querySelector("a").href = `${location.origin}${url.pathname}${url.hash}`;
      debugLink.hidden = false;
    }
  }

  /** /verify-email/#token=...: the token stays in the fragment (never sent to a server in a URL). */
  async verify() {
    const token = new URLSearchParams(location.hash.slice(1)).get("token");
    history.replaceState(null, "", location.pathname); // the token leaves the address bar and history
    const status = this.verifyStatus;
    if (!token) {
      status.dataset.state = "failed";
      status.textContent = "This link has no verification token. Open the link from the email again.";
      return;
    }
    status.dataset.state = "working";
    status.textContent = "Verifying…";
    try {
      const user = await this.api.publicRequest("POST", "/api/auth/verify-email/", { token });
      status.dataset.state = "verified";
      status.textContent = `Thank you, ${user.username}: your email address is verified. You can log in now.`;
    } catch (err) {
      status.dataset.state = "failed";
      status.textContent = err.message;
    }
  }
}
