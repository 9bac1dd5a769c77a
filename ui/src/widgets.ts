// Pieces every screen uses: the top bar and the screen frame, labelled inputs, the toast, and
// how a command's error is shown.
import { asCommandError, CommandError } from "./api";
import { go, redraw, root, session } from "./app";
import { el, mount } from "./dom";
import { emptyDraft } from "./draft";
import { Lang, lang, setLang, t } from "./i18n";
import { DEVICE_ERROR_TEXTS, ERROR_TEXTS, ROLES, SESSION_ENDED_CODES } from "./rules";
import { refreshStatusBar } from "./statusbar";

export function toast(message: string): void {
  const existing = document.getElementById("toast");
  existing?.remove();
  const node = el("div", { id: "toast", role: "status" }, message);
  document.body.append(node);
  window.setTimeout(() => node.remove(), 5000);
}

export function roleName(role: string): string {
  const known = ROLES.find((r) => r.value === role);
  return known ? t(known.label) : role;
}

/** A command's error as the officer reads it: translated when its text is fixed. */
export function errorText(error: CommandError): string {
  const known = ERROR_TEXTS[error.code];
  if (known) return t(known);
  const device = DEVICE_ERROR_TEXTS[error.code];
  return device && lang() === "id" ? `${t(device)} (${error.message})` : error.message;
}

/** A sentence from the Rust side's advice fragment: capital first letter, a full stop. */
export function sentence(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return "";
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** A date and time as the officer's language writes it. */
export function dateTime(rfc3339: string): string {
  return new Date(rfc3339).toLocaleString(lang() === "id" ? "id-ID" : "en-GB");
}

export function header(): HTMLElement {
  const status = session.status;
  const other: Lang = lang() === "en" ? "id" : "en";
  return el(
    "header",
    { class: "topbar" },
    el("div", { class: "brand" }, t("Enrollment Station")),
    el("div", { class: "station" }, status?.stationName ?? t("Not provisioned")),
    el(
      "div",
      { class: "who" },
      session.officer ? el("span", {}, `${session.officer.displayName} · ${roleName(session.officer.role)}`) : null,
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
      session.officer ? el("button", { id: "logout", class: "link", onclick: () => void go.logout() }, t("Log out")) : null,
    ),
  );
}

/** A whole screen: the top bar, the station's problem if any, one card titled `title`. */
export function screen(title: string, ...content: Node[]): void {
  mount(root, header(), el("main", {}, problemBanner() ?? "", el("section", { class: "card" }, el("h1", {}, title), ...content)));
}

export function problemBanner(): HTMLElement | null {
  const problem = session.status?.problem;
  return problem ? el("div", { id: "station-banner", class: "banner error", role: "alert" }, problem) : null;
}

/** When a command says the session is over (idle logout), go back to login and say why. */
export function sessionEnded(error: CommandError): boolean {
  if (!SESSION_ENDED_CODES.includes(error.code)) return false;
  session.officer = null;
  session.draft = emptyDraft();
  go.login(error.message);
  return true;
}

/** Shows a command's error in `target`, unless it ended the session. */
export function showError(target: HTMLElement, e: unknown): void {
  const error = asCommandError(e);
  if (!sessionEnded(error)) target.textContent = errorText(error);
}

/** Shows a command's error as a toast, unless it ended the session. */
export function toastError(e: unknown): void {
  const error = asCommandError(e);
  if (!sessionEnded(error)) toast(errorText(error));
}

/** A labelled input in a `.grid-form`. */
export function field(label: string, input: HTMLElement, hint = ""): HTMLElement {
  return el("div", { class: "field" }, el("label", { for: input.id }, label), input, hint ? el("span", { class: "hint" }, hint) : null);
}

/** Whether a secret typed twice differs; if it does, says `message` in `error` and puts the cursor in the second. */
export function typedTwiceDiffers(first: HTMLInputElement, second: HTMLInputElement, error: HTMLElement, message: string): boolean {
  if (first.value === second.value) return false;
  error.textContent = message;
  second.focus();
  return true;
}

export function textInput(id: string, attrs: Record<string, string | boolean> = {}): HTMLInputElement {
  return el("input", { id, name: id, autocomplete: "off", ...attrs });
}
