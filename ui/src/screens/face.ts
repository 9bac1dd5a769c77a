// The wizard's face step: the camera's live view with the photo checks, the photo taken by itself
// once every check passes (or by hand).
import { api, FaceLiveView, ImageView } from "../api";
import { go, session, setRedraw } from "../app";
import { el } from "../dom";
import { N, pick, t } from "../i18n";
import { liveCanvas, liveWatch, numbers, Overlay, stopFaceLive } from "../live";
import { sentence, showError } from "../widgets";
import { wizard } from "../wizard";

/**
 * How the face step's live preview arrives: frames decoded, and for each the time from the Rust
 * side handing it to the channel to the image being decoded here (the IPC hop and decoding).
 * Read by the end-to-end test for `docs/benchmarks.md`; nothing else depends on it.
 */
const previewStats = {
  frames: 0,
  dropped: 0,
  /** Frames replaced by a newer one before they were drawn (the view never queues). */
  skipped: 0,
  /** Frames drawn with the face box. */
  withFace: 0,
  arrivals: [] as number[],
  latencies: [] as number[],
  frame(latency: number): void {
    this.frames++;
    this.arrivals.push(performance.now());
    this.latencies.push(latency);
  },
};
(window as unknown as { previewStats: typeof previewStats }).previewStats = previewStats;

const FACE_CHECK_NAMES: Record<string, string> = {
  one_face: N("One face"),
  size: N("Distance"),
  centred: N("Centred"),
  roll: N("Head straight"),
  pose: N("Facing the camera"),
  exposure: N("Lighting"),
  contrast: N("Contrast"),
  illumination: N("Even light"),
  sharpness: N("Sharp"),
  background: N("Plain background"),
};

function faceOverlay(frame: FaceLiveView): Overlay {
  const failing = frame.checks.find((c) => !c.passed);
  return {
    boxes: frame.face ? [{ rect: numbers(frame.face.bounds) }] : [],
    line: frame.face ? [numbers(frame.face.leftEye), numbers(frame.face.rightEye)] : undefined,
    points: frame.face ? frame.face.landmarks.map(numbers) : undefined,
    dots: frame.checks.map((c) => c.passed),
    guidance: failing ? sentence(failing.advice ? pick(failing.advice) : t(FACE_CHECK_NAMES[failing.check] ?? failing.label)) : t("Hold still: taking the photo"),
    good: !failing,
  };
}

/** The face step's parts, and the state of its live watch. */
interface FaceStep {
  preview: HTMLElement;
  checklist: HTMLElement;
  progress: HTMLElement;
  message: HTMLElement;
  next: HTMLButtonElement;
  capture: HTMLButtonElement;
  live: ReturnType<typeof liveCanvas<FaceLiveView>>;
  /**
   * True while a live watch runs: a frame still in the channel when the watch has ended (the
   * photo taken) must not put the live view back over the photo.
   */
  watching: boolean;
  /** The checklist as last drawn, one line per check. */
  shownChecks: string;
}

export function renderFace(): void {
  setRedraw(renderFace);
  const step: FaceStep = {
    preview: el("div", { class: "preview face" }),
    checklist: el("ul", { id: "face-checks", class: "checks", "aria-live": "polite" }),
    progress: el("p", { id: "face-progress", class: "muted" }, ""),
    message: el("p", { id: "face-error", class: "error", role: "alert" }, ""),
    next: el("button", { id: "face-next", class: "primary", disabled: !session.draft.face, onclick: () => void stopFaceLive().then(() => go.step("fingers")) }, t("Next: fingerprints")),
    capture: el("button", { id: "capture-face", onclick: () => captureFace(step) }, session.draft.face ? t("Retake photo") : t("Take photo now")),
    live: liveCanvas<FaceLiveView>("face-live", t("Live camera view"), faceOverlay, previewStats, (frame) => {
      if (frame.sentAtMs !== null) previewStats.frame(Date.now() - frame.sentAtMs);
      if (frame.face) previewStats.withFace++;
    }),
    watching: false,
    shownChecks: "",
  };
  if (session.draft.face) showFace(step, session.draft.face);
  else step.preview.append(el("span", { class: "muted" }, t("Ask the applicant to look straight at the camera.")));
  wizard(
    "face",
    el("h1", {}, t("Face photo")),
    el("p", { class: "muted" }, t("Camera: {camera}. The photo is taken by itself when every check passes.", { camera: session.status?.camera ?? "—" })),
    el("div", { class: "face-step" }, step.preview, el("div", {}, step.checklist, step.progress)),
    step.message,
    el("div", { class: "actions" }, el("button", { id: "face-back", onclick: () => void stopFaceLive().then(() => go.step("applicant")) }, t("Back")), step.capture, step.next),
  );
  step.capture.focus();
  if (!session.draft.face) void startLive(step);
}

function showFace(step: FaceStep, face: ImageView): void {
  // The checklist keeps the last live frame's results: why the photo was taken.
  step.preview.replaceChildren(el("img", { id: "face-preview", src: face.dataUrl, alt: t("Captured face photo") }));
  step.progress.textContent = t("Photo taken.");
  step.next.disabled = false;
  step.next.focus();
}

function showFrame(step: FaceStep, frame: FaceLiveView): void {
  if (!step.watching) return;
  if (!step.live.canvas.isConnected) step.preview.replaceChildren(step.live.canvas);
  step.live.show(frame);
  // The list and the line under it change a few times a second at most: rebuilt only then, so
  // the page is not laid out again thirty times a second.
  const lines = frame.checks.map((c) => ({ c, text: `${c.passed ? "✓" : "✗"} ${t(FACE_CHECK_NAMES[c.check] ?? c.label)}${c.advice ? ` — ${pick(c.advice)}` : ""}` }));
  const key = lines.map((l) => l.text).join("\n");
  if (key !== step.shownChecks) {
    step.shownChecks = key;
    step.checklist.replaceChildren(...lines.map(({ c, text }) => el("li", { class: c.passed ? "pass" : "fail", "data-check": c.check }, text)));
  }
  const failing = frame.checks.filter((c) => !c.passed).length;
  const line = failing === 0 ? t("All checks pass — taking the photo ({streak}/{required})", { streak: frame.streak, required: frame.required }) : t("{count} check(s) to fix", { count: failing });
  if (step.progress.textContent !== line) step.progress.textContent = line;
}

/** Watches the camera until it takes the photo itself, or the watch is stopped. */
async function startLive(step: FaceStep): Promise<void> {
  step.message.textContent = "";
  liveWatch.face = true;
  step.progress.textContent = t("Starting the camera…");
  step.shownChecks = "";
  step.watching = true;
  try {
    const taken = await api.faceLive((frame) => showFrame(step, frame));
    step.watching = false;
    if (taken) {
      session.draft.face = taken;
      showFace(step, taken);
      step.capture.textContent = t("Retake photo");
    } else if (liveWatch.face) {
      step.progress.textContent = t("No good photo yet: fix the checks, or take the photo by hand.");
    }
  } catch (e) {
    showError(step.message, e);
  } finally {
    step.watching = false;
    liveWatch.face = false;
  }
}

/** Takes the photo now, or (once there is one) watches again for a new one. */
async function captureFace(step: FaceStep): Promise<void> {
  const { capture, message } = step;
  message.textContent = "";
  capture.disabled = true;
  try {
    if (session.draft.face && !liveWatch.face) {
      // Retake: watch again; the photo is taken when every check passes.
      capture.disabled = false;
      await startLive(step);
      return;
    }
    await stopFaceLive();
    session.draft.face = await api.captureFace();
    showFace(step, session.draft.face);
  } catch (e) {
    showError(message, e);
  } finally {
    capture.disabled = false;
  }
}
