// The enrollment being made: what the officer has typed and captured so far. It lives in the
// session (app.ts) so a step back, a language switch or a resumed enrollment keeps it.
import type { Demographics, DraftView, ExceptionView, FingerView, ImageView, SetStatusView } from "./api";

export interface Draft {
  form: Demographics;
  face: ImageView | null;
  fingers: FingerView[];
  exceptions: ExceptionView[];
  exceptionPhoto: ImageView | null;
  /** The three finger sets and whether each is done, as the station judges it. */
  sets: SetStatusView[];
}

export function emptyDraft(): Draft {
  return {
    form: { form: "", form_version: "", full_name: "", date_of_birth: "", sex: "", nationality: "", document_number: "", fields: {} },
    face: null,
    fingers: [],
    exceptions: [],
    exceptionPhoto: null,
    sets: [],
  };
}

/** The draft as the station returns it (a new one, or one resumed). */
export function draftOf(view: DraftView): Draft {
  return { form: view.form, face: view.face, fingers: view.fingers, exceptions: view.exceptions, exceptionPhoto: view.exceptionPhoto, sets: view.sets };
}

const CORE_FIELDS = ["full_name", "date_of_birth", "sex", "nationality", "document_number"] as const;
type CoreField = (typeof CORE_FIELDS)[number];

function isCore(name: string): name is CoreField {
  return (CORE_FIELDS as readonly string[]).includes(name);
}

/** A field's value, a core field or one of the form's other fields. */
export function fieldValue(form: Demographics, name: string): string {
  return isCore(name) ? form[name] : (form.fields?.[name] ?? "");
}

export function setFieldValue(form: Demographics, name: string, value: string): void {
  if (isCore(name)) form[name] = value;
  else form.fields = { ...(form.fields ?? {}), [name]: value };
}
