// Supervisor: the enrollments that wait for approval (a finger missing, or a capture kept below
// the quality checks), each approved or refused with a comment.
import { api, FlaggedView } from "../api";
import { go, leaveScreen, setRedraw } from "../app";
import { el } from "../dom";
import { t } from "../i18n";
import { fingerName, reasonText } from "../fingerprints";
import { startStatusBar } from "../statusbar";
import { dateTime, screen, showError, toast } from "../widgets";

export function renderApprovals(): void {
  setRedraw(renderApprovals);
  startStatusBar();
  leaveScreen();
  const body = el("tbody", {});
  const message = el("p", { id: "approvals-error", class: "error", role: "alert" }, "");
  const load = async () => {
    try {
      const held = await api.listApprovals();
      body.replaceChildren(
        ...(held.length
          ? held.map((item) => approvalRow(item, message, load))
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
    el("div", { class: "actions" }, el("button", { id: "approvals-back", onclick: () => go.home() }, t("Back to enrollments"))),
  );
  void load();
}

/** One held enrollment: when, by whom, why it waits, and the supervisor's decision; `load` redraws the list after one. */
function approvalRow(item: FlaggedView, message: HTMLElement, load: () => Promise<void>): HTMLElement {
  const comment = el("input", { class: "comment", autocomplete: "off", placeholder: t("Comment (needed to refuse)"), "aria-label": t("Comment") });
  const decide = (approve: boolean) => async () => {
    message.textContent = "";
    try {
      await api.decideApproval(item.id, approve ? "approve" : "refuse", comment.value);
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
    el("td", {}, dateTime(item.createdAt)),
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
}
