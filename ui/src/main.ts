import "./style.css";
import { Account, api, asCommandError, CommandError, Settings, Demographics, ReceiptView, FieldDef, FieldError, FormDef, FormSet, Drill, EnrollmentView, ExceptionView, FaceLiveView, FingerLiveView, FingerSet, FingerView, ImageView, Officer, ReportFormat, Section, SetView, StationStatus, SyncStatus } from "./api";
import { el, mount } from "./dom";
import { Lang, lang, N, pick, setLang, t } from "./i18n";

const root = document.getElementById("app") as HTMLElement;

type Step = "applicant" | "face" | "fingers" | "review";
const STEPS: { id: Step; label: string }[] = [
  { id: "applicant", label: N("Applicant") },
  { id: "face", label: N("Face") },
  { id: "fingers", label: N("Fingerprints") },
  { id: "review", label: N("Review") },
];

interface Draft {
  form: Demographics;
  face: ImageView | null;
  fingers: FingerView[];
  exceptions: ExceptionView[];
  exceptionPhoto: ImageView | null;
}

const state: {
  status: StationStatus | null;
  officer: Officer | null;
  draft: Draft;
  /** The forms new enrollments use, loaded when an enrollment starts. */
  forms: FormSet | null;
  pollTimer: number | undefined;
} = {
  status: null,
  officer: null,
  draft: emptyDraft(),
  forms: null,
  pollTimer: undefined,
};

const CORE_FIELDS = ["full_name", "date_of_birth", "sex", "nationality", "document_number"] as const;
type CoreField = (typeof CORE_FIELDS)[number];

function isCore(name: string): name is CoreField {
  return (CORE_FIELDS as readonly string[]).includes(name);
}

/** A field's value, a core field or one of the form's other fields. */
function fieldValue(form: Demographics, name: string): string {
  return isCore(name) ? form[name] : (form.fields?.[name] ?? "");
}

function setFieldValue(form: Demographics, name: string, value: string): void {
  if (isCore(name)) form[name] = value;
  else form.fields = { ...(form.fields ?? {}), [name]: value };
}

/** The definition of the form the draft is on, when the station knows it. */
function currentForm(): FormDef | null {
  return state.forms?.forms.find((f) => f.id === state.draft.form.form) ?? null;
}

function emptyDraft(): Draft {
  return {
    form: { form: "", form_version: "", full_name: "", date_of_birth: "", sex: "", nationality: "", document_number: "", fields: {} },
    face: null,
    fingers: [],
    exceptions: [],
    exceptionPhoto: null,
  };
}

/**
 * How the face step's live preview arrives: frames decoded, and for each the time from the Rust
 * side handing it to the channel to the image being decoded here (the IPC hop and decoding).
 * Read by the end-to-end test for `docs/benchmarks.md`; nothing else depends on it.
 */
const previewStats = {
  frames: 0,
  dropped: 0,
  /** Frames replaced by a newer one before they were drawn (the view never queues). */
  skipped: 0,
  /** Frames drawn with the face box. */
  withFace: 0,
  arrivals: [] as number[],
  latencies: [] as number[],
  frame(latency: number): void {
    this.frames++;
    this.arrivals.push(performance.now());
    this.latencies.push(latency);
  },
};
(window as unknown as { previewStats: typeof previewStats }).previewStats = previewStats;

/** True while the face step's live watch runs; leaving the step stops it. */
let faceLiveRunning = false;

function stopFaceLive(): Promise<void> {
  if (!faceLiveRunning) return Promise.resolve();
  faceLiveRunning = false;
  return api.faceLiveStop().catch(() => undefined);
}

/** Every screen change stops what the previous screen had running: list polling, the face step's live camera watch. */
function stopPolling(): void {
  if (state.pollTimer !== undefined) window.clearInterval(state.pollTimer);
  state.pollTimer = undefined;
  void stopFaceLive();
  void stopFingersLive();
}

function toast(message: string): void {
  const existing = document.getElementById("toast");
  existing?.remove();
  const node = el("div", { id: "toast", role: "status" }, message);
  document.body.append(node);
  window.setTimeout(() => node.remove(), 5000);
}

/** Draws the current screen again (after a language switch); each screen sets it. */
let redraw: () => void = () => undefined;

const ROLES: { value: string; label: string }[] = [
  { value: "officer", label: N("officer") },
  { value: "supervisor", label: N("supervisor") },
  { value: "technician", label: N("technician") },
  { value: "administrator", label: N("administrator") },
];

function roleName(role: string): string {
  const known = ROLES.find((r) => r.value === role);
  return known ? t(known.label) : role;
}

/**
 * Errors whose Rust message is a fixed sentence, by code, so the officer reads them in the
 * current language; any other error shows the Rust message as it came.
 */
const ERROR_TEXTS: Record<string, string> = {
  wrong_passphrase: N("The station passphrase is not correct."),
  weak_passphrase: N("The station passphrase must be at least 12 characters long."),
  weak_password: N("Passwords must be at least 10 characters long."),
  invalid_username: N("Usernames are 3 to 32 characters: lower-case letters, digits, '.', '_' or '-'."),
  station_locked: N("The station is locked: enter the station passphrase first."),
  station_not_set_up: N("This station is not set up yet: a technician sets it up with a one-time token from the central server."),
  already_set_up: N("This station is already set up."),
  missing_station_name: N("Give the station a name, e.g. \"Jakarta Selatan desk 3\"."),
  missing_name: N("Enter the person's name as the app should show it."),
  invalid_server_url: N("That is not a server address: it starts with https:// or http://, e.g. https://enroll.example.go.id"),
  invalid_retention: N("The retention period is 1 to 3650 days."),
  not_permitted: N("Your account may not do this."),
  bad_credentials: N("The username or password is not correct."),
  cannot_remove_yourself: N("You cannot remove your own account."),
};

/**
 * Device errors name the device and what it said (English, from the driver): in Bahasa
 * Indonesia the officer reads what to do first, the device's words after.
 */
const DEVICE_ERROR_TEXTS: Record<string, string> = {
  device_retry: N("The device is busy or not ready: try again in a moment."),
  device_replug: N("The device is disconnected: reconnect it and try again."),
  device_fault: N("The device reports a problem: try again, or ask a technician to run the self-test."),
};

/** A command's error as the officer reads it: translated when its text is fixed. */
function errorText(error: CommandError): string {
  const known = ERROR_TEXTS[error.code];
  if (known) return t(known);
  const device = DEVICE_ERROR_TEXTS[error.code];
  return device && lang() === "id" ? `${t(device)} (${error.message})` : error.message;
}

function header(): HTMLElement {
  const status = state.status;
  const other: Lang = lang() === "en" ? "id" : "en";
  return el(
    "header",
    { class: "topbar" },
    el("div", { class: "brand" }, t("Enrollment Station")),
    el("div", { class: "station" }, status?.stationName ?? t("Not provisioned")),
    el(
      "div",
      { class: "who" },
      state.officer ? el("span", {}, `${state.officer.displayName} · ${roleName(state.officer.role)}`) : null,
      el(
        "button",
        {
          id: "lang-switch",
          class: "link",
          lang: other,
          "data-lang": lang(),
          onclick: () => {
            setLang(other);
            redraw();
            void refreshStatusBar();
          },
        },
        other === "id" ? "Bahasa Indonesia" : "English",
      ),
      state.officer ? el("button", { id: "logout", class: "link", onclick: () => void logout() }, t("Log out")) : null,
    ),
  );
}

// ---------- Status bar: online or not, last sync, devices ----------

let statusTimer: number | undefined;

function timeOf(rfc3339: string): string {
  return new Date(rfc3339).toLocaleTimeString(lang() === "id" ? "id-ID" : "en-GB", { hour: "2-digit", minute: "2-digit" });
}

async function refreshStatusBar(): Promise<void> {
  let bar = document.getElementById("status-bar");
  if (!state.officer) {
    bar?.remove();
    return;
  }
  if (!bar) {
    bar = el("footer", { id: "status-bar", class: "status-bar", role: "status" });
    document.body.append(bar);
  }
  let sync: SyncStatus | null = null;
  try {
    sync = await api.syncStatus();
  } catch {
    sync = null;
  }
  try {
    // The devices' names and whether they are connected (a reader pulled out shows at once).
    state.status = await api.stationStatus();
  } catch {
    // Keep what was last known.
  }
  const offline = sync?.problem?.kind === "offline";
  const link = !sync ? "unknown" : sync.phase === "paused" ? "paused" : offline ? "offline" : sync.problem ? "trouble" : "online";
  const linkText: Record<string, string> = {
    unknown: t("Server link: unknown"),
    paused: t("Sending paused"),
    offline: t("Offline: enrollments wait in the outbox"),
    trouble: t("Server link: trouble"),
    online: t("Online"),
  };
  bar.replaceChildren(
    el("span", { id: "status-link", class: `link-${link}`, "data-link": link }, linkText[link]),
    el(
      "span",
      { id: "status-last-sync" },
      sync?.lastSuccess ? t("Last sync {time}", { time: timeOf(sync.lastSuccess) }) : t("Not synced since the app started"),
    ),
    el(
      "span",
      { id: "status-outbox" },
      sync ? t("Outbox: {count} waiting", { count: sync.backlogPackets }) : "",
    ),
    devicesStatus(),
  );
}

/** The camera and reader in use, each marked when it is not connected. */
function devicesStatus(): HTMLElement {
  const status = state.status;
  const device = (name: string | undefined, ready: boolean | undefined, which: string): HTMLElement => {
    const gone = name !== undefined && ready === false;
    return el(
      "span",
      { id: `status-${which}`, class: gone ? "device-gone" : "", "data-ready": String(!gone) },
      gone ? t("{device} — not connected", { device: name }) : (name ?? "—"),
    );
  };
  return el(
    "span",
    { id: "status-devices" },
    t("Camera:"),
    " ",
    device(status?.camera, status?.cameraReady, "camera"),
    " · ",
    t("Reader:"),
    " ",
    device(status?.scanner, status?.scannerReady, "scanner"),
  );
}

function startStatusBar(): void {
  if (statusTimer === undefined) statusTimer = window.setInterval(() => void refreshStatusBar(), 2000);
  void refreshStatusBar();
}

function stopStatusBar(): void {
  if (statusTimer !== undefined) window.clearInterval(statusTimer);
  statusTimer = undefined;
  document.getElementById("status-bar")?.remove();
}

/** A whole screen: the top bar, the station's problem if any, one card titled `title`. */
function screen(title: string, ...content: Node[]): void {
  mount(root, header(), el("main", {}, problemBanner() ?? "", el("section", { class: "card" }, el("h1", {}, title), ...content)));
}

function problemBanner(): HTMLElement | null {
  const problem = state.status?.problem;
  return problem ? el("div", { id: "station-banner", class: "banner error", role: "alert" }, problem) : null;
}

/** When a command says the session is over (idle logout), go back to login and say why. */
function sessionEnded(error: CommandError): boolean {
  if (error.code !== "session_expired" && error.code !== "not_logged_in") return false;
  state.officer = null;
  state.draft = emptyDraft();
  renderLogin(error.message);
  return true;
}

/** Shows a command's error in `target`, unless it ended the session. */
function showError(target: HTMLElement, e: unknown): void {
  const error = asCommandError(e);
  if (!sessionEnded(error)) target.textContent = errorText(error);
}

// ---------- Technician: setting the station up ----------

/** A labelled input in a `.grid-form`. */
function field(label: string, input: HTMLElement, hint = ""): HTMLElement {
  return el("div", { class: "field" }, el("label", { for: input.id }, label), input, hint ? el("span", { class: "hint" }, hint) : null);
}

/** Whether a secret typed twice differs; if it does, says `message` in `error` and puts the cursor in the second. */
function typedTwiceDiffers(first: HTMLInputElement, second: HTMLInputElement, error: HTMLElement, message: string): boolean {
  if (first.value === second.value) return false;
  error.textContent = message;
  second.focus();
  return true;
}

function textInput(id: string, attrs: Record<string, string | boolean> = {}): HTMLInputElement {
  return el("input", { id, name: id, autocomplete: "off", ...attrs });
}

function renderSetup(): void {
  redraw = renderSetup;
  stopStatusBar();
  stopPolling();
  const keyring = state.status?.keyringAvailable ?? false;
  const server = textInput("setup-server", { placeholder: "https://enroll.example.go.id", required: true });
  const token = textInput("setup-token", { required: true, spellcheck: "false" });
  const name = textInput("setup-name", { required: true, placeholder: t("e.g. Jakarta Selatan desk 3") });
  const usePassphrase = el("input", { id: "setup-protect-passphrase", type: "radio", name: "protect", value: "passphrase", checked: true });
  const useKeyring = el("input", { id: "setup-protect-keyring", type: "radio", name: "protect", value: "keyring", disabled: !keyring });
  const passphrase = textInput("setup-passphrase", { type: "password" });
  const passphrase2 = textInput("setup-passphrase2", { type: "password" });
  const adminUser = textInput("setup-admin-username", { required: true });
  const adminName = textInput("setup-admin-name", { required: true });
  const adminPassword = textInput("setup-admin-password", { type: "password", required: true });
  const adminPassword2 = textInput("setup-admin-password2", { type: "password", required: true });
  const error = el("p", { id: "setup-error", class: "error", role: "alert" }, "");
  const submit = el("button", { id: "setup-submit", type: "submit", class: "primary" }, t("Set up this station"));
  const passphraseFields = el(
    "div",
    { class: "grid-form" },
    field(t("Station passphrase"), passphrase, t("At least 12 characters; typed at every start.")),
    field(t("Station passphrase again"), passphrase2),
  );
  const protectionChanged = () => {
    passphraseFields.hidden = useKeyring.checked;
  };
  usePassphrase.addEventListener("change", protectionChanged);
  useKeyring.addEventListener("change", protectionChanged);
  const form = el(
    "form",
    { id: "setup-form" },
    el("p", { class: "muted" }, t("A new station registers once with the central server. Ask the server's administrator for a one-time setup token for this station.")),
    el(
      "div",
      { class: "grid-form" },
      field(t("Server address"), server),
      field(t("One-time setup token"), token),
      field(t("Station name"), name, t("As the server and the reports will show it.")),
    ),
    el("h2", {}, t("Protecting the station's keys")),
    el(
      "div",
      { class: "choices" },
      el("label", {}, usePassphrase, " ", t("A station passphrase, typed at every start")),
      el("label", {}, useKeyring, " ", keyring ? t("The operating system's keyring of this user") : t("The operating system's keyring (none answers on this computer)")),
    ),
    passphraseFields,
    el("h2", {}, t("First administrator")),
    el("p", { class: "muted" }, t("This account adds the officers', supervisors' and technicians' accounts.")),
    el(
      "div",
      { class: "grid-form" },
      field(t("Username"), adminUser, t("3 to 32 characters: lower-case letters, digits, '.', '_' or '-'.")),
      field(t("Name shown in the app"), adminName),
      field(t("Password"), adminPassword, t("At least 10 characters.")),
      field(t("Password again"), adminPassword2),
    ),
    error,
    el("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!useKeyring.checked && typedTwiceDiffers(passphrase, passphrase2, error, t("The two station passphrases differ."))) return;
    if (typedTwiceDiffers(adminPassword, adminPassword2, error, t("The two passwords differ."))) return;
    submit.disabled = true;
    submit.textContent = t("Registering with the server…");
    try {
      state.status = await api.provisionStation({
        serverUrl: server.value,
        token: token.value.trim(),
        stationName: name.value,
        passphrase: useKeyring.checked ? null : passphrase.value,
        adminUsername: adminUser.value,
        adminName: adminName.value,
        adminPassword: adminPassword.value,
      });
      renderLogin();
      toast(t("The station is set up. Log in as the administrator to add the other accounts."));
    } catch (e) {
      error.textContent = errorText(asCommandError(e));
      submit.disabled = false;
      submit.textContent = t("Set up this station");
    }
  });
  screen(t("Set up this station"), form);
  server.focus();
}

// ---------- Technician and administrator: settings and accounts ----------

function renderSettings(): void {
  redraw = renderSettings;
  startStatusBar();
  stopPolling();
  const admin = state.officer?.role === "administrator";
  const about = el("dl", { id: "settings-about", class: "review" });
  const server = textInput("settings-server", { required: true });
  const retention = textInput("settings-retention", { type: "number", min: "1", max: "3650", required: true });
  const saved = el("p", { id: "settings-saved", class: "muted", role: "status" }, "");
  const settingsError = el("p", { id: "settings-error", class: "error", role: "alert" }, "");
  const show = (settings: Settings) => {
    about.replaceChildren(
      el("dt", {}, t("Station name")),
      el("dd", {}, settings.stationName),
      el("dt", {}, t("Station id")),
      el("dd", {}, settings.stationId),
      el("dt", {}, t("Forms version")),
      el("dd", {}, settings.formsVersion),
      el("dt", {}, t("Keys protected by")),
      el("dd", { id: "settings-protection", "data-protection": settings.protection }, settings.protection === "keyring" ? t("the operating system's keyring") : t("the station passphrase")),
    );
    server.value = settings.serverUrl;
    retention.value = String(settings.retentionDays);
    passphraseSection.hidden = settings.protection !== "passphrase";
  };
  const settingsForm = el(
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
  settingsForm.addEventListener("submit", async (event) => {
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

  const current = textInput("passphrase-current", { type: "password", required: true });
  const next = textInput("passphrase-new", { type: "password", required: true });
  const next2 = textInput("passphrase-new2", { type: "password", required: true });
  const passphraseError = el("p", { id: "passphrase-error", class: "error", role: "alert" }, "");
  const passphraseForm = el(
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
  passphraseForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    passphraseError.textContent = "";
    if (typedTwiceDiffers(next, next2, passphraseError, t("The two station passphrases differ."))) return;
    try {
      await api.changeStationPassphrase(current.value, next.value);
      toast(t("Station passphrase changed: use the new one from the next start."));
      passphraseForm.reset();
    } catch (e) {
      showError(passphraseError, e);
    }
  });
  const passphraseSection = el("section", { id: "passphrase-section" }, el("h2", {}, t("Station passphrase")), passphraseForm);

  const accountsSection = admin ? accountsPanel() : el("div", {});
  screen(
    t("Station settings"),
    el("nav", { class: "actions" }, el("button", { id: "open-selftest", onclick: () => renderSelfTest() }, t("Station self-test"))),
    el("h2", {}, t("This station")),
    about,
    settingsForm,
    passphraseSection,
    accountsSection,
  );
  api.stationSettings().then(show, (e) => showError(settingsError, e));
  server.focus();
}

/** The administrator's list of accounts and the form that adds one. */
function accountsPanel(): HTMLElement {
  const body = el("tbody", {});
  const error = el("p", { id: "account-error", class: "error", role: "alert" }, "");
  const act = (work: () => Promise<Account[]>, done: string) => async () => {
    error.textContent = "";
    try {
      list(await work());
      toast(done);
    } catch (e) {
      showError(error, e);
    }
  };
  const actions = (a: Account): HTMLElement => {
    const cell = el("td", { class: "account-actions" });
    const reset = el("button", {
      class: "reset-password link",
      onclick: () => {
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
          if (typedTwiceDiffers(first, second, error, t("The two passwords differ."))) return;
          void act(() => api.resetPassword(a.username, first.value), t("New password set for {username}.", { username: a.username }))();
        });
        cell.replaceChildren(form);
        first.focus();
      },
    }, t("Reset password"));
    const remove = el("button", {
      class: "remove-account link",
      onclick: () => {
        // Two clicks: the first asks to confirm.
        if (remove.dataset.confirm !== "1") {
          remove.dataset.confirm = "1";
          remove.textContent = t("Confirm removal");
          return;
        }
        void act(() => api.removeAccount(a.username), t("Account {username} removed.", { username: a.username }))();
      },
    }, t("Remove"));
    cell.append(reset, a.username === state.officer?.username ? "" : remove);
    return cell;
  };
  const list = (accounts: Account[]) =>
    body.replaceChildren(
      ...accounts.map((a) =>
        el(
          "tr",
          { "data-username": a.username, "data-role": a.role, "data-locked": a.lockedUntil ? "1" : "0" },
          el("td", {}, a.username),
          el("td", {}, a.displayName),
          el("td", {}, roleName(a.role)),
          el("td", {}, a.lockedUntil ? t("Locked until {time} UTC (wrong passwords)", { time: a.lockedUntil }) : t("Active")),
          actions(a),
        ),
      ),
    );
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
    error,
    el("div", { class: "actions" }, el("button", { id: "account-add", type: "submit", class: "primary" }, t("Add account"))),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (typedTwiceDiffers(password, password2, error, t("The two passwords differ."))) return;
    try {
      list(await api.addAccount({ username: username.value, displayName: name.value, role: role.value, password: password.value }));
      toast(t("Account {username} added.", { username: username.value.trim() }));
      form.reset();
      username.focus();
    } catch (e) {
      showError(error, e);
    }
  });
  api.listAccounts().then(list, (e) => showError(error, e));
  return el(
    "section",
    { id: "accounts-section" },
    el("h2", {}, t("Accounts")),
    el("table", { id: "accounts" }, el("thead", {}, el("tr", {}, el("th", {}, t("Username")), el("th", {}, t("Name")), el("th", {}, t("Role")), el("th", {}, t("Status")), el("th", {}, t("Actions")))), body),
    el("h3", {}, t("Add an account")),
    form,
  );
}

// ---------- Unlock ----------

function renderUnlock(): void {
  redraw = renderUnlock;
  stopStatusBar();
  stopPolling();
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
      state.status = await api.unlockStation(passphrase.value);
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

// ---------- Login ----------

function renderLogin(message = ""): void {
  redraw = () => renderLogin(message);
  stopStatusBar();
  stopPolling();
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
      state.officer = await api.login(username.value, password.value);
      renderStart();
    } catch (e) {
      error.textContent = errorText(asCommandError(e));
      password.value = "";
      password.focus();
    }
  });
  mount(root, header(), el("main", {}, problemBanner() ?? "", form));
  username.focus();
}

async function logout(): Promise<void> {
  document.getElementById("toast")?.remove();
  await stopFaceLive();
  await stopFingersLive();
  await api.logout();
  stopStatusBar();
  state.officer = null;
  state.draft = emptyDraft();
  renderLogin();
}

// ---------- Enrollment list ----------

/** The list's filters: what an officer looks for. */
type ListFilter = "all" | "pending" | "held" | "accepted" | "rejected";

function rowState(item: EnrollmentView): Exclude<ListFilter, "all"> {
  const held = item.state === "pending" && item.approval !== null && item.approval !== "approved";
  return held ? "held" : item.state;
}

function enrollmentRow(item: EnrollmentView): HTMLElement {
  const shown = rowState(item);
  const label =
    shown === "held"
      ? item.approval === "refused"
        ? t("Refused by supervisor")
        : t("Waiting for supervisor approval")
      : shown === "pending"
        ? t("Waiting to upload")
        : shown === "accepted"
          ? t("Accepted by server")
          : t("Rejected");
  const detail = shown === "held" ? item.approvalNote : shown === "rejected" ? item.serverReason : shown === "pending" ? item.lastError : null;
  return el(
    "tr",
    { "data-id": item.id, "data-state": item.state },
    el("td", {}, item.applicantName),
    el("td", {}, item.documentNumber),
    el("td", {}, new Date(item.createdAt).toLocaleString(lang() === "id" ? "id-ID" : "en-GB")),
    el(
      "td",
      {},
      el("span", { class: `status-badge ${shown === "held" ? `approval-${item.approval}` : item.state}` }, label),
      detail ? el("div", { class: "detail" }, detail) : null,
    ),
  );
}

function kib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

function showSync(line: HTMLElement, toggle: HTMLButtonElement, status: SyncStatus | null): void {
  if (!status) {
    line.textContent = "";
    return;
  }
  toggle.textContent = status.phase === "paused" ? t("Resume sending") : t("Pause sending");
  toggle.dataset.paused = String(status.phase === "paused");
  const parts: string[] = [];
  if (status.phase === "paused") parts.push(t("Sending is paused."));
  if (status.message) parts.push(pick(status.message));
  if (status.phase === "retrying" && status.retryInMs !== null) {
    parts.push(t("Next attempt in {seconds} s.", { seconds: Math.max(1, Math.round(status.retryInMs / 1000)) }));
  }
  line.textContent = parts.join(" ");
  line.dataset.problem = status.problem?.kind ?? "";
  line.title = status.problem?.detail ?? "";
  line.className = status.problem ? "sync-status problem" : "sync-status muted";
}

/** The outbox panel: a progress bar over the packets of the current (or last) sending pass. */
function showOutbox(panel: HTMLElement, status: SyncStatus | null): void {
  const total = status ? status.packetsDone + status.backlogPackets : 0;
  if (!status || (total === 0 && status.phase !== "sending")) {
    panel.hidden = true;
    return;
  }
  const fraction = status.current && status.current[2] > 0 ? status.current[1] / status.current[2] : 0;
  const value = Math.min(total, status.packetsDone + fraction);
  const bar = el("progress", { id: "outbox-progress", max: String(total), value: String(value), "data-phase": status.phase });
  const words =
    status.phase === "sending" && status.current
      ? t("Sending {n} of {total}: {held} of {size}", { n: status.packetsDone + 1, total, held: kib(status.current[1]), size: kib(status.current[2]) })
      : status.backlogPackets === 0
        ? t("Sent {done} of {total}.", { done: status.packetsDone, total })
        : t("{done} of {total} sent; {waiting} waiting ({bytes}).", { done: status.packetsDone, total, waiting: status.backlogPackets, bytes: kib(status.backlogBytes) });
  panel.hidden = false;
  panel.replaceChildren(el("h2", {}, t("Outbox")), bar, el("span", { id: "outbox-progress-text" }, words));
}

async function refreshList(view: ListView): Promise<void> {
  try {
    const status = await api.syncStatus();
    const toggle = document.getElementById("sync-toggle") as HTMLButtonElement | null;
    if (toggle) showSync(view.line, toggle, status);
    showOutbox(view.outbox, status);
    view.items = await api.listEnrollments();
    drawList(view);
  } catch (e) {
    showError(view.summary, e);
  }
}

interface ListView {
  body: HTMLElement;
  summary: HTMLElement;
  line: HTMLElement;
  outbox: HTMLElement;
  search: HTMLInputElement;
  filter: HTMLSelectElement;
  items: EnrollmentView[];
}

function drawList(view: ListView): void {
  const needle = view.search.value.trim().toLowerCase();
  const filter = view.filter.value as ListFilter;
  const shown = view.items.filter(
    (i) =>
      (filter === "all" || rowState(i) === filter) &&
      (!needle || i.applicantName.toLowerCase().includes(needle) || i.documentNumber.toLowerCase().includes(needle)),
  );
  view.body.replaceChildren(
    ...(shown.length
      ? shown.map(enrollmentRow)
      : [el("tr", {}, el("td", { colspan: "4", class: "empty" }, view.items.length ? t("No enrollment matches.") : t("No enrollments yet.")))]),
  );
  const pending = view.items.filter((i) => i.state === "pending").length;
  view.summary.textContent = pending ? t("{count} waiting to upload", { count: pending }) : t("Everything is uploaded");
}

/** Where a role starts: technicians at the self-test, everyone else at the enrollment list. */
function renderStart(): void {
  if (state.officer?.role === "technician") renderSelfTest();
  else if (state.officer?.role === "administrator") renderSettings();
  else renderHome();
}

// ---------- Supervisor: approvals ----------

function renderApprovals(): void {
  redraw = renderApprovals;
  startStatusBar();
  stopPolling();
  const body = el("tbody", {});
  const message = el("p", { id: "approvals-error", class: "error", role: "alert" }, "");
  const load = async () => {
    try {
      const held = await api.listApprovals();
      body.replaceChildren(
        ...(held.length
          ? held.map((item) => {
              const comment = el("input", { class: "comment", autocomplete: "off", placeholder: t("Comment (needed to refuse)"), "aria-label": t("Comment") });
              const decide = (approve: boolean) => async () => {
                message.textContent = "";
                try {
                  await api.decideApproval(item.id, approve, comment.value);
                  toast(approve ? t("Approved: it will be sent.") : t("Refused: it will not be sent."));
                  await load();
                } catch (e) {
                  showError(message, e);
                }
              };
              const why = [
                ...item.exceptions.map((e) => t("{finger} missing: {reason}", { finger: fingerName(e.position), reason: reasonText(e.reason) })),
                ...(item.forceCaptured ? [t("{count} capture(s) kept below the quality checks", { count: item.forceCaptured })] : []),
              ];
              return el(
                "tr",
                { "data-id": item.id },
                el("td", {}, new Date(item.createdAt).toLocaleString(lang() === "id" ? "id-ID" : "en-GB")),
                el("td", {}, item.officer),
                el(
                  "td",
                  {},
                  el("ul", { class: "reasons" }, ...why.map((w) => el("li", {}, w))),
                  item.exceptionPhoto ? el("img", { class: "exception-photo", src: item.exceptionPhoto, alt: t("Photo of the hand with the declared finger(s)") }) : null,
                ),
                el(
                  "td",
                  {},
                  comment,
                  el("div", { class: "actions" }, el("button", { class: "approve primary", onclick: decide(true) }, t("Approve")), el("button", { class: "refuse", onclick: decide(false) }, t("Refuse"))),
                ),
              );
            })
          : [el("tr", {}, el("td", { colspan: "4", class: "empty" }, t("Nothing waits for approval.")))]),
      );
    } catch (e) {
      showError(message, e);
    }
  };
  screen(
    t("Waiting for approval"),
    el("p", { class: "muted" }, t("Enrollments with a missing finger or a capture kept below the quality checks leave the station only once a supervisor approves them.")),
    el("table", { id: "approval-list" }, el("thead", {}, el("tr", {}, el("th", {}, t("Enrolled")), el("th", {}, t("Officer")), el("th", {}, t("Why it waits")), el("th", {}, t("Decision")))), body),
    message,
    el("div", { class: "actions" }, el("button", { id: "approvals-back", onclick: () => renderHome() }, t("Back to enrollments"))),
  );
  void load();
}

// ---------- Technician: self-test ----------

const SECTIONS: { key: string; label: string }[] = [
  { key: "station", label: N("Station: storage, keys, audit log") },
  { key: "camera", label: N("Camera") },
  { key: "reader", label: N("Fingerprint reader") },
  { key: "server", label: N("Server link") },
];

const DRILLS: { value: Drill | ""; label: string }[] = [
  { value: "", label: N("No drill: test the devices as they are") },
  { value: "camera-black", label: N("Camera delivers black frames") },
  { value: "camera-freeze", label: N("Camera picture freezes") },
  { value: "camera-unplugged", label: N("Camera unplugged") },
  { value: "camera-applicant-steps-in", label: N("Applicant not in place: steps in from the side") },
  { value: "reader-residue", label: N("Latent print left on the reader") },
  { value: "reader-unplugged", label: N("Reader unplugged") },
  { value: "reader-dry-fingers", label: N("Applicant's fingers are dry: the next set comes out poor") },
];

function sectionBlock(key: string, label: string, section: Section | null, running: boolean): HTMLElement {
  const verdict = section ? section.verdict : running ? "running" : "waiting";
  const word = section ? (section.verdict === "pass" ? t("Pass") : section.verdict === "warn" ? t("Warning") : t("Fail")) : running ? t("Running…") : t("Waiting");
  return el(
    "div",
    { class: `selftest-section ${verdict}`, "data-section": key, "data-verdict": verdict },
    el("h2", {}, el("span", { class: "verdict" }, word), ` ${label}`, section ? el("span", { class: "muted" }, ` — ${section.subject}`) : null),
    section
      ? el(
          "ul",
          { class: "checks" },
          ...section.checks.map((c) => el("li", { class: c.verdict === "pass" ? "pass" : c.verdict === "warn" ? "warn" : "fail", "data-check": c.name }, `${c.verdict === "pass" ? "✓" : c.verdict === "warn" ? "!" : "✗"} ${c.name}: ${c.detail}`)),
        )
      : null,
  );
}

function renderSelfTest(): void {
  redraw = renderSelfTest;
  startStatusBar();
  stopPolling();
  const results = el("div", { id: "selftest-results", "aria-live": "polite" });
  const verdict = el("p", { id: "selftest-verdict", class: "muted" }, t("Run the self-test to check this station before the day's work."));
  const message = el("p", { id: "selftest-error", class: "error", role: "alert" }, "");
  const exported = el("p", { id: "selftest-exported", class: "muted" }, "");
  const drill = el("select", { id: "selftest-drill" }, ...DRILLS.map((d) => el("option", { value: d.value }, t(d.label))));
  const sections = new Map<string, Section | null>(SECTIONS.map((s) => [s.key, null]));
  let running: string | null = null;
  const draw = () =>
    results.replaceChildren(...SECTIONS.map((s) => sectionBlock(s.key, t(s.label), sections.get(s.key) ?? null, running === s.key)));
  const exportAs = (format: ReportFormat) => async () => {
    message.textContent = "";
    try {
      const path = await api.exportSelftest(format);
      exported.textContent = t("Report saved: {path}", { path });
    } catch (e) {
      showError(message, e);
    }
  };
  const exportJson = el("button", { id: "selftest-export-json", disabled: true, onclick: exportAs("json") }, t("Export JSON"));
  const exportHtml = el("button", { id: "selftest-export-html", disabled: true, onclick: exportAs("html") }, t("Export printable report"));
  const run = el("button", {
    id: "selftest-run",
    class: "primary",
    onclick: async () => {
      message.textContent = "";
      exported.textContent = "";
      run.disabled = true;
      SECTIONS.forEach((s) => sections.set(s.key, null));
      verdict.textContent = t("Testing…");
      verdict.className = "muted";
      draw();
      try {
        const chosen = drill.value === "" ? null : (drill.value as Drill);
        const report = await api.runSelftest(chosen, (progress) => {
          running = progress.section ? null : progress.key;
          if (progress.section) sections.set(progress.key, progress.section);
          draw();
        });
        running = null;
        report.sections.forEach((s) => sections.set(s.key, s));
        draw();
        verdict.textContent =
          report.verdict === "pass" ? t("Everything works.") : report.verdict === "warn" ? t("Works, with warnings: see below.") : t("Something does not work: see the failed checks below.");
        verdict.className = `selftest-verdict ${report.verdict}`;
        verdict.dataset.verdict = report.verdict;
        exportJson.disabled = false;
        exportHtml.disabled = false;
      } catch (e) {
        verdict.textContent = "";
        showError(message, e);
      } finally {
        running = null;
        run.disabled = false;
      }
    },
  }, t("Run self-test"));
  draw();
  screen(
    t("Station self-test"),
    el("nav", { class: "actions" }, el("button", { id: "open-settings", onclick: () => renderSettings() }, t("Station settings"))),
    el("p", { class: "muted" }, t("Checks the station's storage, keys and audit log, the camera, the fingerprint reader and the link to the central server.")),
    field(t("Practice drill (simulated devices only)"), drill),
    el("div", { class: "actions" }, run, exportJson, exportHtml),
    verdict,
    message,
    results,
    exported,
  );
  run.focus();
}

function renderHome(): void {
  stopPolling();
  redraw = renderHome;
  startStatusBar();
  const body = el("tbody", {});
  const search = el("input", { id: "list-search", type: "search", autocomplete: "off", placeholder: t("Search by name or document number"), "aria-label": t("Search") });
  const filter = el(
    "select",
    { id: "list-filter", "aria-label": t("Show") },
    ...(
      [
        ["all", t("All enrollments")],
        ["pending", t("Waiting to upload")],
        ["held", t("Waiting for supervisor approval")],
        ["accepted", t("Accepted by server")],
        ["rejected", t("Rejected")],
      ] as const
    ).map(([value, text]) => el("option", { value }, text)),
  );
  const view: ListView = {
    body,
    summary: el("span", { id: "outbox-summary", class: "muted" }, ""),
    line: el("p", { id: "sync-status", class: "sync-status muted", role: "status" }, ""),
    outbox: el("section", { id: "outbox-panel", class: "outbox", hidden: true }),
    search,
    filter,
    items: [],
  };
  search.addEventListener("input", () => drawList(view));
  filter.addEventListener("change", () => drawList(view));
  const table = el(
    "table",
    { id: "enrollment-list" },
    el("thead", {}, el("tr", {}, el("th", {}, t("Applicant")), el("th", {}, t("Document")), el("th", {}, t("Enrolled")), el("th", {}, t("Status")))),
    body,
  );
  const refresh = () => refreshList(view);
  const actions = el(
    "div",
    { class: "actions" },
    state.officer?.hasDraft ? el("button", { id: "resume-enrollment", class: "primary", onclick: () => void resumeEnrollment() }, t("Resume enrollment")) : null,
    el("button", { id: "new-enrollment", class: state.officer?.hasDraft ? "" : "primary", onclick: () => void startEnrollment() }, t("New enrollment")),
    state.officer?.role === "supervisor" ? el("button", { id: "open-approvals", onclick: () => renderApprovals() }, t("Approvals")) : null,
    el("button", { id: "sync-now", onclick: () => void api.syncNow().then(refresh, (e) => showError(view.summary, e)) }, t("Sync now")),
    el(
      "button",
      {
        id: "sync-toggle",
        onclick: (event: Event) => {
          const paused = (event.currentTarget as HTMLElement).dataset.paused === "true";
          void (paused ? api.resumeSync() : api.pauseSync()).then(refresh, (e) => showError(view.summary, e));
        },
      },
      t("Pause sending"),
    ),
    view.summary,
  );
  screen(t("Enrollments"), actions, view.line, view.outbox, el("div", { class: "actions list-tools" }, search, filter), table);
  void refresh();
  state.pollTimer = window.setInterval(() => void refresh(), 1000);
  (document.querySelector("#resume-enrollment, #new-enrollment") as HTMLButtonElement).focus();
}

async function resumeEnrollment(): Promise<void> {
  try {
    state.forms = await api.listForms();
    const saved = await api.resumeEnrollment();
    state.draft = { form: saved.form, face: saved.face, fingers: saved.fingers, exceptions: saved.exceptions, exceptionPhoto: saved.exceptionPhoto };
    if (state.officer) state.officer.hasDraft = false;
    renderStep("applicant");
  } catch (e) {
    const error = asCommandError(e);
    if (!sessionEnded(error)) toast(errorText(error));
  }
}

async function startEnrollment(): Promise<void> {
  try {
    state.forms = await api.listForms();
    await api.startEnrollment();
    state.draft = emptyDraft();
    if (state.officer) state.officer.hasDraft = false;
    renderStep("applicant");
  } catch (e) {
    const error = asCommandError(e);
    if (!sessionEnded(error)) toast(errorText(error));
  }
}

// ---------- Wizard ----------

function stepIndicator(current: Step): HTMLElement {
  const index = STEPS.findIndex((s) => s.id === current);
  return el(
    "ol",
    { class: "steps", "aria-label": t("Enrollment steps") },
    ...STEPS.map((step, i) =>
      el(
        "li",
        { class: i < index ? "done" : i === index ? "current" : "", "aria-current": i === index ? "step" : undefined },
        `${i + 1}. ${t(step.label)}`,
      ),
    ),
  );
}

function wizard(step: Step, ...content: Node[]): void {
  startStatusBar();
  stopPolling();
  const cancel = el("button", { id: "cancel-enrollment", class: "link", type: "button", onclick: () => renderHome() }, t("Cancel"));
  mount(root, header(), el("main", {}, el("section", { class: "card" }, stepIndicator(step), ...content, cancel)));
}

function renderStep(step: Step): void {
  switch (step) {
    case "applicant":
      return renderApplicant();
    case "face":
      return renderFace();
    case "fingers":
      return renderFingers();
    case "review":
      return renderReview();
  }
}

function fieldInput(field: FieldDef, value: string): HTMLInputElement | HTMLSelectElement {
  const id = `field-${field.name}`;
  const kind = field.kind;
  const options: [string, string][] =
    kind.type === "sex"
      ? [
          ["F", t("F — female")],
          ["M", t("M — male")],
          ["X", t("X — unspecified")],
        ]
      : kind.type === "choice"
        ? kind.options.map((o) => [o.value, pick(o.label)])
        : [];
  if (options.length) {
    const select = el("select", { id, name: field.name }, el("option", { value: "" }, t("Choose…")), ...options.map(([v, text]) => el("option", { value: v }, text)));
    select.value = value;
    return select;
  }
  const fixed = kind.type === "country" && kind.only?.length === 1;
  const input = el("input", {
    id,
    name: field.name,
    autocomplete: "off",
    readonly: fixed,
    inputmode: kind.type === "nik" || kind.type === "phone" ? "numeric" : undefined,
    placeholder: kind.type === "date" ? t("YYYY-MM-DD") : undefined,
  });
  input.value = value;
  return input;
}

/** First part of the applicant step: citizen or foreigner, and for what. */
function renderApplicantType(): void {
  redraw = renderApplicantType;
  const forms = state.forms?.forms ?? [];
  const choose = (form: FormDef) => async () => {
    try {
      if (state.draft.form.form !== form.id) state.draft.form = await api.blankForm(form.id);
      renderApplicant();
    } catch (e) {
      const error = asCommandError(e);
      if (!sessionEnded(error)) toast(errorText(error));
    }
  };
  const buttons = forms.map((form) =>
    el(
      "button",
      { id: `form-type-${form.id}`, class: `choice ${form.id === state.draft.form.form ? "chosen" : ""}`, onclick: choose(form) },
      el("strong", {}, pick(form.title)),
      el("span", { class: "muted" }, form.applicant === "wni" ? t("Indonesian citizen (WNI)") : t("Foreign national (WNA)")),
    ),
  );
  wizard("applicant", el("h1", {}, t("Type of application")), el("div", { id: "form-types", class: "choices" }, ...buttons));
  (buttons.find((b) => b.classList.contains("chosen")) ?? buttons[0])?.focus();
}

function renderApplicant(): void {
  redraw = renderApplicant;
  const definition = currentForm();
  if (!definition) return renderApplicantType();
  const draftForm = state.draft.form;
  const inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
  const errors = new Map<string, HTMLElement>();
  const form = el("form", { id: "form-applicant", class: "grid-form", novalidate: true });
  for (const field of definition.fields) {
    const input = fieldInput(field, fieldValue(draftForm, field.name));
    // Typed values go into the draft at once, so a language switch or a step back keeps them.
    input.addEventListener("input", () => setFieldValue(draftForm, field.name, input.value));
    input.addEventListener("change", () => setFieldValue(draftForm, field.name, input.value));
    const error = el("span", { id: `error-${field.name}`, class: "error", role: "alert" }, "");
    inputs.set(field.name, input);
    errors.set(field.name, error);
    form.append(
      el(
        "div",
        { class: "field" },
        el("label", { for: input.id }, pick(field.label), field.required ? "" : el("span", { class: "muted" }, ` (${t("optional")})`)),
        input,
        field.hint ? el("span", { class: "hint" }, pick(field.hint)) : null,
        error,
      ),
    );
  }
  const mrzFields = definition.fields.filter((f) => f.mrz);
  let mrzBox: HTMLElement | null = null;
  if (mrzFields.length) {
    const zone = el("textarea", { id: "mrz-input", rows: "2", cols: "46", spellcheck: "false", autocomplete: "off", class: "mrz" });
    const mrzError = el("p", { id: "mrz-error", class: "error", role: "alert" }, "");
    const mrzDone = el("p", { id: "mrz-filled", class: "muted", role: "status" }, "");
    const read = el("button", {
      id: "mrz-read",
      type: "button",
      onclick: async () => {
        mrzError.textContent = "";
        mrzDone.textContent = "";
        try {
          const prefill = await api.prefillFromMrz(draftForm, zone.value);
          const entries = Object.entries(prefill.values);
          for (const [name, value] of entries) {
            setFieldValue(draftForm, name, value);
            const input = inputs.get(name);
            if (input) input.value = value;
          }
          mrzDone.textContent = t("Filled {count} fields from the passport: check them against the passport.", { count: entries.length });
          const firstEmpty = definition.fields.find((f) => f.required && !fieldValue(draftForm, f.name));
          inputs.get(firstEmpty?.name ?? "full_name")?.focus();
        } catch (e) {
          const error = asCommandError(e);
          if (sessionEnded(error)) return;
          mrzError.textContent = error.fields[0] ? pick(error.fields[0].message) : errorText(error);
          zone.focus();
        }
      },
    }, t("Fill from passport"));
    mrzBox = el(
      "div",
      { class: "mrz-box" },
      el("label", { for: "mrz-input" }, t("Passport machine-readable zone (MRZ)")),
      el("span", { class: "hint" }, t("Scan the two lines at the bottom of the photo page, or type them.")),
      zone,
      el("div", { class: "actions" }, read, mrzDone),
      mrzError,
    );
  }
  form.append(
    el(
      "div",
      { class: "actions" },
      el("button", { id: "form-back", type: "button", onclick: () => renderApplicantType() }, t("Back: type of application")),
      el("button", { id: "form-next", type: "submit", class: "primary" }, t("Next: face")),
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const field of definition.fields) setFieldValue(draftForm, field.name, inputs.get(field.name)?.value ?? "");
    try {
      await api.saveForm(draftForm);
    } catch (e) {
      const error = asCommandError(e);
      if (!sessionEnded(error)) toast(errorText(error));
      return;
    }
    let problems: FieldError[];
    try {
      problems = await api.validateForm(draftForm);
    } catch (e) {
      const error = asCommandError(e);
      if (!sessionEnded(error)) toast(errorText(error));
      return;
    }
    errors.forEach((node) => (node.textContent = ""));
    for (const problem of problems) {
      const node = errors.get(problem.field);
      if (node) node.textContent = pick(problem.message);
      else toast(pick(problem.message));
    }
    if (problems.length === 0) {
      renderStep("face");
    } else {
      inputs.get(problems[0].field)?.focus();
    }
  });
  wizard("applicant", el("h1", {}, pick(definition.title)), mrzBox ?? document.createTextNode(""), form);
  if (mrzBox) (document.getElementById("mrz-input") as HTMLElement | null)?.focus();
  else inputs.get(definition.fields[0]?.name ?? "")?.focus();
}

function renderFace(): void {
  redraw = renderFace;
  const preview = el("div", { class: "preview face" });
  const checklist = el("ul", { id: "face-checks", class: "checks", "aria-live": "polite" });
  const progress = el("p", { id: "face-progress", class: "muted" }, "");
  const message = el("p", { id: "face-error", class: "error", role: "alert" }, "");
  const next = el("button", { id: "face-next", class: "primary", disabled: !state.draft.face, onclick: () => void stopFaceLive().then(() => renderStep("fingers")) }, t("Next: fingerprints"));
  const showFace = (face: ImageView) => {
    // The checklist keeps the last live frame's results: why the photo was taken.
    preview.replaceChildren(el("img", { id: "face-preview", src: face.dataUrl, alt: t("Captured face photo") }));
    progress.textContent = t("Photo taken.");
    next.disabled = false;
    next.focus();
  };
  const live = liveCanvas<FaceLiveView>("face-live", t("Live camera view"), faceOverlay, previewStats, (frame) => {
    if (frame.sentAtMs !== null) previewStats.frame(Date.now() - frame.sentAtMs);
    if (frame.face) previewStats.withFace++;
  });
  // True while a live watch runs: a frame still in the channel when the watch has ended (the
  // photo taken) must not put the live view back over the photo.
  let watching = false;
  let shownChecks = "";
  const showFrame = (frame: FaceLiveView) => {
    if (!watching) return;
    if (!live.canvas.isConnected) preview.replaceChildren(live.canvas);
    live.show(frame);
    // The list and the line under it change a few times a second at most: rebuilt only then, so
    // the page is not laid out again thirty times a second.
    const lines = frame.checks.map((c) => ({ c, text: `${c.passed ? "✓" : "✗"} ${t(FACE_CHECK_NAMES[c.check] ?? c.label)}${c.advice ? ` — ${pick(c.advice)}` : ""}` }));
    const key = lines.map((l) => l.text).join("\n");
    if (key !== shownChecks) {
      shownChecks = key;
      checklist.replaceChildren(...lines.map(({ c, text }) => el("li", { class: c.passed ? "pass" : "fail", "data-check": c.check }, text)));
    }
    const failing = frame.checks.filter((c) => !c.passed).length;
    const line = failing === 0 ? t("All checks pass — taking the photo ({streak}/{required})", { streak: frame.streak, required: frame.required }) : t("{count} check(s) to fix", { count: failing });
    if (progress.textContent !== line) progress.textContent = line;
  };
  const startLive = async () => {
    message.textContent = "";
    faceLiveRunning = true;
    progress.textContent = t("Starting the camera…");
    shownChecks = "";
    watching = true;
    try {
      const taken = await api.faceLive(showFrame);
      watching = false;
      if (taken) {
        state.draft.face = taken;
        showFace(taken);
        capture.textContent = t("Retake photo");
      } else if (faceLiveRunning) {
        progress.textContent = t("No good photo yet: fix the checks, or take the photo by hand.");
      }
    } catch (e) {
      showError(message, e);
    } finally {
      watching = false;
      faceLiveRunning = false;
    }
  };
  if (state.draft.face) showFace(state.draft.face);
  else preview.append(el("span", { class: "muted" }, t("Ask the applicant to look straight at the camera.")));
  const capture = el("button", {
    id: "capture-face",
    onclick: async () => {
      message.textContent = "";
      capture.disabled = true;
      try {
        if (state.draft.face && !faceLiveRunning) {
          // Retake: watch again; the photo is taken when every check passes.
          capture.disabled = false;
          await startLive();
          return;
        }
        await stopFaceLive();
        state.draft.face = await api.captureFace();
        showFace(state.draft.face);
      } catch (e) {
        showError(message, e);
      } finally {
        capture.disabled = false;
      }
    },
  }, state.draft.face ? t("Retake photo") : t("Take photo now"));
  wizard(
    "face",
    el("h1", {}, t("Face photo")),
    el("p", { class: "muted" }, t("Camera: {camera}. The photo is taken by itself when every check passes.", { camera: state.status?.camera ?? "—" })),
    el("div", { class: "face-step" }, preview, el("div", {}, checklist, progress)),
    message,
    el("div", { class: "actions" }, el("button", { id: "face-back", onclick: () => void stopFaceLive().then(() => renderStep("applicant")) }, t("Back")), capture, next),
  );
  capture.focus();
  if (!state.draft.face) void startLive();
}

/** What is drawn over a live frame; positions are fractions of the frame's width and height. */
interface Overlay {
  boxes: { rect: number[]; label?: string }[];
  /** A line with a dot at each end (the eyes). */
  line?: [number[], number[]];
  /** Landmarks the checks used, drawn as small dots. */
  points?: number[][];
  /** One dot per check, in order: passed or not. */
  dots: boolean[];
  /** The first thing to fix, or what happens now. */
  guidance: string;
  /** Every check passes: drawn green, else amber. */
  good: boolean;
}

/** Rust's f64 arrives as number | null (null for a NaN, which no geometry holds). */
function numbers(values: (number | null)[]): number[] {
  return values.map((v) => v ?? 0);
}

function faceOverlay(frame: FaceLiveView): Overlay {
  const failing = frame.checks.find((c) => !c.passed);
  return {
    boxes: frame.face ? [{ rect: numbers(frame.face.bounds) }] : [],
    line: frame.face ? [numbers(frame.face.leftEye), numbers(frame.face.rightEye)] : undefined,
    points: frame.face ? frame.face.landmarks.map(numbers) : undefined,
    dots: frame.checks.map((c) => c.passed),
    guidance: failing ? sentence(failing.advice ? pick(failing.advice) : t(FACE_CHECK_NAMES[failing.check] ?? failing.label)) : t("Hold still: taking the photo"),
    good: !failing,
  };
}

function fingerOverlay(frame: FingerLiveView): Overlay {
  return {
    boxes: frame.fingers.flatMap((f) => (f.bounds ? [{ rect: numbers(f.bounds), label: fingerName(f.position) }] : [])),
    dots: frame.fingers.filter((f) => f.state !== "excused").map((f) => f.state === "placed"),
    guidance: frame.advice === null ? t("Fingers in place — capturing ({streak}/{required})", { streak: frame.streak, required: frame.required }) : sentence(pick(frame.advice)),
    good: frame.advice === null,
  };
}

/**
 * A canvas that shows the latest frame of a live stream with its overlay. Frames are decoded off
 * screen; one that arrives while the previous one is still decoding replaces the waiting one,
 * so the view never falls behind (`counts.skipped`). `drawn` hears of each frame on screen.
 */
function liveCanvas<T extends { preview: string }>(
  id: string,
  label: string,
  overlay: (frame: T) => Overlay,
  counts: { skipped: number; dropped: number } = { skipped: 0, dropped: 0 },
  drawn: (frame: T) => void = () => undefined,
): { canvas: HTMLCanvasElement; show: (frame: T) => void } {
  const canvas = el("canvas", { id, role: "img", "aria-label": label });
  let decoding = false;
  let waiting: T | null = null;
  const show = (frame: T): void => {
    if (decoding) {
      if (waiting) counts.skipped++;
      waiting = frame;
      return;
    }
    decoding = true;
    const image = new Image();
    image.src = frame.preview;
    void image
      .decode()
      .then(
        () => {
          if (!canvas.isConnected) return;
          drawOverlay(canvas, image, overlay(frame));
          drawn(frame);
        },
        () => counts.dropped++,
      )
      .finally(() => {
        decoding = false;
        const next = waiting;
        waiting = null;
        if (next) show(next);
      });
  };
  return { canvas, show };
}

/**
 * Draws `image` on `canvas` (which takes its size; CSS scales it to the preview box) with the
 * overlay: the boxes and the line (green when every check passes, amber otherwise), the landmarks
 * the checks used (blue dots), a dot per
 * check along the top, the guidance along the bottom.
 */
function drawOverlay(canvas: HTMLCanvasElement, image: HTMLImageElement, overlay: Overlay): void {
  const [w, h] = [image.naturalWidth, image.naturalHeight];
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.drawImage(image, 0, 0);
  const colour = overlay.good ? "#16a34a" : "#f59e0b";
  const unit = Math.max(2, Math.round(w / 200));
  ctx.lineWidth = unit;
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour;
  ctx.font = `600 ${Math.round(h / 24)}px sans-serif`;
  ctx.textBaseline = "bottom";
  for (const box of overlay.boxes) {
    const [x, y, bw, bh] = box.rect;
    ctx.strokeRect(x * w, y * h, bw * w, bh * h);
    if (box.label) ctx.fillText(box.label, x * w, y * h - unit);
  }
  if (overlay.line) {
    const [from, to] = overlay.line;
    ctx.beginPath();
    ctx.moveTo(from[0] * w, from[1] * h);
    ctx.lineTo(to[0] * w, to[1] * h);
    ctx.stroke();
    for (const end of overlay.line) {
      ctx.beginPath();
      ctx.arc(end[0] * w, end[1] * h, unit * 1.5, 0, Math.PI * 2);
      ctx.fill();
    }
  }
  for (const point of overlay.points ?? []) {
    ctx.beginPath();
    ctx.arc(point[0] * w, point[1] * h, unit * 1.4, 0, Math.PI * 2);
    ctx.fillStyle = "#38bdf8";
    ctx.fill();
    ctx.lineWidth = 1;
    ctx.strokeStyle = "#ffffff";
    ctx.stroke();
  }
  canvas.dataset.landmarks = String(overlay.points?.length ?? 0);
  const dot = unit * 3;
  overlay.dots.forEach((passed, i) => {
    ctx.beginPath();
    ctx.arc(dot * 2 + i * dot * 3, dot * 2, dot, 0, Math.PI * 2);
    ctx.fillStyle = passed ? "#16a34a" : "#dc2626";
    ctx.fill();
    ctx.lineWidth = 1;
    ctx.strokeStyle = "#ffffff";
    ctx.stroke();
  });
  let size = Math.round(h / 18);
  ctx.font = `600 ${size}px sans-serif`;
  while (size > 10 && ctx.measureText(overlay.guidance).width > w - unit * 8) {
    size--;
    ctx.font = `600 ${size}px sans-serif`;
  }
  const band = size * 2;
  ctx.fillStyle = "rgba(0, 0, 0, 0.62)";
  ctx.fillRect(0, h - band, w, band);
  ctx.fillStyle = overlay.good ? "#bbf7d0" : "#ffffff";
  ctx.textBaseline = "middle";
  ctx.fillText(overlay.guidance, unit * 4, h - band / 2);
  canvas.dataset.boxes = String(overlay.boxes.length);
  canvas.dataset.guidance = overlay.guidance;
}

function fingerGrid(fingers: FingerView[]): HTMLElement {
  return el(
    "div",
    { id: "finger-grid", class: "finger-grid" },
    ...fingers.map((f) => {
      const quality = f.quality ?? 0;
      return el(
        "figure",
        { "data-position": f.position, class: f.forced ? "forced" : quality < FINGER_THRESHOLD ? "poor" : "good" },
        el("img", { src: f.image.dataUrl, alt: fingerName(f.position) }),
        el("div", { class: "quality-bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(quality), "aria-label": t("{finger} quality", { finger: fingerName(f.position) }) }, el("span", { style: `width: ${quality}%` })),
        el("figcaption", {}, f.quality === null ? fingerName(f.position) : `${t("{finger} · quality {quality}", { finger: fingerName(f.position), quality: f.quality })}${acceptedBelow(f) ? ` · ${t("accepted below threshold")}` : ""}`),
      );
    }),
  );
}

/** MOSIP's threshold for slaps and thumbs; the station enforces it, the UI only colours by it. */
const FINGER_THRESHOLD = 40;
const MAX_FINGER_ATTEMPTS = 3;

/** Kept below the threshold because its attempts are used up (it will need a supervisor). */
function acceptedBelow(finger: FingerView): boolean {
  return finger.forced && finger.attempts >= MAX_FINGER_ATTEMPTS;
}

/** A sentence from the Rust side's advice fragment: capital first letter, a full stop. */
function sentence(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return "";
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

const SETS: { id: FingerSet; label: string; fingers: string[] }[] = [
  { id: "left_slap", label: N("Left hand"), fingers: ["left_little", "left_ring", "left_middle", "left_index"] },
  { id: "right_slap", label: N("Right hand"), fingers: ["right_index", "right_middle", "right_ring", "right_little"] },
  { id: "thumbs", label: N("Both thumbs"), fingers: ["left_thumb", "right_thumb"] },
];

/** True while the fingerprint step's live watch runs; leaving the step stops it. */
let fingersLiveRunning = false;

function stopFingersLive(capture = false): Promise<void> {
  if (!fingersLiveRunning) return Promise.resolve();
  if (!capture) fingersLiveRunning = false;
  return api.fingersLiveStop(capture).catch(() => undefined);
}

/** A set is done when each of its fingers is kept at the threshold, was accepted after the last attempt, or is declared missing. */
function setDone(set: (typeof SETS)[number], fingers: FingerView[], exceptions: ExceptionView[] = state.draft.exceptions): boolean {
  return set.fingers.every((position) => {
    if (exceptions.some((e) => e.position === position)) return true;
    const kept = fingers.find((f) => f.position === position);
    return kept !== undefined && ((kept.quality ?? 0) >= FINGER_THRESHOLD || acceptedBelow(kept));
  });
}

const FINGER_NAMES: Record<string, string> = {
  left_little: N("Left little"),
  left_ring: N("Left ring"),
  left_middle: N("Left middle"),
  left_index: N("Left index"),
  left_thumb: N("Left thumb"),
  right_thumb: N("Right thumb"),
  right_index: N("Right index"),
  right_middle: N("Right middle"),
  right_ring: N("Right ring"),
  right_little: N("Right little"),
};

const FACE_CHECK_NAMES: Record<string, string> = {
  one_face: N("One face"),
  size: N("Distance"),
  centred: N("Centred"),
  roll: N("Head straight"),
  pose: N("Facing the camera"),
  exposure: N("Lighting"),
  contrast: N("Contrast"),
  illumination: N("Even light"),
  sharpness: N("Sharp"),
  background: N("Plain background"),
};

/** Stored in English (the supervisor's queue and the server read them); shown translated. */
const EXCEPTION_REASONS = [N("Amputated"), N("Bandaged or injured"), N("Scarred or worn: no ridges to capture"), N("Other")];

/** A declared reason as the officer reads it: a chosen reason translated, typed details as typed. */
function reasonText(reason: string): string {
  const known = EXCEPTION_REASONS.find((r) => reason === r || reason.startsWith(`${r}: `));
  return known ? t(known) + reason.slice(known.length) : reason;
}

function fingerName(position: string): string {
  const name = FINGER_NAMES[position];
  return name ? t(name) : position;
}

function exceptionList(exceptions: ExceptionView[]): HTMLElement {
  return el(
    "ul",
    { id: "exception-list", class: "exceptions" },
    ...exceptions.map((e) => el("li", { "data-position": e.position }, `${fingerName(e.position)}: ${reasonText(e.reason)}`)),
  );
}

function renderFingers(): void {
  redraw = renderFingers;
  const area = el("div", {}, state.draft.fingers.length ? fingerGrid(state.draft.fingers) : el("p", { class: "muted" }, t("Each set is captured by itself once the fingers lie still on the glass.")));
  const message = el("p", { id: "fingers-error", class: "error", role: "alert" }, "");
  const title = el("h2", { id: "finger-set" }, "");
  const preview = el("div", { class: "preview platen" });
  const live = liveCanvas<FingerLiveView>("finger-live", t("Live view of the reader's glass"), fingerOverlay);
  const checklist = el("ul", { id: "finger-checks", class: "checks", "aria-live": "polite" });
  const progress = el("p", { id: "finger-progress", class: "muted" }, "");
  const setList = el("ol", { id: "finger-sets", class: "sets" });
  const next = el("button", { id: "fingers-next", class: "primary", onclick: () => void stopFingersLive().then(() => renderStep("review")) }, t("Next: review"));
  let current = SETS.find((set) => !setDone(set, state.draft.fingers)) ?? null;

  const refresh = () => {
    area.replaceChildren(fingerGrid(state.draft.fingers));
    setList.replaceChildren(
      ...SETS.map((set) =>
        el("li", { class: setDone(set, state.draft.fingers) ? "done" : set === current ? "current" : "", "data-set": set.id }, t(set.label)),
      ),
    );
    next.disabled = !SETS.every((set) => setDone(set, state.draft.fingers));
    title.textContent = current ? t("{set}: place the fingers flat on the glass", { set: t(current.label) }) : t("All fingerprints captured");
    capture.disabled = current === null;
  };
  const showFrame = (frame: FingerLiveView) => {
    if (!live.canvas.isConnected) preview.replaceChildren(live.canvas);
    live.show(frame);
    checklist.replaceChildren(
      ...frame.fingers.map((f) =>
        el("li", { class: f.state === "placed" ? "pass" : f.state === "excused" ? "excused" : "fail", "data-finger": f.position }, `${f.state === "placed" ? "✓" : f.state === "excused" ? "–" : "✗"} ${fingerName(f.position)}${f.state === "excused" ? ` (${t("declared missing")})` : ""}`),
      ),
    );
    progress.textContent = frame.advice === null ? t("Fingers in place — capturing ({streak}/{required})", { streak: frame.streak, required: frame.required }) : sentence(pick(frame.advice));
  };
  const showResult = (set: (typeof SETS)[number], result: SetView) => {
    state.draft.fingers = result.fingers;
    state.draft.exceptions = result.exceptions;
    if (result.retry) {
      const poor = result.results.filter((r) => r.retry);
      const attempt = Math.max(...poor.map((r) => r.attempts)) + 1;
      progress.textContent = `${t("{fingers} — below {threshold}.", { fingers: poor.map((r) => t("{finger} quality {quality}", { finger: fingerName(r.position), quality: r.best })).join(", "), threshold: FINGER_THRESHOLD })} ${poor[0]?.advice[0] ? sentence(pick(poor[0].advice[0])) : t("Clean the glass and the fingers, press firmly.")} ${t("Capture again (attempt {attempt} of 3).", { attempt })}`;
      capture.textContent = t("Capture again");
    } else {
      current = SETS.find((s) => !setDone(s, state.draft.fingers)) ?? null;
      progress.textContent = t("{set} captured.", { set: t(set.label) });
      capture.textContent = t("Capture now");
    }
    refresh();
  };
  // Each watch has its number: one that ends after a newer one started leaves the flag alone.
  let generation = 0;
  const watch = async () => {
    const set = current;
    if (!set) return;
    const mine = ++generation;
    message.textContent = "";
    fingersLiveRunning = true;
    // The last set's frame and checks go: what shows is this set's.
    checklist.replaceChildren();
    preview.replaceChildren(el("span", { class: "muted" }, t("Waiting for the reader…")));
    progress.textContent = t("Starting the reader…");
    // A frame still in the channel when the watch has ended must not cover its result.
    let open = true;
    try {
      const result = await api.fingersLive(set.id, (frame) => {
        if (open && mine === generation) showFrame(frame);
      });
      open = false;
      if (result) {
        showResult(set, result);
        if (!result.retry && current && fingersLiveRunning) {
          void watch();
          return;
        }
        if (!current) next.focus();
        else capture.focus();
      } else if (fingersLiveRunning) {
        progress.textContent = t("The fingers were not placed in time: capture by hand, or start again.");
      }
    } catch (e) {
      showError(message, e);
    } finally {
      open = false;
      if (mine === generation) fingersLiveRunning = false;
    }
  };
  // A finger that cannot be captured is declared with a reason; its set then goes without it.
  const exceptions = el("div", { id: "exceptions" });
  // The declared fingers, and the photo of the hand that shows them (MOSIP's exception photo).
  const drawExceptions = () => {
    if (!state.draft.exceptions.length) {
      exceptions.replaceChildren();
      return;
    }
    const photo = state.draft.exceptionPhoto;
    const take = el("button", {
      id: "exception-photo-take",
      type: "button",
      class: photo ? "" : "primary",
      onclick: async () => {
        message.textContent = "";
        take.disabled = true;
        try {
          state.draft.exceptionPhoto = await api.takeExceptionPhoto();
          drawExceptions();
          (document.getElementById("exception-photo-take") as HTMLElement | null)?.focus();
        } catch (e) {
          showError(message, e);
          take.disabled = false;
        }
      },
    }, photo ? t("Photograph the hand again") : t("Photograph the hand"));
    exceptions.replaceChildren(
      exceptionList(state.draft.exceptions),
      el(
        "div",
        { id: "exception-photo-box", class: "exception-photo-box" },
        photo
          ? el("img", { id: "exception-photo", src: photo.dataUrl, alt: t("Photo of the hand with the declared finger(s)") })
          : el("p", { class: "muted" }, t("Hold the applicant's hand in front of the camera so the missing or unusable finger shows, then take its photo: the supervisor and the server see it.")),
        take,
      ),
    );
  };
  drawExceptions();
  const exceptionFinger = el("select", { id: "exception-finger" });
  const exceptionReason = el("select", { id: "exception-reason" }, ...EXCEPTION_REASONS.map((r) => el("option", { value: r }, t(r))));
  const exceptionDetail = el("input", { id: "exception-detail", autocomplete: "off", placeholder: t("Details (optional)") });
  const exceptionForm = el(
    "form",
    { id: "exception-form", class: "exception-form", hidden: true },
    el("label", { for: "exception-finger" }, t("Finger")),
    exceptionFinger,
    el("label", { for: "exception-reason" }, t("Reason")),
    exceptionReason,
    exceptionDetail,
    el("button", { id: "exception-submit", type: "submit" }, t("Declare missing")),
  );
  exceptionForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    const detail = exceptionDetail.value.trim();
    const reason = detail ? `${exceptionReason.value}: ${detail}` : exceptionReason.value;
    try {
      const changed = await api.declareException(exceptionFinger.value as FingerView["position"], reason);
      state.draft.fingers = changed.fingers;
      state.draft.exceptions = changed.exceptions;
      drawExceptions();
      exceptionForm.hidden = true;
      const watching = fingersLiveRunning ? current : null;
      current = SETS.find((s) => !setDone(s, state.draft.fingers)) ?? null;
      refresh();
      // A running watch expects the old set of fingers: start it again without the excused one.
      if (watching) {
        await stopFingersLive();
        void watch();
      }
    } catch (e) {
      showError(message, e);
    }
  });
  const declare = el("button", {
    id: "declare-exception",
    type: "button",
    onclick: () => {
      const excused = new Set(state.draft.exceptions.map((e) => e.position));
      exceptionFinger.replaceChildren(
        ...SETS.flatMap((s) => s.fingers)
          .filter((position) => !excused.has(position as FingerView["position"]))
          .map((position) => el("option", { value: position }, fingerName(position))),
      );
      exceptionForm.hidden = !exceptionForm.hidden;
      if (!exceptionForm.hidden) exceptionFinger.focus();
    },
  }, t("Finger missing or unusable…"));
  const capture = el("button", {
    id: "capture-fingers",
    onclick: async () => {
      if (!current) return;
      message.textContent = "";
      if (fingersLiveRunning) {
        // The running watch captures the set at once and carries on with the next one.
        await stopFingersLive(true);
        return;
      }
      if (capture.textContent === t("Capture again")) {
        capture.textContent = t("Capture now");
        void watch();
        return;
      }
      const set = current;
      capture.disabled = true;
      try {
        showResult(set, await api.captureSet(set.id));
      } catch (e) {
        showError(message, e);
      } finally {
        capture.disabled = current === null;
      }
    },
  }, t("Capture now"));
  refresh();
  wizard(
    "fingers",
    el("h1", {}, t("Fingerprints")),
    el("p", { class: "muted" }, t("Reader: {reader}. Left hand, right hand, then both thumbs; each set is captured by itself.", { reader: state.status?.scanner ?? "—" })),
    setList,
    title,
    el("div", { class: "face-step" }, preview, el("div", {}, checklist, progress)),
    area,
    exceptions,
    exceptionForm,
    message,
    el("div", { class: "actions" }, el("button", { id: "fingers-back", onclick: () => void stopFingersLive().then(() => renderStep("face")) }, t("Back")), capture, declare, next),
  );
  if (current) {
    capture.focus();
    void watch();
  } else {
    next.focus();
  }
}

/** What the officer chose, as shown in the form (the option's label for a choice). */
function choiceText(field: FieldDef, value: string): string {
  return field.kind.type === "choice" ? pick(field.kind.options.find((o) => o.value === value)?.label ?? { en: value, id: value }) : value;
}

function renderReview(): void {
  redraw = renderReview;
  const { form, face, fingers } = state.draft;
  const message = el("p", { id: "submit-error", class: "error", role: "alert" }, "");
  const details = el(
    "dl",
    { id: "review-details", class: "review" },
    ...(currentForm()?.fields ?? [])
      .filter((f) => fieldValue(form, f.name))
      .flatMap((f) => [el("dt", {}, pick(f.label)), el("dd", { "data-field": f.name }, choiceText(f, fieldValue(form, f.name)))]),
  );
  const consent = el("input", { id: "consent", type: "checkbox" });
  const submit = el("button", {
    id: "submit-enrollment",
    class: "primary",
    disabled: true,
    onclick: async () => {
      message.textContent = "";
      submit.disabled = true;
      try {
        const receipt = await api.submitEnrollment(form, consent.checked);
        state.draft = emptyDraft();
        renderReceipt(receipt);
        toast(t("Enrollment {id} sealed and queued for upload.", { id: receipt.id.slice(0, 8) }));
      } catch (e) {
        const error = asCommandError(e);
        if (sessionEnded(error)) return;
        message.textContent = error.fields.length
          ? `${error.message}: ${error.fields.map((f) => pick(f.message)).join(" ")}`
          : errorText(error);
        submit.disabled = !consent.checked;
      }
    },
  }, t("Seal and submit"));
  consent.addEventListener("change", () => (submit.disabled = !consent.checked));
  wizard(
    "review",
    el("h1", {}, t("Review")),
    el(
      "div",
      { class: "review-layout" },
      face ? el("img", { id: "review-face", class: "review-face", src: face.dataUrl, alt: t("Face photo") }) : el("span", {}, t("No photo")),
      details,
    ),
    fingerGrid(fingers),
    state.draft.exceptions.length
      ? el(
          "div",
          { id: "review-exceptions" },
          el("h2", {}, t("Declared missing or unusable")),
          exceptionList(state.draft.exceptions),
          state.draft.exceptionPhoto ? el("img", { id: "review-exception-photo", class: "exception-photo", src: state.draft.exceptionPhoto.dataUrl, alt: t("Photo of the hand with the declared finger(s)") }) : null,
          el("p", { class: "muted" }, t("This enrollment will wait for a supervisor's approval before it is sent.")),
        )
      : document.createTextNode(""),
    el(
      "label",
      { class: "consent", for: "consent" },
      consent,
      ` ${t("The applicant has read the privacy notice and agrees that these details, the photo and the fingerprints are used for this application.")}`,
    ),
    message,
    el("div", { class: "actions" }, el("button", { id: "review-back", onclick: () => renderStep("fingers") }, t("Back")), submit),
  );
  consent.focus();
}

// ---------- Receipt ----------

function renderReceipt(receipt: ReceiptView): void {
  redraw = () => renderReceipt(receipt);
  stopPolling();
  const saved = el("p", { id: "receipt-saved", class: "muted", role: "status" }, "");
  const qr = el("img", { id: "receipt-qr", class: "receipt-qr", alt: t("QR code of the enrollment number"), src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(receipt.qrSvg)}` });
  const rows: [string, string][] = [
    [t("Enrollment number"), receipt.id],
    [t("Name"), receipt.fullName],
    [t("Document"), receipt.documentNumber],
    [t("Enrolled"), new Date(receipt.createdAt).toLocaleString(lang() === "id" ? "id-ID" : "en-GB")],
    [t("Station"), receipt.stationName],
  ];
  const fingers = el(
    "table",
    { id: "receipt-fingers", class: "receipt-fingers" },
    el("tbody", {}, ...receipt.fingers.map((f) =>
      el(
        "tr",
        { "data-position": f.position },
        el("td", {}, fingerName(f.position)),
        el(
          "td",
          {},
          f.exception !== null
            ? t("Missing: {reason}", { reason: reasonText(f.exception) })
            : f.quality !== null
              ? el("span", { class: "quality-bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(f.quality), "aria-label": t("{finger} quality", { finger: fingerName(f.position) }) }, el("span", { style: `width: ${f.quality}%` }))
              : "—",
          f.quality !== null ? ` ${f.quality}` : "",
        ),
      ),
    )),
  );
  const pdf = el("button", {
    id: "receipt-pdf",
    onclick: async () => {
      saved.textContent = "";
      try {
        const path = await api.saveReceiptPdf(lang());
        saved.textContent = t("PDF saved: {path}", { path });
      } catch (e) {
        showError(saved, e);
      }
    },
  }, t("Save as PDF"));
  const done = el("button", { id: "receipt-done", class: "primary", onclick: () => renderHome() }, t("Done: back to enrollments"));
  mount(
    root,
    header(),
    el(
      "main",
      {},
      el(
        "section",
        { id: "receipt", class: "card receipt" },
        el("h1", {}, t("Enrollment receipt")),
        el("p", { id: "receipt-application", class: "muted" }, pick(receipt.application)),
        el(
          "div",
          { class: "receipt-layout" },
          el("dl", { class: "review" }, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { id: k === t("Enrollment number") ? "receipt-id" : undefined }, v)])),
          el("div", { class: "receipt-images" }, el("img", { id: "receipt-photo", src: receipt.photo, alt: t("Face photo") }), qr),
        ),
        el("h2", {}, t("Fingerprints")),
        fingers,
        receipt.needsApproval ? el("p", { id: "receipt-approval" }, t("This enrollment will wait for a supervisor's approval before it is sent.")) : null,
        el("p", { id: "receipt-tracking" }, pick(receipt.tracking)),
        el("div", { class: "actions no-print" }, el("button", { id: "receipt-print", onclick: () => window.print() }, t("Print")), pdf, done),
        saved,
      ),
    ),
  );
  done.focus();
}

// ---------- Start ----------

async function start(): Promise<void> {
  try {
    state.status = await api.stationStatus();
  } catch (e) {
    state.status = null;
    toast(errorText(asCommandError(e)));
  }
  if (state.status?.setupNeeded) renderSetup();
  else if (state.status?.locked) renderUnlock();
  else renderLogin();
}

void start();
