// The wizard's first step: the type of application (citizen or foreigner, and for what), then
// the applicant's details on that application's form, which a passport's MRZ can fill in.
import { api, asCommandError, Demographics, FieldDef, FieldError, FormDef } from "../api";
import { currentForm, go, session, setRedraw } from "../app";
import { fieldValue, setFieldValue } from "../draft";
import { el } from "../dom";
import { pick, t } from "../i18n";
import { SEX_OPTIONS } from "../rules";
import { errorText, sessionEnded, toast, toastError } from "../widgets";
import { wizard } from "../wizard";

type FieldInput = HTMLInputElement | HTMLSelectElement;

function fieldInput(field: FieldDef, value: string): FieldInput {
  const id = `field-${field.name}`;
  const kind = field.kind;
  const options: [string, string][] =
    kind.type === "sex"
      ? SEX_OPTIONS.map(([v, label]) => [v, t(label)])
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
export function renderApplicantType(): void {
  setRedraw(renderApplicantType);
  const forms = session.forms?.forms ?? [];
  const choose = (form: FormDef) => async () => {
    try {
      if (session.draft.form.form !== form.id) session.draft.form = await api.blankForm(form.id);
      renderApplicant();
    } catch (e) {
      toastError(e);
    }
  };
  const buttons = forms.map((form) =>
    el(
      "button",
      { id: `form-type-${form.id}`, class: `choice ${form.id === session.draft.form.form ? "chosen" : ""}`, onclick: choose(form) },
      el("strong", {}, pick(form.title)),
      el("span", { class: "muted" }, form.applicant === "wni" ? t("Indonesian citizen (WNI)") : t("Foreign national (WNA)")),
    ),
  );
  wizard("applicant", el("h1", {}, t("Type of application")), el("div", { id: "form-types", class: "choices" }, ...buttons));
  (buttons.find((b) => b.classList.contains("chosen")) ?? buttons[0])?.focus();
}

/** The applicant form's inputs and the error line under each, by field name. */
interface ApplicantForm {
  definition: FormDef;
  draftForm: Demographics;
  inputs: Map<string, FieldInput>;
  errors: Map<string, HTMLElement>;
}

export function renderApplicant(): void {
  setRedraw(renderApplicant);
  const definition = currentForm();
  if (!definition) return renderApplicantType();
  const f: ApplicantForm = { definition, draftForm: session.draft.form, inputs: new Map(), errors: new Map() };
  const form = el("form", { id: "form-applicant", class: "grid-form", novalidate: true });
  for (const field of definition.fields) form.append(applicantField(f, field));
  const mrzBox = definition.fields.some((field) => field.mrz) ? passportZone(f) : null;
  form.append(
    el(
      "div",
      { class: "actions" },
      el("button", { id: "form-back", type: "button", onclick: () => renderApplicantType() }, t("Back: type of application")),
      el("button", { id: "form-next", type: "submit", class: "primary" }, t("Next: face")),
    ),
  );
  form.addEventListener("submit", (event) => void submitApplicant(event, f));
  wizard("applicant", el("h1", {}, pick(definition.title)), mrzBox ?? document.createTextNode(""), form);
  if (mrzBox) (document.getElementById("mrz-input") as HTMLElement | null)?.focus();
  else f.inputs.get(definition.fields[0]?.name ?? "")?.focus();
}

/** One field of the form: its label, input, hint and error line. */
function applicantField(f: ApplicantForm, field: FieldDef): HTMLElement {
  const input = fieldInput(field, fieldValue(f.draftForm, field.name));
  // Typed values go into the draft at once, so a language switch or a step back keeps them.
  input.addEventListener("input", () => setFieldValue(f.draftForm, field.name, input.value));
  input.addEventListener("change", () => setFieldValue(f.draftForm, field.name, input.value));
  const error = el("span", { id: `error-${field.name}`, class: "error", role: "alert" }, "");
  f.inputs.set(field.name, input);
  f.errors.set(field.name, error);
  return el(
    "div",
    { class: "field" },
    el("label", { for: input.id }, pick(field.label), field.required ? "" : el("span", { class: "muted" }, ` (${t("optional")})`)),
    input,
    field.hint ? el("span", { class: "hint" }, pick(field.hint)) : null,
    error,
  );
}

/** The passport's machine-readable zone, read into the form's fields it holds. */
function passportZone(f: ApplicantForm): HTMLElement {
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
        const prefill = await api.prefillFromMrz(f.draftForm, zone.value);
        const entries = Object.entries(prefill.values);
        for (const [name, value] of entries) {
          setFieldValue(f.draftForm, name, value);
          const input = f.inputs.get(name);
          if (input) input.value = value;
        }
        mrzDone.textContent = t("Filled {count} fields from the passport: check them against the passport.", { count: entries.length });
        const firstEmpty = f.definition.fields.find((field) => field.required && !fieldValue(f.draftForm, field.name));
        f.inputs.get(firstEmpty?.name ?? "full_name")?.focus();
      } catch (e) {
        const error = asCommandError(e);
        if (sessionEnded(error)) return;
        mrzError.textContent = error.fields[0] ? pick(error.fields[0].message) : errorText(error);
        zone.focus();
      }
    },
  }, t("Fill from passport"));
  return el(
    "div",
    { class: "mrz-box" },
    el("label", { for: "mrz-input" }, t("Passport machine-readable zone (MRZ)")),
    el("span", { class: "hint" }, t("Scan the two lines at the bottom of the photo page, or type them.")),
    zone,
    el("div", { class: "actions" }, read, mrzDone),
    mrzError,
  );
}

/** Saves the form, has the station check it, and goes on to the face when nothing is wrong. */
async function submitApplicant(event: Event, f: ApplicantForm): Promise<void> {
  event.preventDefault();
  for (const field of f.definition.fields) setFieldValue(f.draftForm, field.name, f.inputs.get(field.name)?.value ?? "");
  try {
    await api.saveForm(f.draftForm);
  } catch (e) {
    toastError(e);
    return;
  }
  let problems: FieldError[];
  try {
    problems = await api.validateForm(f.draftForm);
  } catch (e) {
    toastError(e);
    return;
  }
  f.errors.forEach((node) => (node.textContent = ""));
  for (const problem of problems) {
    const node = f.errors.get(problem.field);
    if (node) node.textContent = pick(problem.message);
    else toast(pick(problem.message));
  }
  if (problems.length === 0) {
    go.step("face");
  } else {
    f.inputs.get(problems[0].field)?.focus();
  }
}
