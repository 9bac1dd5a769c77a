// The one place that talks to the Rust side. Every command the shell offers has exactly one
// typed wrapper here; the rest of the UI never calls `invoke` itself.
import { Channel, invoke } from "@tauri-apps/api/core";

export interface FieldError {
  field: string;
  message: string;
}

/** The one error shape every command rejects with. */
export interface CommandError {
  code: string;
  message: string;
  fields: FieldError[];
}

export interface StationStatus {
  provisioned: boolean;
  /** Provisioned, but the station passphrase has not been entered yet. */
  locked: boolean;
  stationName: string | null;
  stationId: string | null;
  serverUrl: string | null;
  problem: string | null;
  camera: string;
  scanner: string;
}

export interface Officer {
  username: string;
  displayName: string;
  role: string;
  /** A saved enrollment in progress waits to be resumed. */
  hasDraft: boolean;
}

export interface ImageView {
  dataUrl: string;
  width: number;
  height: number;
}

export interface FaceCheckView {
  check: string;
  label: string;
  passed: boolean;
  advice: string | null;
}

/** One frame of the face step's live view. */
export interface FaceLiveView {
  preview: string;
  checks: FaceCheckView[];
  streak: number;
  required: number;
}

export interface FingerView {
  position: string;
  label: string;
  image: ImageView;
  /** The station's own quality score, 0–100 (NFIQ 2 features), when it computed one. */
  quality: number | null;
  /** Captures of the finger so far. */
  attempts: number;
  /** Accepted below the quality threshold after the last attempt. */
  forced: boolean;
}

/** The sets a ten-print enrollment captures, in order (4-4-2). */
export type FingerSet = "left_slap" | "right_slap" | "thumbs";

export interface OnGlassView {
  position: string;
  label: string;
  state: "placed" | "absent" | "excused";
}

/** One frame of the fingerprint step's live view. */
export interface FingerLiveView {
  preview: string;
  fingers: OnGlassView[];
  /** What to tell the applicant; null when the fingers are ready. */
  advice: string | null;
  streak: number;
  required: number;
}

export interface FingerResultView {
  position: string;
  label: string;
  score: number;
  best: number;
  attempts: number;
  retry: boolean;
  advice: string[];
}

/** What one capture of a set gave, and every finger kept so far. */
export interface SetView {
  results: FingerResultView[];
  retry: boolean;
  fingers: FingerView[];
}

export type DeliveryState = "pending" | "accepted" | "rejected";

export interface EnrollmentView {
  id: string;
  applicantName: string;
  documentNumber: string;
  createdAt: string;
  state: DeliveryState;
  failedAttempts: number;
  lastError: string | null;
  serverReason: string | null;
  /** "awaiting", "approved" or "refused" when a supervisor must approve it; null otherwise. */
  approval: string | null;
  approvalNote: string | null;
}

/** Field names match the Rust `Demographics` struct exactly. */
export interface Demographics {
  full_name: string;
  date_of_birth: string;
  sex: string;
  nationality: string;
  document_number: string;
}

/** A saved enrollment in progress, as the wizard resumes it. */
export interface DraftView {
  form: Demographics;
  face: ImageView | null;
  fingers: FingerView[];
}

/** Mirrors `station_core::sync::machine::SyncStatus`. */
export interface SyncStatus {
  phase: "idle" | "sending" | "retrying" | "paused";
  backlogPackets: number;
  backlogBytes: number;
  packetsDone: number;
  bytesSent: number;
  current: [string, number, number] | null;
  problem: { kind: string; detail: string } | null;
  message: string | null;
  retryInMs: number | null;
}

export interface Submitted {
  id: string;
  packetBytes: number;
}

export function asCommandError(error: unknown): CommandError {
  if (typeof error === "object" && error !== null && "code" in error && "message" in error) {
    const e = error as Partial<CommandError>;
    return { code: String(e.code), message: String(e.message), fields: e.fields ?? [] };
  }
  return { code: "unknown", message: String(error), fields: [] };
}

export const api = {
  stationStatus: () => invoke<StationStatus>("station_status"),
  unlockStation: (passphrase: string) => invoke<StationStatus>("unlock_station", { passphrase }),
  login: (username: string, password: string) => invoke<Officer>("login", { username, password }),
  logout: () => invoke<void>("logout"),
  startEnrollment: () => invoke<void>("start_enrollment"),
  resumeEnrollment: () => invoke<DraftView>("resume_enrollment"),
  saveForm: (form: Demographics) => invoke<void>("save_form", { form }),
  validateForm: (form: Demographics) => invoke<FieldError[]>("validate_form", { form }),
  captureFace: () => invoke<ImageView>("capture_face"),
  /** Watches the camera until it takes the photo itself (or is stopped: null). */
  faceLive: (onFrame: (frame: FaceLiveView) => void) => {
    const events = new Channel<FaceLiveView>();
    events.onmessage = onFrame;
    return invoke<ImageView | null>("face_live", { events });
  },
  faceLiveStop: () => invoke<void>("face_live_stop"),
  /** Captures a set now, by hand. */
  captureSet: (set: FingerSet) => invoke<SetView>("capture_set", { set }),
  /** Watches the reader until it captures the set itself (or is stopped: null). */
  fingersLive: (set: FingerSet, onFrame: (frame: FingerLiveView) => void) => {
    const events = new Channel<FingerLiveView>();
    events.onmessage = onFrame;
    return invoke<SetView | null>("fingers_live", { set, events });
  },
  /** Ends the live watch; with `capture` the set is captured at once. */
  fingersLiveStop: (capture: boolean) => invoke<void>("fingers_live_stop", { capture }),
  submitEnrollment: (form: Demographics) => invoke<Submitted>("submit_enrollment", { form }),
  listEnrollments: () => invoke<EnrollmentView[]>("list_enrollments"),
  syncNow: () => invoke<void>("sync_now"),
  pauseSync: () => invoke<void>("pause_sync"),
  resumeSync: () => invoke<void>("resume_sync"),
  syncStatus: () => invoke<SyncStatus | null>("sync_status"),
};
