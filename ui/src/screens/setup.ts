// Technician: setting the station up — registering with the central server, choosing how the
// station's keys are protected, and creating the first administrator.
import { api, asCommandError } from "../api";
import { go, leaveScreen, session, setRedraw } from "../app";
import { el } from "../dom";
import { t } from "../i18n";
import { stopStatusBar } from "../statusbar";
import { errorText, field, screen, textInput, toast, typedTwiceDiffers } from "../widgets";

interface SetupInputs {
  server: HTMLInputElement;
  token: HTMLInputElement;
  name: HTMLInputElement;
  usePassphrase: HTMLInputElement;
  useKeyring: HTMLInputElement;
  passphrase: HTMLInputElement;
  passphrase2: HTMLInputElement;
  adminUser: HTMLInputElement;
  adminName: HTMLInputElement;
  adminPassword: HTMLInputElement;
  adminPassword2: HTMLInputElement;
  error: HTMLElement;
  submit: HTMLButtonElement;
}

export function renderSetup(): void {
  setRedraw(renderSetup);
  stopStatusBar();
  leaveScreen();
  const keyring = session.status?.keyringAvailable ?? false;
  const inputs = setupInputs(keyring);
  const form = setupForm(inputs, keyring);
  form.addEventListener("submit", (event) => void submitSetup(event, inputs));
  screen(t("Set up this station"), form);
  inputs.server.focus();
}

function setupInputs(keyring: boolean): SetupInputs {
  return {
    server: textInput("setup-server", { placeholder: "https://enroll.example.go.id", required: true }),
    token: textInput("setup-token", { required: true, spellcheck: "false" }),
    name: textInput("setup-name", { required: true, placeholder: t("e.g. Jakarta Selatan desk 3") }),
    usePassphrase: el("input", { id: "setup-protect-passphrase", type: "radio", name: "protect", value: "passphrase", checked: true }),
    useKeyring: el("input", { id: "setup-protect-keyring", type: "radio", name: "protect", value: "keyring", disabled: !keyring }),
    passphrase: textInput("setup-passphrase", { type: "password" }),
    passphrase2: textInput("setup-passphrase2", { type: "password" }),
    adminUser: textInput("setup-admin-username", { required: true }),
    adminName: textInput("setup-admin-name", { required: true }),
    adminPassword: textInput("setup-admin-password", { type: "password", required: true }),
    adminPassword2: textInput("setup-admin-password2", { type: "password", required: true }),
    error: el("p", { id: "setup-error", class: "error", role: "alert" }, ""),
    submit: el("button", { id: "setup-submit", type: "submit", class: "primary" }, t("Set up this station")),
  };
}

function setupForm(i: SetupInputs, keyring: boolean): HTMLFormElement {
  const passphraseFields = el(
    "div",
    { class: "grid-form" },
    field(t("Station passphrase"), i.passphrase, t("At least 12 characters; typed at every start.")),
    field(t("Station passphrase again"), i.passphrase2),
  );
  const protectionChanged = () => {
    passphraseFields.hidden = i.useKeyring.checked;
  };
  i.usePassphrase.addEventListener("change", protectionChanged);
  i.useKeyring.addEventListener("change", protectionChanged);
  return el(
    "form",
    { id: "setup-form" },
    el("p", { class: "muted" }, t("A new station registers once with the central server. Ask the server's administrator for a one-time setup token for this station.")),
    el(
      "div",
      { class: "grid-form" },
      field(t("Server address"), i.server),
      field(t("One-time setup token"), i.token),
      field(t("Station name"), i.name, t("As the server and the reports will show it.")),
    ),
    el("h2", {}, t("Protecting the station's keys")),
    el(
      "div",
      { class: "choices" },
      el("label", {}, i.usePassphrase, " ", t("A station passphrase, typed at every start")),
      el("label", {}, i.useKeyring, " ", keyring ? t("The operating system's keyring of this user") : t("The operating system's keyring (none answers on this computer)")),
    ),
    passphraseFields,
    el("h2", {}, t("First administrator")),
    el("p", { class: "muted" }, t("This account adds the officers', supervisors' and technicians' accounts.")),
    el(
      "div",
      { class: "grid-form" },
      field(t("Username"), i.adminUser, t("3 to 32 characters: lower-case letters, digits, '.', '_' or '-'.")),
      field(t("Name shown in the app"), i.adminName),
      field(t("Password"), i.adminPassword, t("At least 10 characters.")),
      field(t("Password again"), i.adminPassword2),
    ),
    i.error,
    el("div", { class: "actions" }, i.submit),
  );
}

async function submitSetup(event: Event, i: SetupInputs): Promise<void> {
  event.preventDefault();
  i.error.textContent = "";
  if (!i.useKeyring.checked && typedTwiceDiffers(i.passphrase, i.passphrase2, i.error, t("The two station passphrases differ."))) return;
  if (typedTwiceDiffers(i.adminPassword, i.adminPassword2, i.error, t("The two passwords differ."))) return;
  i.submit.disabled = true;
  i.submit.textContent = t("Registering with the server…");
  try {
    session.status = await api.provisionStation({
      serverUrl: i.server.value,
      token: i.token.value.trim(),
      stationName: i.name.value,
      passphrase: i.useKeyring.checked ? null : i.passphrase.value,
      adminUsername: i.adminUser.value,
      adminName: i.adminName.value,
      adminPassword: i.adminPassword.value,
    });
    go.login();
    toast(t("The station is set up. Log in as the administrator to add the other accounts."));
  } catch (e) {
    i.error.textContent = errorText(asCommandError(e));
    i.submit.disabled = false;
    i.submit.textContent = t("Set up this station");
  }
}
