// The status bar under every screen of a logged-in officer: online or not, last sync, outbox,
// and the devices in use. It refreshes itself every two seconds while it shows.
import { api, SyncStatus } from "./api";
import { session } from "./app";
import { el } from "./dom";
import { lang, t } from "./i18n";

let statusTimer: number | undefined;

function timeOf(rfc3339: string): string {
  return new Date(rfc3339).toLocaleTimeString(lang() === "id" ? "id-ID" : "en-GB", { hour: "2-digit", minute: "2-digit" });
}

export async function refreshStatusBar(): Promise<void> {
  let bar = document.getElementById("status-bar");
  if (!session.officer) {
    bar?.remove();
    return;
  }
  if (!bar) {
    bar = el("footer", { id: "status-bar", class: "status-bar", role: "status" });
    document.body.append(bar);
  }
  let sync: SyncStatus | null = null;
  try {
    sync = await api.syncStatus();
  } catch {
    sync = null;
  }
  try {
    // The devices' names and whether they are connected (a reader pulled out shows at once).
    session.status = await api.stationStatus();
  } catch {
    // Keep what was last known.
  }
  bar.replaceChildren(...syncStatus(sync), devicesStatus());
}

/** The server link, the last sync and the outbox's backlog. */
function syncStatus(sync: SyncStatus | null): HTMLElement[] {
  const offline = sync?.problem?.kind === "offline";
  const link = !sync ? "unknown" : sync.phase === "paused" ? "paused" : offline ? "offline" : sync.problem ? "trouble" : "online";
  const linkText: Record<string, string> = {
    unknown: t("Server link: unknown"),
    paused: t("Sending paused"),
    offline: t("Offline: enrollments wait in the outbox"),
    trouble: t("Server link: trouble"),
    online: t("Online"),
  };
  return [
    el("span", { id: "status-link", class: `link-${link}`, "data-link": link }, linkText[link]),
    el(
      "span",
      { id: "status-last-sync" },
      sync?.lastSuccess ? t("Last sync {time}", { time: timeOf(sync.lastSuccess) }) : t("Not synced since the app started"),
    ),
    el(
      "span",
      { id: "status-outbox" },
      sync ? t("Outbox: {count} waiting", { count: sync.backlogPackets }) : "",
    ),
  ];
}

/** The camera and reader in use, each marked when it is not connected. */
function devicesStatus(): HTMLElement {
  const status = session.status;
  const device = (name: string | undefined, ready: boolean | undefined, which: string): HTMLElement => {
    const gone = name !== undefined && ready === false;
    return el(
      "span",
      { id: `status-${which}`, class: gone ? "device-gone" : "", "data-ready": String(!gone) },
      gone ? t("{device} — not connected", { device: name }) : (name ?? "—"),
    );
  };
  return el(
    "span",
    { id: "status-devices" },
    t("Camera:"),
    " ",
    device(status?.camera, status?.cameraReady, "camera"),
    " · ",
    t("Reader:"),
    " ",
    device(status?.scanner, status?.scannerReady, "scanner"),
  );
}

export function startStatusBar(): void {
  if (statusTimer === undefined) statusTimer = window.setInterval(() => void refreshStatusBar(), 2000);
  void refreshStatusBar();
}

export function stopStatusBar(): void {
  if (statusTimer !== undefined) window.clearInterval(statusTimer);
  statusTimer = undefined;
  document.getElementById("status-bar")?.remove();
}
