// Technician and administrator: the station's settings, its passphrase, and (administrator
// only) the accounts.
import { Account, api, Settings } from "../api";
import { go, leaveScreen, session, setRedraw } from "../app";
import { el } from "../dom";
import { t } from "../i18n";
import { RETENTION_DAYS, ROLES } from "../rules";
import { startStatusBar } from "../statusbar";
import { field, roleName, screen, showError, textInput, toast, typedTwiceDiffers } from "../widgets";

export function renderSettings(): void {
  setRedraw(renderSettings);
  startStatusBar();
  leaveScreen();
  const admin = session.officer?.role === "administrator";
  const about = el("dl", { id: "settings-about", class: "review" });
  const server = textInput("settings-server", { required: true });
  const retention = textInput("settings-retention", { type: "number", min: String(RETENTION_DAYS.min), max: String(RETENTION_DAYS.max), required: true });
  const settingsError = el("p", { id: "settings-error", class: "error", role: "alert" }, "");
  const passphraseSection = el("section", { id: "passphrase-section" }, el("h2", {}, t("Station passphrase")), passphraseForm());
  const show = (settings: Settings) => {
    about.replaceChildren(...aboutStation(settings));
    server.value = settings.serverUrl;
    retention.value = String(settings.retentionDays);
    passphraseSection.hidden = settings.protection !== "passphrase";
  };
  const accountsSection = admin ? accountsPanel() : el("div", {});
  screen(
    t("Station settings"),
    el("nav", { class: "actions" }, el("button", { id: "open-selftest", onclick: () => go.selfTest() }, t("Station self-test"))),
    el("h2", {}, t("This station")),
    about,
    settingsForm(server, retention, settingsError, show),
    passphraseSection,
    accountsSection,
  );
  api.stationSettings().then(show, (e) => showError(settingsError, e));
  server.focus();
}

/** What the station is: the `dt`/`dd` pairs of the settings' first list. */
function aboutStation(settings: Settings): HTMLElement[] {
  return [
    el("dt", {}, t("Station name")),
    el("dd", {}, settings.stationName),
    el("dt", {}, t("Station id")),
    el("dd", {}, settings.stationId),
    el("dt", {}, t("Forms version")),
    el("dd", {}, settings.formsVersion),
    el("dt", {}, t("Keys protected by")),
    el("dd", { id: "settings-protection", "data-protection": settings.protection }, settings.protection === "keyring" ? t("the operating system's keyring") : t("the station passphrase")),
  ];
}

/** The server address and the retention period; `show` takes the settings as saved. */
function settingsForm(server: HTMLInputElement, retention: HTMLInputElement, settingsError: HTMLElement, show: (settings: Settings) => void): HTMLFormElement {
  const saved = el("p", { id: "settings-saved", class: "muted", role: "status" }, "");
  const form = el(
    "form",
    { id: "settings-form" },
    el(
      "div",
      { class: "grid-form" },
      field(t("Server address"), server, t("Where enrollments are sent; the server's keys stay as registered.")),
      field(t("Days sealed packets are kept after the server's verdict"), retention),
    ),
    settingsError,
    el("div", { class: "actions" }, el("button", { id: "settings-save", type: "submit", class: "primary" }, t("Save settings")), saved),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    settingsError.textContent = "";
    saved.textContent = "";
    try {
      show(await api.saveSettings(server.value, Number(retention.value)));
      saved.textContent = t("Settings saved.");
    } catch (e) {
      showError(settingsError, e);
    }
  });
  return form;
}

function passphraseForm(): HTMLFormElement {
  const current = textInput("passphrase-current", { type: "password", required: true });
  const next = textInput("passphrase-new", { type: "password", required: true });
  const next2 = textInput("passphrase-new2", { type: "password", required: true });
  const passphraseError = el("p", { id: "passphrase-error", class: "error", role: "alert" }, "");
  const form = el(
    "form",
    { id: "passphrase-form" },
    el(
      "div",
      { class: "grid-form" },
      field(t("Current station passphrase"), current),
      el("div", {}),
      field(t("New station passphrase"), next, t("At least 12 characters.")),
      field(t("New station passphrase again"), next2),
    ),
    passphraseError,
    el("div", { class: "actions" }, el("button", { id: "passphrase-change", type: "submit" }, t("Change the passphrase"))),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    passphraseError.textContent = "";
    if (typedTwiceDiffers(next, next2, passphraseError, t("The two station passphrases differ."))) return;
    try {
      await api.changeStationPassphrase(current.value, next.value);
      toast(t("Station passphrase changed: use the new one from the next start."));
      form.reset();
    } catch (e) {
      showError(passphraseError, e);
    }
  });
  return form;
}

/** The accounts table's parts: its body, where its errors show, and how it shows a new list. */
interface AccountsTable {
  body: HTMLElement;
  error: HTMLElement;
  list: (accounts: Account[]) => void;
}

/** The administrator's list of accounts and the form that adds one. */
function accountsPanel(): HTMLElement {
  const table: AccountsTable = {
    body: el("tbody", {}),
    error: el("p", { id: "account-error", class: "error", role: "alert" }, ""),
    list: (accounts) => table.body.replaceChildren(...accounts.map((a) => accountRow(table, a))),
  };
  const form = addAccountForm(table);
  api.listAccounts().then(table.list, (e) => showError(table.error, e));
  return el(
    "section",
    { id: "accounts-section" },
    el("h2", {}, t("Accounts")),
    el("table", { id: "accounts" }, el("thead", {}, el("tr", {}, el("th", {}, t("Username")), el("th", {}, t("Name")), el("th", {}, t("Role")), el("th", {}, t("Status")), el("th", {}, t("Actions")))), table.body),
    el("h3", {}, t("Add an account")),
    form,
  );
}

function accountRow(table: AccountsTable, a: Account): HTMLElement {
  return el(
    "tr",
    { "data-username": a.username, "data-role": a.role, "data-locked": a.lockedUntil ? "1" : "0" },
    el("td", {}, a.username),
    el("td", {}, a.displayName),
    el("td", {}, roleName(a.role)),
    el("td", {}, a.lockedUntil ? t("Locked until {time} UTC (wrong passwords)", { time: a.lockedUntil }) : t("Active")),
    accountActions(table, a),
  );
}

/** Runs an account change; the table shows the accounts it returns and a toast says `done`. */
function accountChange(table: AccountsTable, work: () => Promise<Account[]>, done: string): () => Promise<void> {
  return async () => {
    table.error.textContent = "";
    try {
      table.list(await work());
      toast(done);
    } catch (e) {
      showError(table.error, e);
    }
  };
}

/** An account's Reset password and Remove buttons (not Remove on one's own account). */
function accountActions(table: AccountsTable, a: Account): HTMLElement {
  const cell = el("td", { class: "account-actions" });
  const reset = el("button", { class: "reset-password link", onclick: () => showResetForm(table, a, cell) }, t("Reset password"));
  const remove = el("button", {
    class: "remove-account link",
    onclick: () => {
      // Two clicks: the first asks to confirm.
      if (remove.dataset.confirm !== "1") {
        remove.dataset.confirm = "1";
        remove.textContent = t("Confirm removal");
        return;
      }
      void accountChange(table, () => api.removeAccount(a.username), t("Account {username} removed.", { username: a.username }))();
    },
  }, t("Remove"));
  cell.append(reset, a.username === session.officer?.username ? "" : remove);
  return cell;
}

/** Replaces an account's buttons in `cell` with the form that sets its new password. */
function showResetForm(table: AccountsTable, a: Account, cell: HTMLElement): void {
  const first = textInput(`reset-password-${a.username}`, { type: "password", "aria-label": t("New password") });
  const second = textInput(`reset-password2-${a.username}`, { type: "password", "aria-label": t("New password again") });
  const form = el(
    "form",
    { class: "reset-form" },
    first,
    second,
    el("button", { type: "submit", class: "primary" }, t("Set password")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (typedTwiceDiffers(first, second, table.error, t("The two passwords differ."))) return;
    void accountChange(table, () => api.resetPassword(a.username, first.value), t("New password set for {username}.", { username: a.username }))();
  });
  cell.replaceChildren(form);
  first.focus();
}

function addAccountForm(table: AccountsTable): HTMLFormElement {
  const username = textInput("account-username", { required: true });
  const name = textInput("account-name", { required: true });
  const role = el("select", { id: "account-role" }, ...ROLES.map((r) => el("option", { value: r.value }, t(r.label))));
  const password = textInput("account-password", { type: "password", required: true });
  const password2 = textInput("account-password2", { type: "password", required: true });
  const form = el(
    "form",
    { id: "account-form" },
    el(
      "div",
      { class: "grid-form" },
      field(t("Username"), username, t("3 to 32 characters: lower-case letters, digits, '.', '_' or '-'.")),
      field(t("Name shown in the app"), name),
      field(t("Role"), role),
      el("div", {}),
      field(t("Password"), password, t("At least 10 characters.")),
      field(t("Password again"), password2),
    ),
    table.error,
    el("div", { class: "actions" }, el("button", { id: "account-add", type: "submit", class: "primary" }, t("Add account"))),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    table.error.textContent = "";
    if (typedTwiceDiffers(password, password2, table.error, t("The two passwords differ."))) return;
    try {
      table.list(await api.addAccount({ username: username.value, displayName: name.value, role: role.value, password: password.value }));
      toast(t("Account {username} added.", { username: username.value.trim() }));
      form.reset();
      username.focus();
    } catch (e) {
      showError(table.error, e);
    }
  });
  return form;
}
