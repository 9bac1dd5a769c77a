// Start-up and routing: which screen the station opens on, and the table of screens the others
// reach through `go` (app.ts).
import "./style.css";
import { api, asCommandError } from "./api";
import { session, setRoutes, Step } from "./app";
import { renderApplicant } from "./screens/applicant";
import { renderApprovals } from "./screens/approvals";
import { renderFace } from "./screens/face";
import { renderFingers } from "./screens/fingers";
import { renderHome } from "./screens/home";
import { renderReview } from "./screens/review";
import { renderSelfTest } from "./screens/selftest";
import { renderSettings } from "./screens/settings";
import { renderSetup } from "./screens/setup";
import { logout, renderLogin, renderUnlock } from "./screens/unlock";
import { errorText, toast } from "./widgets";

function renderStep(step: Step): void {
  switch (step) {
    case "applicant":
      return renderApplicant();
    case "face":
      return renderFace();
    case "fingers":
      return renderFingers();
    case "review":
      return renderReview();
  }
}

/** Where a role starts: technicians at the self-test, administrators at the settings, everyone else at the enrollment list. */
function renderStart(): void {
  if (session.officer?.role === "technician") renderSelfTest();
  else if (session.officer?.role === "administrator") renderSettings();
  else renderHome();
}

setRoutes({
  login: renderLogin,
  logout,
  start: renderStart,
  home: renderHome,
  approvals: renderApprovals,
  settings: renderSettings,
  selfTest: renderSelfTest,
  step: renderStep,
});

async function start(): Promise<void> {
  try {
    session.status = await api.stationStatus();
  } catch (e) {
    session.status = null;
    toast(errorText(asCommandError(e)));
  }
  if (session.status?.setupNeeded) renderSetup();
  else if (session.status?.locked) renderUnlock();
  else renderLogin();
}

void start();
