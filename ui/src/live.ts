// Live views of the camera and the reader's glass: a canvas that shows the latest frame with an
// overlay, and whether a live watch runs (any screen change, and logging out, stops it).
import { api } from "./api";
import { el } from "./dom";

/** Whether each live watch runs; the face and fingerprint steps set it, leaving them stops it. */
export const liveWatch = {
  /** True while the face step's live watch runs; leaving the step stops it. */
  face: false,
  /** True while the fingerprint step's live watch runs; leaving the step stops it. */
  fingers: false,
};

export function stopFaceLive(): Promise<void> {
  if (!liveWatch.face) return Promise.resolve();
  liveWatch.face = false;
  return api.faceLiveStop().catch(() => undefined);
}

/** Stops the reader's watch; with `capture`, the watch captures the set at once and goes on. */
export function stopFingersLive(capture = false): Promise<void> {
  if (!liveWatch.fingers) return Promise.resolve();
  if (!capture) liveWatch.fingers = false;
  return api.fingersLiveStop(capture).catch(() => undefined);
}

/** What is drawn over a live frame; positions are fractions of the frame's width and height. */
export interface Overlay {
  boxes: { rect: number[]; label?: string }[];
  /** A line with a dot at each end (the eyes). */
  line?: [number[], number[]];
  /** Landmarks the checks used, drawn as small dots. */
  points?: number[][];
  /** One dot per check, in order: passed or not. */
  dots: boolean[];
  /** The first thing to fix, or what happens now. */
  guidance: string;
  /** Every check passes: drawn green, else amber. */
  good: boolean;
}

/** Rust's f64 arrives as number | null (null for a NaN, which no geometry holds). */
export function numbers(values: (number | null)[]): number[] {
  return values.map((v) => v ?? 0);
}

/**
 * A canvas that shows the latest frame of a live stream with its overlay. Frames are decoded off
 * screen; one that arrives while the previous one is still decoding replaces the waiting one,
 * so the view never falls behind (`counts.skipped`). `drawn` hears of each frame on screen.
 */
export function liveCanvas<T extends { preview: string }>(
  id: string,
  label: string,
  overlay: (frame: T) => Overlay,
  counts: { skipped: number; dropped: number } = { skipped: 0, dropped: 0 },
  drawn: (frame: T) => void = () => undefined,
): { canvas: HTMLCanvasElement; show: (frame: T) => void } {
  const canvas = el("canvas", { id, role: "img", "aria-label": label });
  let decoding = false;
  let waiting: T | null = null;
  const show = (frame: T): void => {
    if (decoding) {
      if (waiting) counts.skipped++;
      waiting = frame;
      return;
    }
    decoding = true;
    const image = new Image();
    image.src = frame.preview;
    void image
      .decode()
      .then(
        () => {
          if (!canvas.isConnected) return;
          drawOverlay(canvas, image, overlay(frame));
          drawn(frame);
        },
        () => counts.dropped++,
      )
      .finally(() => {
        decoding = false;
        const next = waiting;
        waiting = null;
        if (next) show(next);
      });
  };
  return { canvas, show };
}

/**
 * Draws `image` on `canvas` (which takes its size; CSS scales it to the preview box) with the
 * overlay: the boxes and the line (green when every check passes, amber otherwise), the landmarks
 * the checks used (blue dots), a dot per
 * check along the top, the guidance along the bottom.
 */
function drawOverlay(canvas: HTMLCanvasElement, image: HTMLImageElement, overlay: Overlay): void {
  const [w, h] = [image.naturalWidth, image.naturalHeight];
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.drawImage(image, 0, 0);
  const colour = overlay.good ? "#16a34a" : "#f59e0b";
  const unit = Math.max(2, Math.round(w / 200));
  ctx.lineWidth = unit;
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour;
  ctx.font = `600 ${Math.round(h / 24)}px sans-serif`;
  ctx.textBaseline = "bottom";
  drawShapes(ctx, overlay, w, h, unit);
  canvas.dataset.landmarks = String(overlay.points?.length ?? 0);
  drawDots(ctx, overlay.dots, unit);
  drawGuidance(ctx, overlay, w, h, unit);
  canvas.dataset.boxes = String(overlay.boxes.length);
  canvas.dataset.guidance = overlay.guidance;
}

/** The boxes, the line with its end dots, and the landmarks, in frame coordinates `w` × `h`. */
function drawShapes(ctx: CanvasRenderingContext2D, overlay: Overlay, w: number, h: number, unit: number): void {
  for (const box of overlay.boxes) {
    const [x, y, bw, bh] = box.rect;
    ctx.strokeRect(x * w, y * h, bw * w, bh * h);
    if (box.label) ctx.fillText(box.label, x * w, y * h - unit);
  }
  if (overlay.line) {
    const [from, to] = overlay.line;
    ctx.beginPath();
    ctx.moveTo(from[0] * w, from[1] * h);
    ctx.lineTo(to[0] * w, to[1] * h);
    ctx.stroke();
    for (const end of overlay.line) {
      ctx.beginPath();
      ctx.arc(end[0] * w, end[1] * h, unit * 1.5, 0, Math.PI * 2);
      ctx.fill();
    }
  }
  for (const point of overlay.points ?? []) {
    ctx.beginPath();
    ctx.arc(point[0] * w, point[1] * h, unit * 1.4, 0, Math.PI * 2);
    ctx.fillStyle = "#38bdf8";
    ctx.fill();
    ctx.lineWidth = 1;
    ctx.strokeStyle = "#ffffff";
    ctx.stroke();
  }
}

/** One dot per check along the top: green passed, red not. */
function drawDots(ctx: CanvasRenderingContext2D, dots: boolean[], unit: number): void {
  const dot = unit * 3;
  dots.forEach((passed, i) => {
    ctx.beginPath();
    ctx.arc(dot * 2 + i * dot * 3, dot * 2, dot, 0, Math.PI * 2);
    ctx.fillStyle = passed ? "#16a34a" : "#dc2626";
    ctx.fill();
    ctx.lineWidth = 1;
    ctx.strokeStyle = "#ffffff";
    ctx.stroke();
  });
}

/** The guidance on a dark band along the bottom, its font shrunk until it fits the width. */
function drawGuidance(ctx: CanvasRenderingContext2D, overlay: Overlay, w: number, h: number, unit: number): void {
  let size = Math.round(h / 18);
  ctx.font = `600 ${size}px sans-serif`;
  while (size > 10 && ctx.measureText(overlay.guidance).width > w - unit * 8) {
    size--;
    ctx.font = `600 ${size}px sans-serif`;
  }
  const band = size * 2;
  ctx.fillStyle = "rgba(0, 0, 0, 0.62)";
  ctx.fillRect(0, h - band, w, band);
  ctx.fillStyle = overlay.good ? "#bbf7d0" : "#ffffff";
  ctx.textBaseline = "middle";
  ctx.fillText(overlay.guidance, unit * 4, h - band / 2);
}
