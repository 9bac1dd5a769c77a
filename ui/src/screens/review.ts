// The wizard's last step: the officer and the applicant review everything, the applicant
// consents, and the enrollment is sealed; then its receipt.
import { api, asCommandError, Demographics, FieldDef, ReceiptView } from "../api";
import { currentForm, go, leaveScreen, root, session, setRedraw } from "../app";
import { emptyDraft, fieldValue } from "../draft";
import { el, mount } from "../dom";
import { exceptionList, fingerGrid, fingerName, reasonText } from "../fingerprints";
import { lang, pick, t } from "../i18n";
import { dateTime, errorText, header, sessionEnded, showError, toast } from "../widgets";
import { wizard } from "../wizard";

/** What the officer chose, as shown in the form (the option's label for a choice). */
function choiceText(field: FieldDef, value: string): string {
  return field.kind.type === "choice" ? pick(field.kind.options.find((o) => o.value === value)?.label ?? { en: value, id: value }) : value;
}

export function renderReview(): void {
  setRedraw(renderReview);
  const { form, face, fingers } = session.draft;
  const message = el("p", { id: "submit-error", class: "error", role: "alert" }, "");
  const details = el(
    "dl",
    { id: "review-details", class: "review" },
    ...(currentForm()?.fields ?? [])
      .filter((f) => fieldValue(form, f.name))
      .flatMap((f) => [el("dt", {}, pick(f.label)), el("dd", { "data-field": f.name }, choiceText(f, fieldValue(form, f.name)))]),
  );
  const consent = el("input", { id: "consent", type: "checkbox" });
  const submit = el("button", { id: "submit-enrollment", class: "primary", disabled: true, onclick: () => submitEnrollment(form, consent, submit, message) }, t("Seal and submit"));
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
    session.draft.exceptions.length ? reviewExceptions() : document.createTextNode(""),
    el(
      "label",
      { class: "consent", for: "consent" },
      consent,
      ` ${t("The applicant has read the privacy notice and agrees that these details, the photo and the fingerprints are used for this application.")}`,
    ),
    message,
    el("div", { class: "actions" }, el("button", { id: "review-back", onclick: () => go.step("fingers") }, t("Back")), submit),
  );
  consent.focus();
}

/** The fingers declared missing, the photo of the hand, and that a supervisor must approve. */
function reviewExceptions(): HTMLElement {
  return el(
    "div",
    { id: "review-exceptions" },
    el("h2", {}, t("Declared missing or unusable")),
    exceptionList(session.draft.exceptions),
    session.draft.exceptionPhoto ? el("img", { id: "review-exception-photo", class: "exception-photo", src: session.draft.exceptionPhoto.dataUrl, alt: t("Photo of the hand with the declared finger(s)") }) : null,
    el("p", { class: "muted" }, t("This enrollment will wait for a supervisor's approval before it is sent.")),
  );
}

async function submitEnrollment(form: Demographics, consent: HTMLInputElement, submit: HTMLButtonElement, message: HTMLElement): Promise<void> {
  message.textContent = "";
  submit.disabled = true;
  try {
    const receipt = await api.submitEnrollment(form, consent.checked);
    session.draft = emptyDraft();
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
}

function renderReceipt(receipt: ReceiptView): void {
  setRedraw(() => renderReceipt(receipt));
  leaveScreen();
  const saved = el("p", { id: "receipt-saved", class: "muted", role: "status" }, "");
  const qr = el("img", { id: "receipt-qr", class: "receipt-qr", alt: t("QR code of the enrollment number"), src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(receipt.qrSvg)}` });
  const rows: [string, string][] = [
    [t("Enrollment number"), receipt.id],
    [t("Name"), receipt.fullName],
    [t("Document"), receipt.documentNumber],
    [t("Enrolled"), dateTime(receipt.createdAt)],
    [t("Station"), receipt.stationName],
  ];
  const done = el("button", { id: "receipt-done", class: "primary", onclick: () => go.home() }, t("Done: back to enrollments"));
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
        receiptFingers(receipt),
        receipt.needsApproval ? el("p", { id: "receipt-approval" }, t("This enrollment will wait for a supervisor's approval before it is sent.")) : null,
        el("p", { id: "receipt-tracking" }, pick(receipt.tracking)),
        el("div", { class: "actions no-print" }, el("button", { id: "receipt-print", onclick: () => window.print() }, t("Print")), pdfButton(saved), done),
        saved,
      ),
    ),
  );
  done.focus();
}

/** Each finger's quality on the receipt, or why it is missing. */
function receiptFingers(receipt: ReceiptView): HTMLElement {
  return el(
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
}

/** Saves the receipt as a PDF in the officer's language; `saved` says where. */
function pdfButton(saved: HTMLElement): HTMLButtonElement {
  return el("button", {
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
}
