// The wizard's fingerprint step: the reader's live view, the three sets (left hand, right hand,
// both thumbs) each captured by itself once the fingers lie still, retries below the quality
// threshold, and fingers declared missing with a photo of the hand.
import { api, FingerLiveView, FingerSet, FingerView, ImageView, SetView } from "../api";
import { go, session, setRedraw } from "../app";
import { el } from "../dom";
import { exceptionList, fingerGrid, fingerName } from "../fingerprints";
import { pick, t } from "../i18n";
import { liveCanvas, liveWatch, numbers, Overlay, stopFingersLive } from "../live";
import { EXCEPTION_REASONS, SET_NAMES } from "../rules";
import { sentence, showError } from "../widgets";
import { wizard } from "../wizard";

function fingerOverlay(frame: FingerLiveView): Overlay {
  return {
    boxes: frame.fingers.flatMap((f) => (f.bounds ? [{ rect: numbers(f.bounds), label: fingerName(f.position) }] : [])),
    dots: frame.fingers.filter((f) => f.state !== "excused").map((f) => f.state === "placed"),
    guidance: frame.advice === null ? t("Fingers in place — capturing ({streak}/{required})", { streak: frame.streak, required: frame.required }) : sentence(pick(frame.advice)),
    good: frame.advice === null,
  };
}

/** The first set the draft does not hold complete (as the station judges it); null once all are. */
function firstUndoneSet(): FingerSet | null {
  return session.draft.sets.find((set) => !set.done)?.set ?? null;
}

/** The fingerprint step's parts, and where its capture is. */
interface FingersStep {
  area: HTMLElement;
  message: HTMLElement;
  title: HTMLElement;
  preview: HTMLElement;
  live: ReturnType<typeof liveCanvas<FingerLiveView>>;
  checklist: HTMLElement;
  progress: HTMLElement;
  setList: HTMLElement;
  next: HTMLButtonElement;
  capture: HTMLButtonElement;
  /** The declared fingers, and the photo of the hand that shows them (MOSIP's exception photo). */
  exceptions: HTMLElement;
  /** The set to capture; null once every set is done. */
  current: FingerSet | null;
  /** Each watch has its number: one that ends after a newer one started leaves the flag alone. */
  generation: number;
}

/** The form that declares a finger missing or unusable, with a reason. */
interface ExceptionForm {
  form: HTMLFormElement;
  finger: HTMLSelectElement;
  reason: HTMLSelectElement;
  detail: HTMLInputElement;
}

export function renderFingers(): void {
  setRedraw(renderFingers);
  const s: FingersStep = {
    area: el("div", {}, session.draft.fingers.length ? fingerGrid(session.draft.fingers) : el("p", { class: "muted" }, t("Each set is captured by itself once the fingers lie still on the glass."))),
    message: el("p", { id: "fingers-error", class: "error", role: "alert" }, ""),
    title: el("h2", { id: "finger-set" }, ""),
    preview: el("div", { class: "preview platen" }),
    live: liveCanvas<FingerLiveView>("finger-live", t("Live view of the reader's glass"), fingerOverlay),
    checklist: el("ul", { id: "finger-checks", class: "checks", "aria-live": "polite" }),
    progress: el("p", { id: "finger-progress", class: "muted" }, ""),
    setList: el("ol", { id: "finger-sets", class: "sets" }),
    next: el("button", { id: "fingers-next", class: "primary", onclick: () => void stopFingersLive().then(() => go.step("review")) }, t("Next: review")),
    capture: el("button", { id: "capture-fingers", onclick: () => captureFingers(s) }, t("Capture now")),
    // A finger that cannot be captured is declared with a reason; its set then goes without it.
    exceptions: el("div", { id: "exceptions" }),
    current: firstUndoneSet(),
    generation: 0,
  };
  drawExceptions(s);
  const declaring = exceptionForm(s);
  refresh(s);
  wizard(
    "fingers",
    el("h1", {}, t("Fingerprints")),
    el("p", { class: "muted" }, t("Reader: {reader}. Left hand, right hand, then both thumbs; each set is captured by itself.", { reader: session.status?.scanner ?? "—" })),
    s.setList,
    s.title,
    el("div", { class: "face-step" }, s.preview, el("div", {}, s.checklist, s.progress)),
    s.area,
    s.exceptions,
    declaring.form,
    s.message,
    el("div", { class: "actions" }, el("button", { id: "fingers-back", onclick: () => void stopFingersLive().then(() => go.step("face")) }, t("Back")), s.capture, declareButton(declaring), s.next),
  );
  if (s.current) {
    s.capture.focus();
    void watch(s);
  } else {
    s.next.focus();
  }
}

/** Draws the captured fingers, the sets' progress, the title and the buttons' state again. */
function refresh(s: FingersStep): void {
  s.area.replaceChildren(fingerGrid(session.draft.fingers));
  s.setList.replaceChildren(
    ...session.draft.sets.map((set) =>
      el("li", { class: set.done ? "done" : set.set === s.current ? "current" : "", "data-set": set.set }, t(SET_NAMES[set.set])),
    ),
  );
  s.next.disabled = session.draft.sets.length === 0 || !session.draft.sets.every((set) => set.done);
  s.title.textContent = s.current ? t("{set}: place the fingers flat on the glass", { set: t(SET_NAMES[s.current]) }) : t("All fingerprints captured");
  s.capture.disabled = s.current === null;
}

function showFrame(s: FingersStep, frame: FingerLiveView): void {
  if (!s.live.canvas.isConnected) s.preview.replaceChildren(s.live.canvas);
  s.live.show(frame);
  s.checklist.replaceChildren(
    ...frame.fingers.map((f) =>
      el("li", { class: f.state === "placed" ? "pass" : f.state === "excused" ? "excused" : "fail", "data-finger": f.position }, `${f.state === "placed" ? "✓" : f.state === "excused" ? "–" : "✗"} ${fingerName(f.position)}${f.state === "excused" ? ` (${t("declared missing")})` : ""}`),
    ),
  );
  s.progress.textContent = frame.advice === null ? t("Fingers in place — capturing ({streak}/{required})", { streak: frame.streak, required: frame.required }) : sentence(pick(frame.advice));
}

/** Keeps a captured set in the draft; below the threshold, says what to do and asks for another attempt. */
function showResult(s: FingersStep, set: FingerSet, result: SetView): void {
  session.draft.fingers = result.fingers;
  session.draft.exceptions = result.exceptions;
  session.draft.sets = result.sets;
  if (result.retry) {
    s.progress.textContent = retryAdvice(result);
    s.capture.textContent = t("Capture again");
  } else {
    s.current = firstUndoneSet();
    s.progress.textContent = t("{set} captured.", { set: t(SET_NAMES[set]) });
    s.capture.textContent = t("Capture now");
  }
  refresh(s);
}

/** Which fingers came out below the threshold, the reader's advice, and the next attempt's number. */
function retryAdvice(result: SetView): string {
  const poor = result.results.filter((r) => r.retry);
  const attempt = Math.max(...poor.map((r) => r.attempts)) + 1;
  return `${t("{fingers} — below {threshold}.", { fingers: poor.map((r) => t("{finger} quality {quality}", { finger: fingerName(r.position), quality: r.best })).join(", "), threshold: result.threshold })} ${poor[0]?.advice[0] ? sentence(pick(poor[0].advice[0])) : t("Clean the glass and the fingers, press firmly.")} ${t("Capture again (attempt {attempt} of {attempts}).", { attempt, attempts: result.maxAttempts })}`;
}

/** Watches the reader until it captures the current set itself, then goes on with the next set. */
async function watch(s: FingersStep): Promise<void> {
  const set = s.current;
  if (!set) return;
  const mine = ++s.generation;
  s.message.textContent = "";
  liveWatch.fingers = true;
  // The last set's frame and checks go: what shows is this set's.
  s.checklist.replaceChildren();
  s.preview.replaceChildren(el("span", { class: "muted" }, t("Waiting for the reader…")));
  s.progress.textContent = t("Starting the reader…");
  // A frame still in the channel when the watch has ended must not cover its result.
  let open = true;
  try {
    const result = await api.fingersLive(set, (frame) => {
      if (open && mine === s.generation) showFrame(s, frame);
    });
    open = false;
    if (result) {
      showResult(s, set, result);
      if (!result.retry && s.current && liveWatch.fingers) {
        void watch(s);
        return;
      }
      if (!s.current) s.next.focus();
      else s.capture.focus();
    } else if (liveWatch.fingers) {
      s.progress.textContent = t("The fingers were not placed in time: capture by hand, or start again.");
    }
  } catch (e) {
    showError(s.message, e);
  } finally {
    open = false;
    if (mine === s.generation) liveWatch.fingers = false;
  }
}

/** Captures the current set: at once from a running watch, by a new watch after a retry, or by hand. */
async function captureFingers(s: FingersStep): Promise<void> {
  if (!s.current) return;
  s.message.textContent = "";
  if (liveWatch.fingers) {
    // The running watch captures the set at once and carries on with the next one.
    await stopFingersLive(true);
    return;
  }
  if (s.capture.textContent === t("Capture again")) {
    s.capture.textContent = t("Capture now");
    void watch(s);
    return;
  }
  const set = s.current;
  s.capture.disabled = true;
  try {
    showResult(s, set, await api.captureSet(set));
  } catch (e) {
    showError(s.message, e);
  } finally {
    s.capture.disabled = s.current === null;
  }
}

// The declared fingers, and the photo of the hand that shows them (MOSIP's exception photo).
function drawExceptions(s: FingersStep): void {
  if (!session.draft.exceptions.length) {
    s.exceptions.replaceChildren();
    return;
  }
  const photo = session.draft.exceptionPhoto;
  s.exceptions.replaceChildren(
    exceptionList(session.draft.exceptions),
    el(
      "div",
      { id: "exception-photo-box", class: "exception-photo-box" },
      photo
        ? el("img", { id: "exception-photo", src: photo.dataUrl, alt: t("Photo of the hand with the declared finger(s)") })
        : el("p", { class: "muted" }, t("Hold the applicant's hand in front of the camera so the missing or unusable finger shows, then take its photo: the supervisor and the server see it.")),
      handPhotoButton(s, photo),
    ),
  );
}

function handPhotoButton(s: FingersStep, photo: ImageView | null): HTMLButtonElement {
  const take = el("button", {
    id: "exception-photo-take",
    type: "button",
    class: photo ? "" : "primary",
    onclick: async () => {
      s.message.textContent = "";
      take.disabled = true;
      try {
        session.draft.exceptionPhoto = await api.takeExceptionPhoto();
        drawExceptions(s);
        (document.getElementById("exception-photo-take") as HTMLElement | null)?.focus();
      } catch (e) {
        showError(s.message, e);
        take.disabled = false;
      }
    },
  }, photo ? t("Photograph the hand again") : t("Photograph the hand"));
  return take;
}

function exceptionForm(s: FingersStep): ExceptionForm {
  const finger = el("select", { id: "exception-finger" });
  const reason = el("select", { id: "exception-reason" }, ...EXCEPTION_REASONS.map((r) => el("option", { value: r }, t(r))));
  const detail = el("input", { id: "exception-detail", autocomplete: "off", placeholder: t("Details (optional)") });
  const form = el(
    "form",
    { id: "exception-form", class: "exception-form", hidden: true },
    el("label", { for: "exception-finger" }, t("Finger")),
    finger,
    el("label", { for: "exception-reason" }, t("Reason")),
    reason,
    detail,
    el("button", { id: "exception-submit", type: "submit" }, t("Declare missing")),
  );
  const declaring: ExceptionForm = { form, finger, reason, detail };
  form.addEventListener("submit", (event) => void declareMissing(event, s, declaring));
  return declaring;
}

async function declareMissing(event: Event, s: FingersStep, f: ExceptionForm): Promise<void> {
  event.preventDefault();
  s.message.textContent = "";
  const detail = f.detail.value.trim();
  const reason = detail ? `${f.reason.value}: ${detail}` : f.reason.value;
  try {
    const changed = await api.declareException(f.finger.value as FingerView["position"], reason);
    session.draft.fingers = changed.fingers;
    session.draft.exceptions = changed.exceptions;
    session.draft.sets = changed.sets;
    drawExceptions(s);
    f.form.hidden = true;
    const watching = liveWatch.fingers ? s.current : null;
    s.current = firstUndoneSet();
    refresh(s);
    // A running watch expects the old set of fingers: start it again without the excused one.
    if (watching) {
      await stopFingersLive();
      void watch(s);
    }
  } catch (e) {
    showError(s.message, e);
  }
}

/** Opens (or closes) the exception form, offering the fingers not declared yet. */
function declareButton(f: ExceptionForm): HTMLButtonElement {
  return el("button", {
    id: "declare-exception",
    type: "button",
    onclick: () => {
      const excused = new Set(session.draft.exceptions.map((e) => e.position));
      f.finger.replaceChildren(
        ...session.draft.sets.flatMap((set) => set.fingers)
          .filter((position) => !excused.has(position))
          .map((position) => el("option", { value: position }, fingerName(position))),
      );
      f.form.hidden = !f.form.hidden;
      if (!f.form.hidden) f.finger.focus();
    },
  }, t("Finger missing or unusable…"));
}
