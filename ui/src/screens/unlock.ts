// Opening the station: the station passphrase (when the keys are protected by one), the
// officer's login, and logging out.
import { api, asCommandError } from "../api";
import { go, leaveScreen, root, session, setRedraw } from "../app";
import { emptyDraft } from "../draft";
import { el, mount } from "../dom";
import { t } from "../i18n";
import { stopFaceLive, stopFingersLive } from "../live";
import { stopStatusBar } from "../statusbar";
import { errorText, header, problemBanner } from "../widgets";

export function renderUnlock(): void {
  setRedraw(renderUnlock);
  stopStatusBar();
  leaveScreen();
  const error = el("p", { id: "unlock-error", class: "error", role: "alert" }, "");
  const passphrase = el("input", {
    id: "unlock-passphrase",
    name: "passphrase",
    type: "password",
    autocomplete: "off",
    required: true,
  });
  const button = el("button", { id: "unlock-submit", type: "submit", class: "primary" }, t("Unlock"));
  const form = el(
    "form",
    { id: "unlock-form", class: "card narrow" },
    el("h1", {}, t("Unlock this station")),
    el("p", { class: "muted" }, t("The station's data is encrypted. Enter the station passphrase set when it was provisioned.")),
    el("label", { for: "unlock-passphrase" }, t("Station passphrase")),
    passphrase,
    error,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    button.disabled = true;
    button.textContent = t("Unlocking…");
    try {
      session.status = await api.unlockStation(passphrase.value);
      renderLogin();
    } catch (e) {
      error.textContent = errorText(asCommandError(e));
      passphrase.value = "";
      button.disabled = false;
      button.textContent = t("Unlock");
      passphrase.focus();
    }
  });
  mount(root, header(), el("main", {}, problemBanner() ?? "", form));
  passphrase.focus();
}

export function renderLogin(message = ""): void {
  setRedraw(() => renderLogin(message));
  stopStatusBar();
  leaveScreen();
  const error = el("p", { id: "login-error", class: "error", role: "alert" }, message);
  const username = el("input", { id: "login-username", name: "username", autocomplete: "username", required: true });
  const password = el("input", {
    id: "login-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const form = el(
    "form",
    { id: "login-form", class: "card narrow" },
    el("h1", {}, t("Officer login")),
    el("label", { for: "login-username" }, t("Username")),
    username,
    el("label", { for: "login-password" }, t("Password")),
    password,
    error,
    el("button", { id: "login-submit", type: "submit", class: "primary" }, t("Log in")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      session.officer = await api.login(username.value, password.value);
      go.start();
    } catch (e) {
      error.textContent = errorText(asCommandError(e));
      password.value = "";
      password.focus();
    }
  });
  mount(root, header(), el("main", {}, problemBanner() ?? "", form));
  username.focus();
}

export async function logout(): Promise<void> {
  document.getElementById("toast")?.remove();
  await stopFaceLive();
  await stopFingersLive();
  await api.logout();
  stopStatusBar();
  session.officer = null;
  session.draft = emptyDraft();
  renderLogin();
}
