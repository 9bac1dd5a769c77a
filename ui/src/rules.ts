// Rules of the domain that the screens repeat from the Rust side, kept in this one module so that
// each can be replaced by what the Rust side hands over (through bindings.ts) without a hunt
// through the screens. Nothing here decides anything the station enforces: the Rust side checks
// again; the screens only colour, order and explain by these.
import type { ErrorCode, FingerSet } from "./api";
import { N } from "./i18n";

/** The names of the three sets the reader captures (which fingers each holds, and whether it is done, come from Rust). */
export const SET_NAMES: Record<FingerSet, string> = {
  left_slap: N("Left hand"),
  right_slap: N("Right hand"),
  thumbs: N("Both thumbs"),
};

/** Stored in English (the supervisor's queue and the server read them); shown translated. */
export const EXCEPTION_REASONS = [N("Amputated"), N("Bandaged or injured"), N("Scarred or worn: no ridges to capture"), N("Other")];

/** The roles an account can have. */
export const ROLES: { value: string; label: string }[] = [
  { value: "officer", label: N("officer") },
  { value: "supervisor", label: N("supervisor") },
  { value: "technician", label: N("technician") },
  { value: "administrator", label: N("administrator") },
];

/** The values of a form field of kind `sex`. */
export const SEX_OPTIONS: [string, string][] = [
  ["F", N("F — female")],
  ["M", N("M — male")],
  ["X", N("X — unspecified")],
];

/** How long sealed packets may be kept after the server's verdict (the settings form's bounds). */
export const RETENTION_DAYS = { min: 1, max: 3650 };

/** Error codes saying the session is over (idle logout): the app goes back to the login form. */
export const SESSION_ENDED_CODES: ErrorCode[] = ["session_expired", "not_logged_in"];

/**
 * Errors whose Rust message is a fixed sentence, by code, so the officer reads them in the
 * current language; any other error shows the Rust message as it came. A Rust test (`ui_error_text`
 * in src-tauri/src/lib.rs) reads these lines as they stand, one entry a line, to check that they
 * say what Rust enforces: keep that shape.
 */
export const ERROR_TEXTS: Partial<Record<ErrorCode, string>> = {
  wrong_passphrase: N("The station passphrase is not correct."),
  weak_passphrase: N("The station passphrase must be at least 12 characters long."),
  weak_password: N("Passwords must be at least 10 characters long."),
  invalid_username: N("Usernames are 3 to 32 characters: lower-case letters, digits, '.', '_' or '-'."),
  station_locked: N("The station is locked: enter the station passphrase first."),
  station_not_set_up: N("This station is not set up yet: a technician sets it up with a one-time token from the central server."),
  already_set_up: N("This station is already set up."),
  missing_station_name: N("Give the station a name, e.g. \"Jakarta Selatan desk 3\"."),
  missing_name: N("Enter the person's name as the app should show it."),
  invalid_server_url: N("That is not a server address: it starts with https:// or http://, e.g. https://enroll.example.go.id"),
  invalid_retention: N("The retention period is 1 to 3650 days."),
  not_permitted: N("Your account may not do this."),
  bad_credentials: N("The username or password is not correct."),
  cannot_remove_yourself: N("You cannot remove your own account."),
};

/**
 * Device errors name the device and what it said (English, from the driver): in Bahasa
 * Indonesia the officer reads what to do first, the device's words after.
 */
export const DEVICE_ERROR_TEXTS: Partial<Record<ErrorCode, string>> = {
  device_retry: N("The device is busy or not ready: try again in a moment."),
  device_replug: N("The device is disconnected: reconnect it and try again."),
  device_fault: N("The device reports a problem: try again, or ask a technician to run the self-test."),
};
