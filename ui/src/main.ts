import "./style.css";
import { api, asCommandError, CommandError, Demographics, Drill, EnrollmentView, ExceptionView, FaceLiveView, FingerLiveView, FingerSet, FingerView, ImageView, Officer, ReportFormat, Section, SetView, StationStatus, SyncStatus } from "./api";
import { el, mount } from "./dom";

const root = document.getElementById("app") as HTMLElement;

type Step = "applicant" | "face" | "fingers" | "review";
const STEPS: { id: Step; label: string }[] = [
  { id: "applicant", label: "Applicant" },
  { id: "face", label: "Face" },
  { id: "fingers", label: "Fingerprints" },
  { id: "review", label: "Review" },
];

const FIELDS: { name: keyof Demographics; label: string; hint: string }[] = [
  { name: "full_name", label: "Full name", hint: "As on the civil record" },
  { name: "date_of_birth", label: "Date of birth", hint: "YYYY-MM-DD" },
  { name: "sex", label: "Sex", hint: "" },
  { name: "nationality", label: "Nationality", hint: "Three-letter code, e.g. IDN" },
  { name: "document_number", label: "Document number", hint: "Passport, visa or ID number" },
];

interface Draft {
  form: Demographics;
  face: ImageView | null;
  fingers: FingerView[];
  exceptions: ExceptionView[];
}

const state: {
  status: StationStatus | null;
  officer: Officer | null;
  draft: Draft;
  pollTimer: number | undefined;
} = {
  status: null,
  officer: null,
  draft: emptyDraft(),
  pollTimer: undefined,
};

function emptyDraft(): Draft {
  return {
    form: { full_name: "", date_of_birth: "", sex: "", nationality: "", document_number: "" },
    face: null,
    fingers: [],
    exceptions: [],
  };
}

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

function header(): HTMLElement {
  const status = state.status;
  return el(
    "header",
    { class: "topbar" },
    el("div", { class: "brand" }, "Enrollment Station"),
    el("div", { class: "station" }, status?.stationName ?? "Not provisioned"),
    state.officer
      ? el(
          "div",
          { class: "who" },
          el("span", {}, `${state.officer.displayName} · ${state.officer.role}`),
          el("button", { id: "logout", class: "link", onclick: () => void logout() }, "Log out"),
        )
      : null,
  );
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
  if (!sessionEnded(error)) target.textContent = error.message;
}

// ---------- Unlock ----------

function renderUnlock(): void {
  stopPolling();
  const error = el("p", { id: "unlock-error", class: "error", role: "alert" }, "");
  const passphrase = el("input", {
    id: "unlock-passphrase",
    name: "passphrase",
    type: "password",
    autocomplete: "off",
    required: true,
  });
  const button = el("button", { id: "unlock-submit", type: "submit", class: "primary" }, "Unlock");
  const form = el(
    "form",
    { id: "unlock-form", class: "card narrow" },
    el("h1", {}, "Unlock this station"),
    el("p", { class: "muted" }, "The station's data is encrypted. Enter the station passphrase set when it was provisioned."),
    el("label", { for: "unlock-passphrase" }, "Station passphrase"),
    passphrase,
    error,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    button.disabled = true;
    button.textContent = "Unlocking…";
    try {
      state.status = await api.unlockStation(passphrase.value);
      renderLogin();
    } catch (e) {
      error.textContent = asCommandError(e).message;
      passphrase.value = "";
      button.disabled = false;
      button.textContent = "Unlock";
      passphrase.focus();
    }
  });
  mount(root, header(), el("main", {}, problemBanner() ?? "", form));
  passphrase.focus();
}

// ---------- Login ----------

function renderLogin(message = ""): void {
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
    el("h1", {}, "Officer login"),
    el("label", { for: "login-username" }, "Username"),
    username,
    el("label", { for: "login-password" }, "Password"),
    password,
    error,
    el("button", { id: "login-submit", type: "submit", class: "primary" }, "Log in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      state.officer = await api.login(username.value, password.value);
      renderStart();
    } catch (e) {
      error.textContent = asCommandError(e).message;
      password.value = "";
      password.focus();
    }
  });
  mount(root, header(), el("main", {}, problemBanner() ?? "", form));
  username.focus();
}

async function logout(): Promise<void> {
  await stopFaceLive();
  await stopFingersLive();
  await api.logout();
  state.officer = null;
  state.draft = emptyDraft();
  renderLogin();
}

// ---------- Enrollment list ----------

const STATE_LABELS: Record<string, string> = {
  pending: "Waiting to upload",
  accepted: "Accepted by server",
  rejected: "Rejected",
};

const APPROVAL_LABELS: Record<string, string> = {
  awaiting: "Waiting for supervisor approval",
  refused: "Refused by supervisor",
};

function enrollmentRow(item: EnrollmentView): HTMLElement {
  const held = item.state === "pending" && item.approval !== null && item.approval !== "approved";
  const label = held ? APPROVAL_LABELS[item.approval ?? ""] : (STATE_LABELS[item.state] ?? item.state);
  const detail = held
    ? item.approvalNote
    : item.state === "rejected"
      ? item.serverReason
      : item.state === "pending"
        ? item.lastError
        : null;
  return el(
    "tr",
    { "data-id": item.id, "data-state": item.state },
    el("td", {}, item.applicantName),
    el("td", {}, item.documentNumber),
    el("td", {}, new Date(item.createdAt).toLocaleString()),
    el(
      "td",
      {},
      el("span", { class: `status-badge ${held ? `approval-${item.approval}` : item.state}` }, label),
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
  toggle.textContent = status.phase === "paused" ? "Resume sending" : "Pause sending";
  toggle.dataset.paused = String(status.phase === "paused");
  const parts: string[] = [];
  if (status.phase === "paused") parts.push("Sending is paused.");
  if (status.phase === "sending" && status.current) {
    const [, held, size] = status.current;
    parts.push(`Sending: ${kib(held)} of ${kib(size)}; ${status.backlogPackets} waiting (${kib(status.backlogBytes)}).`);
  }
  if (status.message) parts.push(status.message);
  if (status.phase === "retrying" && status.retryInMs !== null) {
    parts.push(`Next attempt in ${Math.max(1, Math.round(status.retryInMs / 1000))} s.`);
  }
  line.textContent = parts.join(" ");
  line.dataset.problem = status.problem?.kind ?? "";
  line.title = status.problem?.detail ?? "";
  line.className = status.problem ? "sync-status problem" : "sync-status muted";
}

async function refreshList(body: HTMLElement, summary: HTMLElement): Promise<void> {
  try {
    const line = document.getElementById("sync-status");
    const toggle = document.getElementById("sync-toggle") as HTMLButtonElement | null;
    if (line && toggle) showSync(line, toggle, await api.syncStatus());
    const items = await api.listEnrollments();
    body.replaceChildren(
      ...(items.length
        ? items.map(enrollmentRow)
        : [el("tr", {}, el("td", { colspan: "4", class: "empty" }, "No enrollments yet."))]),
    );
    const pending = items.filter((i) => i.state === "pending").length;
    summary.textContent = pending ? `${pending} waiting to upload` : "Everything is uploaded";
  } catch (e) {
    showError(summary, e);
  }
}

/** Where a role starts: technicians at the self-test, everyone else at the enrollment list. */
function renderStart(): void {
  if (state.officer?.role === "technician") renderSelfTest();
  else renderHome();
}

// ---------- Supervisor: approvals ----------

function renderApprovals(): void {
  stopPolling();
  const body = el("tbody", {});
  const message = el("p", { id: "approvals-error", class: "error", role: "alert" }, "");
  const load = async () => {
    try {
      const held = await api.listApprovals();
      body.replaceChildren(
        ...(held.length
          ? held.map((item) => {
              const comment = el("input", { class: "comment", autocomplete: "off", placeholder: "Comment (needed to refuse)", "aria-label": "Comment" });
              const decide = (approve: boolean) => async () => {
                message.textContent = "";
                try {
                  await api.decideApproval(item.id, approve, comment.value);
                  toast(approve ? "Approved: it will be sent." : "Refused: it will not be sent.");
                  await load();
                } catch (e) {
                  showError(message, e);
                }
              };
              const why = [
                ...item.exceptions.map((e) => `${e.label} missing: ${e.reason}`),
                ...(item.forceCaptured ? [`${item.forceCaptured} capture(s) kept below the quality checks`] : []),
              ];
              return el(
                "tr",
                { "data-id": item.id },
                el("td", {}, new Date(item.createdAt).toLocaleString()),
                el("td", {}, item.officer),
                el("td", {}, el("ul", { class: "reasons" }, ...why.map((w) => el("li", {}, w)))),
                el(
                  "td",
                  {},
                  comment,
                  el("div", { class: "actions" }, el("button", { class: "approve primary", onclick: decide(true) }, "Approve"), el("button", { class: "refuse", onclick: decide(false) }, "Refuse")),
                ),
              );
            })
          : [el("tr", {}, el("td", { colspan: "4", class: "empty" }, "Nothing waits for approval."))]),
      );
    } catch (e) {
      showError(message, e);
    }
  };
  mount(
    root,
    header(),
    el(
      "main",
      {},
      el(
        "section",
        { class: "card" },
        el("h1", {}, "Waiting for approval"),
        el("p", { class: "muted" }, "Enrollments with a missing finger or a capture kept below the quality checks leave the station only once a supervisor approves them."),
        el("table", { id: "approval-list" }, el("thead", {}, el("tr", {}, el("th", {}, "Enrolled"), el("th", {}, "Officer"), el("th", {}, "Why it waits"), el("th", {}, "Decision"))), body),
        message,
        el("div", { class: "actions" }, el("button", { id: "approvals-back", onclick: () => renderHome() }, "Back to enrollments")),
      ),
    ),
  );
  void load();
}

// ---------- Technician: self-test ----------

const SECTIONS: { key: string; label: string }[] = [
  { key: "station", label: "Station: storage, keys, audit log" },
  { key: "camera", label: "Camera" },
  { key: "reader", label: "Fingerprint reader" },
  { key: "server", label: "Server link" },
];

const DRILLS: { value: Drill | ""; label: string }[] = [
  { value: "", label: "No drill: test the devices as they are" },
  { value: "camera-black", label: "Camera delivers black frames" },
  { value: "camera-freeze", label: "Camera picture freezes" },
  { value: "camera-unplugged", label: "Camera unplugged" },
  { value: "reader-residue", label: "Latent print left on the reader" },
  { value: "reader-unplugged", label: "Reader unplugged" },
];

function sectionBlock(key: string, label: string, section: Section | null, running: boolean): HTMLElement {
  const verdict = section ? section.verdict : running ? "running" : "waiting";
  const word = section ? (section.verdict === "pass" ? "Pass" : section.verdict === "warn" ? "Warning" : "Fail") : running ? "Running…" : "Waiting";
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
  stopPolling();
  const results = el("div", { id: "selftest-results", "aria-live": "polite" });
  const verdict = el("p", { id: "selftest-verdict", class: "muted" }, "Run the self-test to check this station before the day's work.");
  const message = el("p", { id: "selftest-error", class: "error", role: "alert" }, "");
  const exported = el("p", { id: "selftest-exported", class: "muted" }, "");
  const drill = el("select", { id: "selftest-drill" }, ...DRILLS.map((d) => el("option", { value: d.value }, d.label)));
  const sections = new Map<string, Section | null>(SECTIONS.map((s) => [s.key, null]));
  let running: string | null = null;
  const draw = () =>
    results.replaceChildren(...SECTIONS.map((s) => sectionBlock(s.key, s.label, sections.get(s.key) ?? null, running === s.key)));
  const exportAs = (format: ReportFormat) => async () => {
    message.textContent = "";
    try {
      const path = await api.exportSelftest(format);
      exported.textContent = `Report saved: ${path}`;
    } catch (e) {
      showError(message, e);
    }
  };
  const exportJson = el("button", { id: "selftest-export-json", disabled: true, onclick: exportAs("json") }, "Export JSON");
  const exportHtml = el("button", { id: "selftest-export-html", disabled: true, onclick: exportAs("html") }, "Export printable report");
  const run = el("button", {
    id: "selftest-run",
    class: "primary",
    onclick: async () => {
      message.textContent = "";
      exported.textContent = "";
      run.disabled = true;
      SECTIONS.forEach((s) => sections.set(s.key, null));
      verdict.textContent = "Testing…";
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
          report.verdict === "pass" ? "Everything works." : report.verdict === "warn" ? "Works, with warnings: see below." : "Something does not work: see the failed checks below.";
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
  }, "Run self-test");
  draw();
  mount(
    root,
    header(),
    el(
      "main",
      {},
      problemBanner() ?? "",
      el(
        "section",
        { class: "card" },
        el("h1", {}, "Station self-test"),
        el("p", { class: "muted" }, "Checks the station's storage, keys and audit log, the camera, the fingerprint reader and the link to the central server."),
        el("div", { class: "field" }, el("label", { for: "selftest-drill" }, "Practice drill (simulated devices only)"), drill),
        el("div", { class: "actions" }, run, exportJson, exportHtml),
        verdict,
        message,
        results,
        exported,
      ),
    ),
  );
  run.focus();
}

function renderHome(): void {
  stopPolling();
  const body = el("tbody", {});
  const summary = el("span", { id: "outbox-summary", class: "muted" }, "");
  const table = el(
    "table",
    { id: "enrollment-list" },
    el(
      "thead",
      {},
      el("tr", {}, el("th", {}, "Applicant"), el("th", {}, "Document"), el("th", {}, "Enrolled"), el("th", {}, "Status")),
    ),
    body,
  );
  const actions = el(
    "div",
    { class: "actions" },
    state.officer?.hasDraft
      ? el("button", { id: "resume-enrollment", class: "primary", onclick: () => void resumeEnrollment() }, "Resume enrollment")
      : null,
    el("button", { id: "new-enrollment", class: state.officer?.hasDraft ? "" : "primary", onclick: () => void startEnrollment() }, "New enrollment"),
    state.officer?.role === "supervisor" ? el("button", { id: "open-approvals", onclick: () => renderApprovals() }, "Approvals") : null,
    el("button", { id: "sync-now", onclick: () => void api.syncNow().then(() => refreshList(body, summary), (e) => showError(summary, e)) }, "Sync now"),
    el(
      "button",
      {
        id: "sync-toggle",
        onclick: (event: Event) => {
          const paused = (event.currentTarget as HTMLElement).dataset.paused === "true";
          void (paused ? api.resumeSync() : api.pauseSync()).then(() => refreshList(body, summary), (e) => showError(summary, e));
        },
      },
      "Pause sending",
    ),
    summary,
  );
  mount(root, header(), el("main", {}, problemBanner() ?? "", el("section", { class: "card" }, el("h1", {}, "Enrollments"), actions, el("p", { id: "sync-status", class: "sync-status muted", role: "status" }, ""), table)));
  void refreshList(body, summary);
  state.pollTimer = window.setInterval(() => void refreshList(body, summary), 1500);
  (document.querySelector("#resume-enrollment, #new-enrollment") as HTMLButtonElement).focus();
}

async function resumeEnrollment(): Promise<void> {
  try {
    const saved = await api.resumeEnrollment();
    state.draft = { form: saved.form, face: saved.face, fingers: saved.fingers, exceptions: saved.exceptions };
    if (state.officer) state.officer.hasDraft = false;
    renderStep("applicant");
  } catch (e) {
    const error = asCommandError(e);
    if (!sessionEnded(error)) toast(error.message);
  }
}

async function startEnrollment(): Promise<void> {
  try {
    await api.startEnrollment();
    state.draft = emptyDraft();
    if (state.officer) state.officer.hasDraft = false;
    renderStep("applicant");
  } catch (e) {
    const error = asCommandError(e);
    if (!sessionEnded(error)) toast(error.message);
  }
}

// ---------- Wizard ----------

function stepIndicator(current: Step): HTMLElement {
  const index = STEPS.findIndex((s) => s.id === current);
  return el(
    "ol",
    { class: "steps", "aria-label": "Enrollment steps" },
    ...STEPS.map((step, i) =>
      el(
        "li",
        { class: i < index ? "done" : i === index ? "current" : "", "aria-current": i === index ? "step" : undefined },
        `${i + 1}. ${step.label}`,
      ),
    ),
  );
}

function wizard(step: Step, ...content: Node[]): void {
  stopPolling();
  const cancel = el("button", { id: "cancel-enrollment", class: "link", type: "button", onclick: () => renderHome() }, "Cancel");
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

function fieldInput(name: keyof Demographics, value: string): HTMLInputElement | HTMLSelectElement {
  if (name === "sex") {
    const select = el(
      "select",
      { id: `field-${name}`, name },
      el("option", { value: "" }, "Choose…"),
      el("option", { value: "F" }, "F — female"),
      el("option", { value: "M" }, "M — male"),
      el("option", { value: "X" }, "X — unspecified"),
    );
    select.value = value;
    return select;
  }
  const input = el("input", { id: `field-${name}`, name, autocomplete: "off" });
  input.value = value;
  return input;
}

function renderApplicant(): void {
  const inputs = new Map<keyof Demographics, HTMLInputElement | HTMLSelectElement>();
  const errors = new Map<string, HTMLElement>();
  const form = el("form", { id: "form-applicant", class: "grid-form", novalidate: true });
  for (const field of FIELDS) {
    const input = fieldInput(field.name, state.draft.form[field.name]);
    const error = el("span", { id: `error-${field.name}`, class: "error", role: "alert" }, "");
    inputs.set(field.name, input);
    errors.set(field.name, error);
    form.append(
      el(
        "div",
        { class: "field" },
        el("label", { for: input.id }, field.label),
        input,
        field.hint ? el("span", { class: "hint" }, field.hint) : null,
        error,
      ),
    );
  }
  form.append(el("div", { class: "actions" }, el("button", { id: "form-next", type: "submit", class: "primary" }, "Next: face")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const field of FIELDS) state.draft.form[field.name] = inputs.get(field.name)?.value ?? "";
    try {
      await api.saveForm(state.draft.form);
    } catch (e) {
      const error = asCommandError(e);
      if (!sessionEnded(error)) toast(error.message);
      return;
    }
    const problems = await api.validateForm(state.draft.form);
    errors.forEach((node) => (node.textContent = ""));
    for (const problem of problems) {
      const node = errors.get(problem.field);
      if (node) node.textContent = problem.message;
    }
    if (problems.length === 0) {
      renderStep("face");
    } else {
      inputs.get(problems[0].field as keyof Demographics)?.focus();
    }
  });
  wizard("applicant", el("h1", {}, "Applicant details"), form);
  inputs.get("full_name")?.focus();
}

function renderFace(): void {
  const preview = el("div", { class: "preview face" });
  const checklist = el("ul", { id: "face-checks", class: "checks", "aria-live": "polite" });
  const progress = el("p", { id: "face-progress", class: "muted" }, "");
  const message = el("p", { id: "face-error", class: "error", role: "alert" }, "");
  const next = el("button", { id: "face-next", class: "primary", disabled: !state.draft.face, onclick: () => void stopFaceLive().then(() => renderStep("fingers")) }, "Next: fingerprints");
  const showFace = (face: ImageView) => {
    // The checklist keeps the last live frame's results: why the photo was taken.
    preview.replaceChildren(el("img", { id: "face-preview", src: face.dataUrl, alt: "Captured face photo" }));
    progress.textContent = "Photo taken.";
    next.disabled = false;
    next.focus();
  };
  const live = el("img", { id: "face-live", alt: "Live camera view" });
  const showFrame = (frame: FaceLiveView) => {
    if (!live.isConnected) preview.replaceChildren(live);
    live.src = frame.preview;
    checklist.replaceChildren(
      ...frame.checks.map((c) =>
        el("li", { class: c.passed ? "pass" : "fail", "data-check": c.check }, `${c.passed ? "✓" : "✗"} ${c.label}${c.advice ? ` — ${c.advice}` : ""}`),
      ),
    );
    const failing = frame.checks.filter((c) => !c.passed).length;
    progress.textContent = failing === 0 ? `All checks pass — taking the photo (${frame.streak}/${frame.required})` : `${failing} check(s) to fix`;
  };
  const startLive = async () => {
    message.textContent = "";
    faceLiveRunning = true;
    progress.textContent = "Starting the camera…";
    try {
      const taken = await api.faceLive(showFrame);
      if (taken) {
        state.draft.face = taken;
        showFace(taken);
        capture.textContent = "Retake photo";
      } else if (faceLiveRunning) {
        progress.textContent = "No good photo yet: fix the checks, or take the photo by hand.";
      }
    } catch (e) {
      showError(message, e);
    } finally {
      faceLiveRunning = false;
    }
  };
  if (state.draft.face) showFace(state.draft.face);
  else preview.append(el("span", { class: "muted" }, "Ask the applicant to look straight at the camera."));
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
  }, state.draft.face ? "Retake photo" : "Take photo now");
  wizard(
    "face",
    el("h1", {}, "Face photo"),
    el("p", { class: "muted" }, `Camera: ${state.status?.camera ?? "unknown"}. The photo is taken by itself when every check passes.`),
    el("div", { class: "face-step" }, preview, el("div", {}, checklist, progress)),
    message,
    el("div", { class: "actions" }, el("button", { id: "face-back", onclick: () => void stopFaceLive().then(() => renderStep("applicant")) }, "Back"), capture, next),
  );
  capture.focus();
  if (!state.draft.face) void startLive();
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
        el("img", { src: f.image.dataUrl, alt: f.label }),
        el("div", { class: "quality-bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(quality), "aria-label": `${f.label} quality` }, el("span", { style: `width: ${quality}%` })),
        el("figcaption", {}, f.quality === null ? f.label : `${f.label} · quality ${f.quality}${f.forced ? " · accepted below threshold" : ""}`),
      );
    }),
  );
}

/** MOSIP's threshold for slaps and thumbs; the station enforces it, the UI only colours by it. */
const FINGER_THRESHOLD = 40;

const SETS: { id: FingerSet; label: string; fingers: string[] }[] = [
  { id: "left_slap", label: "Left hand", fingers: ["left_little", "left_ring", "left_middle", "left_index"] },
  { id: "right_slap", label: "Right hand", fingers: ["right_index", "right_middle", "right_ring", "right_little"] },
  { id: "thumbs", label: "Both thumbs", fingers: ["left_thumb", "right_thumb"] },
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
    return kept !== undefined && ((kept.quality ?? 0) >= FINGER_THRESHOLD || kept.forced);
  });
}

const FINGER_NAMES: Record<string, string> = {
  left_little: "Left little",
  left_ring: "Left ring",
  left_middle: "Left middle",
  left_index: "Left index",
  left_thumb: "Left thumb",
  right_thumb: "Right thumb",
  right_index: "Right index",
  right_middle: "Right middle",
  right_ring: "Right ring",
  right_little: "Right little",
};

const EXCEPTION_REASONS = ["Amputated", "Bandaged or injured", "Scarred or worn: no ridges to capture", "Other"];

function exceptionList(exceptions: ExceptionView[]): HTMLElement {
  return el(
    "ul",
    { id: "exception-list", class: "exceptions" },
    ...exceptions.map((e) => el("li", { "data-position": e.position }, `${e.label}: ${e.reason}`)),
  );
}

function renderFingers(): void {
  const area = el("div", {}, state.draft.fingers.length ? fingerGrid(state.draft.fingers) : el("p", { class: "muted" }, "Each set is captured by itself once the fingers lie still on the glass."));
  const message = el("p", { id: "fingers-error", class: "error", role: "alert" }, "");
  const title = el("h2", { id: "finger-set" }, "");
  const preview = el("div", { class: "preview platen" });
  const live = el("img", { id: "finger-live", alt: "Live view of the reader's glass" });
  const checklist = el("ul", { id: "finger-checks", class: "checks", "aria-live": "polite" });
  const progress = el("p", { id: "finger-progress", class: "muted" }, "");
  const setList = el("ol", { id: "finger-sets", class: "sets" });
  const next = el("button", { id: "fingers-next", class: "primary", onclick: () => void stopFingersLive().then(() => renderStep("review")) }, "Next: review");
  let current = SETS.find((set) => !setDone(set, state.draft.fingers)) ?? null;

  const refresh = () => {
    area.replaceChildren(fingerGrid(state.draft.fingers));
    setList.replaceChildren(
      ...SETS.map((set) =>
        el("li", { class: setDone(set, state.draft.fingers) ? "done" : set === current ? "current" : "", "data-set": set.id }, set.label),
      ),
    );
    next.disabled = !SETS.every((set) => setDone(set, state.draft.fingers));
    title.textContent = current ? `${current.label}: place the fingers flat on the glass` : "All fingerprints captured";
    capture.disabled = current === null;
  };
  const showFrame = (frame: FingerLiveView) => {
    if (!live.isConnected) preview.replaceChildren(live);
    live.src = frame.preview;
    checklist.replaceChildren(
      ...frame.fingers.map((f) =>
        el("li", { class: f.state === "placed" ? "pass" : f.state === "excused" ? "excused" : "fail", "data-finger": f.position }, `${f.state === "placed" ? "✓" : f.state === "excused" ? "–" : "✗"} ${f.label}${f.state === "excused" ? " (declared missing)" : ""}`),
      ),
    );
    progress.textContent = frame.advice === null ? `Fingers in place — capturing (${frame.streak}/${frame.required})` : frame.advice;
  };
  const showResult = (set: (typeof SETS)[number], result: SetView) => {
    state.draft.fingers = result.fingers;
    state.draft.exceptions = result.exceptions;
    if (result.retry) {
      const poor = result.results.filter((r) => r.retry);
      const attempt = Math.max(...poor.map((r) => r.attempts)) + 1;
      progress.textContent = `${poor.map((r) => `${r.label} quality ${r.best}`).join(", ")} — below ${FINGER_THRESHOLD}. ${poor[0]?.advice[0] ?? "Clean the glass and the fingers, press firmly."} Capture again (attempt ${attempt} of 3).`;
      capture.textContent = "Capture again";
    } else {
      current = SETS.find((s) => !setDone(s, state.draft.fingers)) ?? null;
      progress.textContent = `${set.label} captured.`;
      capture.textContent = "Capture now";
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
    preview.replaceChildren(el("span", { class: "muted" }, "Waiting for the reader…"));
    progress.textContent = "Starting the reader…";
    try {
      const result = await api.fingersLive(set.id, showFrame);
      if (result) {
        showResult(set, result);
        if (!result.retry && current && fingersLiveRunning) {
          void watch();
          return;
        }
        if (!current) next.focus();
        else capture.focus();
      } else if (fingersLiveRunning) {
        progress.textContent = "The fingers were not placed in time: capture by hand, or start again.";
      }
    } catch (e) {
      showError(message, e);
    } finally {
      if (mine === generation) fingersLiveRunning = false;
    }
  };
  // A finger that cannot be captured is declared with a reason; its set then goes without it.
  const exceptions = el("div", { id: "exceptions" }, state.draft.exceptions.length ? exceptionList(state.draft.exceptions) : null);
  const exceptionFinger = el("select", { id: "exception-finger" });
  const exceptionReason = el("select", { id: "exception-reason" }, ...EXCEPTION_REASONS.map((r) => el("option", { value: r }, r)));
  const exceptionDetail = el("input", { id: "exception-detail", autocomplete: "off", placeholder: "Details (optional)" });
  const exceptionForm = el(
    "form",
    { id: "exception-form", class: "exception-form", hidden: true },
    el("label", { for: "exception-finger" }, "Finger"),
    exceptionFinger,
    el("label", { for: "exception-reason" }, "Reason"),
    exceptionReason,
    exceptionDetail,
    el("button", { id: "exception-submit", type: "submit" }, "Declare missing"),
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
      exceptions.replaceChildren(exceptionList(changed.exceptions));
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
          .map((position) => el("option", { value: position }, FINGER_NAMES[position] ?? position)),
      );
      exceptionForm.hidden = !exceptionForm.hidden;
      if (!exceptionForm.hidden) exceptionFinger.focus();
    },
  }, "Finger missing or unusable…");
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
      if (capture.textContent === "Capture again") {
        capture.textContent = "Capture now";
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
  }, "Capture now");
  refresh();
  wizard(
    "fingers",
    el("h1", {}, "Fingerprints"),
    el("p", { class: "muted" }, `Reader: ${state.status?.scanner ?? "unknown"}. Left hand, right hand, then both thumbs; each set is captured by itself.`),
    setList,
    title,
    el("div", { class: "face-step" }, preview, el("div", {}, checklist, progress)),
    area,
    exceptions,
    exceptionForm,
    message,
    el("div", { class: "actions" }, el("button", { id: "fingers-back", onclick: () => void stopFingersLive().then(() => renderStep("face")) }, "Back"), capture, declare, next),
  );
  if (current) {
    capture.focus();
    void watch();
  } else {
    next.focus();
  }
}

function renderReview(): void {
  const { form, face, fingers } = state.draft;
  const message = el("p", { id: "submit-error", class: "error", role: "alert" }, "");
  const details = el(
    "dl",
    { id: "review-details", class: "review" },
    ...FIELDS.flatMap((f) => [el("dt", {}, f.label), el("dd", {}, form[f.name])]),
  );
  const submit = el("button", {
    id: "submit-enrollment",
    class: "primary",
    onclick: async () => {
      message.textContent = "";
      submit.disabled = true;
      try {
        const submitted = await api.submitEnrollment(form);
        state.draft = emptyDraft();
        renderHome();
        toast(`Enrollment ${submitted.id.slice(0, 8)} sealed and queued for upload.`);
      } catch (e) {
        const error = asCommandError(e);
        if (sessionEnded(error)) return;
        message.textContent = error.fields.length
          ? `${error.message}: ${error.fields.map((f) => f.message).join(" ")}`
          : error.message;
        submit.disabled = false;
      }
    },
  }, "Seal and submit");
  wizard(
    "review",
    el("h1", {}, "Review"),
    el(
      "div",
      { class: "review-layout" },
      face ? el("img", { id: "review-face", class: "review-face", src: face.dataUrl, alt: "Face photo" }) : el("span", {}, "No photo"),
      details,
    ),
    fingerGrid(fingers),
    state.draft.exceptions.length
      ? el(
          "div",
          { id: "review-exceptions" },
          el("h2", {}, "Declared missing or unusable"),
          exceptionList(state.draft.exceptions),
          el("p", { class: "muted" }, "This enrollment will wait for a supervisor's approval before it is sent."),
        )
      : document.createTextNode(""),
    message,
    el("div", { class: "actions" }, el("button", { id: "review-back", onclick: () => renderStep("fingers") }, "Back"), submit),
  );
  submit.focus();
}

// ---------- Start ----------

async function start(): Promise<void> {
  try {
    state.status = await api.stationStatus();
  } catch (e) {
    state.status = null;
    toast(asCommandError(e).message);
  }
  if (state.status?.locked) renderUnlock();
  else renderLogin();
}

void start();
