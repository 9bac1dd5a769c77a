// What the screens share: the station and the officer, the enrollment being made, and how one
// screen hands over to another. A screen never imports another screen: it calls `go`, whose
// routes main.ts fills in at start-up, so the screens do not import each other in a circle.
import type { FormDef, FormSet, Officer, StationStatus } from "./api";
import { Draft, emptyDraft } from "./draft";
import { stopFaceLive, stopFingersLive } from "./live";

export const root = document.getElementById("app") as HTMLElement;

export const session: {
  status: StationStatus | null;
  officer: Officer | null;
  draft: Draft;
  /** The forms new enrollments use, loaded when an enrollment starts. */
  forms: FormSet | null;
} = {
  status: null,
  officer: null,
  draft: emptyDraft(),
  forms: null,
};

/** The definition of the form the draft is on, when the station knows it. */
export function currentForm(): FormDef | null {
  return session.forms?.forms.find((f) => f.id === session.draft.form.form) ?? null;
}

/** The enrollment wizard's steps. */
export type Step = "applicant" | "face" | "fingers" | "review";

/** Every screen another screen can send the officer to. */
export interface Routes {
  /** The login form, saying `message` (why the session ended) when there is one. */
  login(message?: string): void;
  logout(): Promise<void>;
  /** Where the officer's role starts. */
  start(): void;
  home(): void;
  approvals(): void;
  settings(): void;
  selfTest(): void;
  step(step: Step): void;
}

/** The screens, by name; filled in by main.ts before the first screen is drawn. */
export const go = {} as Routes;

export function setRoutes(routes: Routes): void {
  Object.assign(go, routes);
}

/** Draws the current screen again (after a language switch); each screen sets it. */
let redrawScreen: () => void = () => undefined;

export function setRedraw(draw: () => void): void {
  redrawScreen = draw;
}

export function redraw(): void {
  redrawScreen();
}

/** The list's refresh timer, the one repeating task a screen may leave running. */
let pollTimer: number | undefined;

/** Repeats `refresh` every `ms` until the next screen change. */
export function pollWhileShown(refresh: () => void, ms: number): void {
  pollTimer = window.setInterval(refresh, ms);
}

/** Every screen change stops what the previous screen had running: list polling, the face and fingerprint steps' live watches. */
export function leaveScreen(): void {
  if (pollTimer !== undefined) window.clearInterval(pollTimer);
  pollTimer = undefined;
  void stopFaceLive();
  void stopFingersLive();
}
