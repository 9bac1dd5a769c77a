// How captured fingers and fingers declared missing are shown: on the fingerprint step, the
// review, the receipt and the supervisor's queue.
import type { ExceptionView, FingerView } from "./api";
import { el } from "./dom";
import { N, t } from "./i18n";
import { EXCEPTION_REASONS } from "./rules";

const FINGER_NAMES: Record<string, string> = {
  left_little: N("Left little"),
  left_ring: N("Left ring"),
  left_middle: N("Left middle"),
  left_index: N("Left index"),
  left_thumb: N("Left thumb"),
  right_thumb: N("Right thumb"),
  right_index: N("Right index"),
  right_middle: N("Right middle"),
  right_ring: N("Right ring"),
  right_little: N("Right little"),
};

export function fingerName(position: string): string {
  const name = FINGER_NAMES[position];
  return name ? t(name) : position;
}

/** A declared reason as the officer reads it: a chosen reason translated, typed details as typed. */
export function reasonText(reason: string): string {
  const known = EXCEPTION_REASONS.find((r) => reason === r || reason.startsWith(`${r}: `));
  return known ? t(known) + reason.slice(known.length) : reason;
}

export function exceptionList(exceptions: ExceptionView[]): HTMLElement {
  return el(
    "ul",
    { id: "exception-list", class: "exceptions" },
    ...exceptions.map((e) => el("li", { "data-position": e.position }, `${fingerName(e.position)}: ${reasonText(e.reason)}`)),
  );
}

export function fingerGrid(fingers: FingerView[]): HTMLElement {
  return el(
    "div",
    { id: "finger-grid", class: "finger-grid" },
    ...fingers.map((f) => {
      const quality = f.quality ?? 0;
      return el(
        "figure",
        { "data-position": f.position, class: f.acceptedBelow ? "forced" : f.belowThreshold ? "poor" : "good" },
        el("img", { src: f.image.dataUrl, alt: fingerName(f.position) }),
        el("div", { class: "quality-bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(quality), "aria-label": t("{finger} quality", { finger: fingerName(f.position) }) }, el("span", { style: `width: ${quality}%` })),
        el("figcaption", {}, f.quality === null ? fingerName(f.position) : `${t("{finger} · quality {quality}", { finger: fingerName(f.position), quality: f.quality })}${f.acceptedBelow ? ` · ${t("accepted below threshold")}` : ""}`),
      );
    }),
  );
}
