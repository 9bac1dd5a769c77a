// The enrollment list, where officers and supervisors start: what was enrolled and where it is
// on its way to the server, the outbox, and the buttons that start or resume an enrollment.
import { api, EnrollmentView, SyncStatus } from "../api";
import { go, leaveScreen, pollWhileShown, session, setRedraw } from "../app";
import { draftOf } from "../draft";
import { el } from "../dom";
import { pick, t } from "../i18n";
import { startStatusBar } from "../statusbar";
import { dateTime, screen, showError, toastError } from "../widgets";

/** The list's filters: what an officer looks for. */
type ListFilter = "all" | "pending" | "held" | "accepted" | "rejected";

interface ListView {
  body: HTMLElement;
  summary: HTMLElement;
  line: HTMLElement;
  outbox: HTMLElement;
  search: HTMLInputElement;
  filter: HTMLSelectElement;
  items: EnrollmentView[];
}

export function renderHome(): void {
  leaveScreen();
  setRedraw(renderHome);
  startStatusBar();
  const body = el("tbody", {});
  const search = el("input", { id: "list-search", type: "search", autocomplete: "off", placeholder: t("Search by name or document number"), "aria-label": t("Search") });
  const filter = listFilter();
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
  screen(t("Enrollments"), listActions(view, refresh), view.line, view.outbox, el("div", { class: "actions list-tools" }, search, filter), table);
  void refresh();
  pollWhileShown(() => void refresh(), 1000);
  (document.querySelector("#resume-enrollment, #new-enrollment") as HTMLButtonElement).focus();
}

function listFilter(): HTMLSelectElement {
  return el(
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
}

/** The buttons above the list, and the upload summary after them. */
function listActions(view: ListView, refresh: () => Promise<void>): HTMLElement {
  return el(
    "div",
    { class: "actions" },
    session.officer?.hasDraft ? el("button", { id: "resume-enrollment", class: "primary", onclick: () => void resumeEnrollment() }, t("Resume enrollment")) : null,
    el("button", { id: "new-enrollment", class: session.officer?.hasDraft ? "" : "primary", onclick: () => void startEnrollment() }, t("New enrollment")),
    session.officer?.role === "supervisor" ? el("button", { id: "open-approvals", onclick: () => go.approvals() }, t("Approvals")) : null,
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
}

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
    el("td", {}, dateTime(item.createdAt)),
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

async function resumeEnrollment(): Promise<void> {
  try {
    session.forms = await api.listForms();
    const saved = await api.resumeEnrollment();
    session.draft = draftOf(saved);
    if (session.officer) session.officer.hasDraft = false;
    go.step("applicant");
  } catch (e) {
    toastError(e);
  }
}

async function startEnrollment(): Promise<void> {
  try {
    session.forms = await api.listForms();
    session.draft = draftOf(await api.startEnrollment());
    if (session.officer) session.officer.hasDraft = false;
    go.step("applicant");
  } catch (e) {
    toastError(e);
  }
}
