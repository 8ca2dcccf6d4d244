// /reset-password/#token=...: the page the emailed link opens. The token rides in the fragment, which browsers
// never send to a server; it leaves the address bar at once and is posted with the new password.

import { publicRequest } from "./api.js";

const view = document.querySelector("#reset-view");
const form = view.querySelector("#reset-form");
const error = form.querySelector('[data-role="error"]');
const outcome = view.querySelector('[data-role="outcome"]');

const token = new URLSearchParams(location.hash.slice(1)).get("token");
history.replaceState(null, "", location.pathname); // out of the address bar and the history
document.body.dataset.view = "reset";
if (token) form.new_password.focus();
else finish("failed", "This link does not work", "It has no reset token. Open the link from the email again.");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  if (form.new_password.value !== form.repeat.value) {
    error.textContent = "The two passwords differ.";
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  view.dataset.state = "working";
  try {
    await publicRequest("POST", "/api/auth/password-reset/confirm/", { token, new_password: form.new_password.value });
    finish("done", "Password changed", "Every device that was logged in to your account is logged out. "
      + "Log in with the new password.");
  } catch (err) {
    // A dead link cannot be retried; a refused password (too short, too common) can.
    if (err.code === "invalid_token") finish("failed", "This link does not work", err.message);
    else {
      view.dataset.state = "ready";
      error.textContent = (err.fieldErrors.new_password || [err.message]).join(" ");
    }
  } finally {
    button.disabled = false;
  }
});

function finish(state, title, text) {
  view.dataset.state = state;
  view.querySelector("h2").textContent = title;
  form.hidden = true;
  outcome.hidden = false;
  outcome.querySelector('[data-testid="reset-status"]').textContent = text;
}
