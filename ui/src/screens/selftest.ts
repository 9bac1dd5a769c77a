// Technician: the station's self-test — storage, keys and audit log, the camera, the reader and
// the server link — with practice drills on simulated devices and a report to export.
import { api, Drill, ReportFormat, Section } from "../api";
import { go, leaveScreen, setRedraw } from "../app";
import { el } from "../dom";
import { N, t } from "../i18n";
import { startStatusBar } from "../statusbar";
import { field, screen, showError } from "../widgets";

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

/** The self-test screen's parts, and what the running test has reported so far. */
interface SelfTestView {
  results: HTMLElement;
  verdict: HTMLElement;
  message: HTMLElement;
  exported: HTMLElement;
  drill: HTMLSelectElement;
  exportJson: HTMLButtonElement;
  exportHtml: HTMLButtonElement;
  run: HTMLButtonElement;
  sections: Map<string, Section | null>;
  /** The section being tested now. */
  running: string | null;
}

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

export function renderSelfTest(): void {
  setRedraw(renderSelfTest);
  startStatusBar();
  leaveScreen();
  const message = el("p", { id: "selftest-error", class: "error", role: "alert" }, "");
  const exported = el("p", { id: "selftest-exported", class: "muted" }, "");
  const exportAs = (format: ReportFormat) => async () => {
    message.textContent = "";
    try {
      const path = await api.exportSelftest(format);
      exported.textContent = t("Report saved: {path}", { path });
    } catch (e) {
      showError(message, e);
    }
  };
  const view: SelfTestView = {
    results: el("div", { id: "selftest-results", "aria-live": "polite" }),
    verdict: el("p", { id: "selftest-verdict", class: "muted" }, t("Run the self-test to check this station before the day's work.")),
    message,
    exported,
    drill: el("select", { id: "selftest-drill" }, ...DRILLS.map((d) => el("option", { value: d.value }, t(d.label)))),
    exportJson: el("button", { id: "selftest-export-json", disabled: true, onclick: exportAs("json") }, t("Export JSON")),
    exportHtml: el("button", { id: "selftest-export-html", disabled: true, onclick: exportAs("html") }, t("Export printable report")),
    run: el("button", { id: "selftest-run", class: "primary", onclick: () => runSelfTest(view) }, t("Run self-test")),
    sections: new Map<string, Section | null>(SECTIONS.map((s) => [s.key, null])),
    running: null,
  };
  drawSections(view);
  screen(
    t("Station self-test"),
    el("nav", { class: "actions" }, el("button", { id: "open-settings", onclick: () => go.settings() }, t("Station settings"))),
    el("p", { class: "muted" }, t("Checks the station's storage, keys and audit log, the camera, the fingerprint reader and the link to the central server.")),
    field(t("Practice drill (simulated devices only)"), view.drill),
    el("div", { class: "actions" }, view.run, view.exportJson, view.exportHtml),
    view.verdict,
    message,
    view.results,
    exported,
  );
  view.run.focus();
}

function drawSections(v: SelfTestView): void {
  v.results.replaceChildren(...SECTIONS.map((s) => sectionBlock(s.key, t(s.label), v.sections.get(s.key) ?? null, v.running === s.key)));
}

async function runSelfTest(v: SelfTestView): Promise<void> {
  v.message.textContent = "";
  v.exported.textContent = "";
  v.run.disabled = true;
  SECTIONS.forEach((s) => v.sections.set(s.key, null));
  v.verdict.textContent = t("Testing…");
  v.verdict.className = "muted";
  drawSections(v);
  try {
    const chosen = v.drill.value === "" ? null : (v.drill.value as Drill);
    const report = await api.runSelftest(chosen, (progress) => {
      v.running = progress.section ? null : progress.key;
      if (progress.section) v.sections.set(progress.key, progress.section);
      drawSections(v);
    });
    v.running = null;
    report.sections.forEach((s) => v.sections.set(s.key, s));
    drawSections(v);
    v.verdict.textContent =
      report.verdict === "pass" ? t("Everything works.") : report.verdict === "warn" ? t("Works, with warnings: see below.") : t("Something does not work: see the failed checks below.");
    v.verdict.className = `selftest-verdict ${report.verdict}`;
    v.verdict.dataset.verdict = report.verdict;
    v.exportJson.disabled = false;
    v.exportHtml.disabled = false;
  } catch (e) {
    v.verdict.textContent = "";
    showError(v.message, e);
  } finally {
    v.running = null;
    v.run.disabled = false;
  }
}
