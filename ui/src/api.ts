// The one place that talks to the Rust side. The commands and every payload type are generated
// from the Rust code into `bindings.ts` (`cargo run -p enrollment-station --example
// export_bindings`; a test fails when it drifts); this file only adapts them for the screens:
// channels become callbacks, and thrown errors become `CommandError`.
import { Channel } from "@tauri-apps/api/core";
import {
  commands,
  CommandError,
  ErrorCode,
  Drill,
  FaceLiveView,
  FingerLiveView,
  FingerSet,
  OfficerView,
  SelfTestProgress,
  StationStatusView,
} from "./bindings";

export type {
  AccountView as Account,
  CommandError,
  Demographics,
  DraftView,
  Drill,
  EnrollmentView,
  ErrorCode,
  ExceptionView,
  FaceCheckView,
  FaceLiveView,
  FieldDef,
  FieldError,
  FormDef,
  FormSet,
  Label,
  FingerLiveView,
  FingerResultView,
  FlaggedView,
  FingerSet,
  FingerView,
  ImageView,
  OnGlassView,
  OutboxState as DeliveryState,
  ReceiptFingerView,
  ReceiptView,
  ReportFormat,
  Section,
  SelfTestProgress,
  SetStatusView,
  SetView,
  SettingsView as Settings,
  StationSetup,
  SyncStatus,
} from "./bindings";
export type StationStatus = StationStatusView;
export type Officer = OfficerView;

/** Any rejection as the one error shape every command throws. */
export function asCommandError(error: unknown): CommandError {
  if (typeof error === "object" && error !== null && "code" in error && "message" in error) {
    const e = error as Partial<CommandError>;
    return { code: e.code as ErrorCode, message: String(e.message), fields: e.fields ?? [] };
  }
  // Not an answer of a command (the IPC itself failed): the shell's code for its own failures.
  return { code: "internal", message: String(error), fields: [] };
}

function channel<T>(onMessage: (message: T) => void): Channel<T> {
  const events = new Channel<T>();
  events.onmessage = onMessage;
  return events;
}

export const api = {
  ...commands,
  /** Watches the camera until it takes the photo itself (or is stopped: null). */
  faceLive: (onFrame: (frame: FaceLiveView) => void) => commands.faceLive(channel(onFrame)),
  /** Watches the reader until it captures the set itself (or is stopped: null). */
  fingersLive: (set: FingerSet, onFrame: (frame: FingerLiveView) => void) => commands.fingersLive(set, channel(onFrame)),
  /** Runs the technician's self-test, telling `onProgress` as each part starts and ends. */
  runSelftest: (drill: Drill | null, onProgress: (progress: SelfTestProgress) => void) => commands.runSelftest(drill, channel(onProgress)),
};
