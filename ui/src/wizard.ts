// The enrollment wizard's frame: the steps along the top, the step's content, and Cancel.
import { go, leaveScreen, root, Step } from "./app";
import { el, mount } from "./dom";
import { N, t } from "./i18n";
import { startStatusBar } from "./statusbar";
import { header } from "./widgets";

const STEPS: { id: Step; label: string }[] = [
  { id: "applicant", label: N("Applicant") },
  { id: "face", label: N("Face") },
  { id: "fingers", label: N("Fingerprints") },
  { id: "review", label: N("Review") },
];

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

/** Shows `step` of the wizard with `content`; a wizard screen is one card with the steps on top. */
export function wizard(step: Step, ...content: Node[]): void {
  startStatusBar();
  leaveScreen();
  const cancel = el("button", { id: "cancel-enrollment", class: "link", type: "button", onclick: () => go.home() }, t("Cancel"));
  mount(root, header(), el("main", {}, el("section", { class: "card" }, stepIndicator(step), ...content, cancel)));
}
