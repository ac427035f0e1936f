// The summary page (/sessions/{id}): what a coach reads after the set.

import { el, parseCsv } from "./format.js";
import { ApiError, api, apiText, download, idFromPath } from "./api.js";
import { describeError, pageMessage, setupPage, withToken } from "./common.js";
import { renderSummary } from "./summary_view.js";

const REFRESH_MS = 5000;
const $ = (id) => document.getElementById(id);

function downloadButtons(session) {
  const id = encodeURIComponent(session.id);
  const status = el("p", { class: "muted", role: "status", id: "download-status" });
  const files = [
    [`/api/sessions/${id}/reps.csv`, "reps.csv", "Download reps.csv"],
    [`/api/sessions/${id}/angles.csv`, "angles.csv", "Download angles.csv"],
    [`/api/sessions/${id}/raw.csv`, "raw.csv", "Download raw.csv"],
    [`/api/athletes/${session.athlete_id}/reps.csv`, "athlete-reps.csv", `Download all of ${session.athlete}'s reps (CSV)`],
  ];
  const buttons = files.map(([path, name, label]) =>
    el(
      "button",
      {
        type: "button",
        class: "secondary",
        dataset: { file: name },
        onclick: async (event) => {
          const button = event.currentTarget;
          button.disabled = true;
          status.textContent = `Downloading ${name}…`;
          try {
            const saved = await withToken(() => download(path, name));
            status.textContent = `Saved ${saved}.`;
          } catch (err) {
            status.textContent = "";
            pageMessage(`Download failed: ${describeError(err)}`);
          } finally {
            button.disabled = false;
          }
        },
      },
      label,
    ),
  );
  return el("div", {}, el("div", { class: "downloads" }, buttons), status);
}

async function load(sessionId) {
  const id = encodeURIComponent(sessionId);
  const session = await api(`/api/sessions/${id}`);
  const [summary, repsText] = await Promise.all([api(`/api/sessions/${id}/summary`), apiText(`/api/sessions/${id}/reps.csv`)]);
  const root = $("summary");
  renderSummary(
    root,
    { session, summary, reps: parseCsv(repsText).rows },
    {
      athleteHref: `/athletes/${session.athlete_id}`,
      liveHref: session.live ? `/sessions/${id}/live` : null,
      downloads: downloadButtons(session),
    },
  );
  root.removeAttribute("aria-busy");
  document.title = `squatsense · ${session.athlete} · summary`;
  return session;
}

setupPage();
const sessionId = idFromPath("sessions");
async function run() {
  try {
    let session = await withToken(() => load(sessionId));
    while (session.live) {
      await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
      session = await withToken(() => load(sessionId));
    }
  } catch (err) {
    const root = $("summary");
    root.removeAttribute("aria-busy");
    root.replaceChildren();
    if (err instanceof ApiError && err.status === 404) pageMessage(`There is no session ${sessionId}.`);
    else if (err instanceof ApiError && err.code === "session_state") pageMessage(`No summary: ${err.message}.`);
    else pageMessage(describeError(err));
  }
}
run();
