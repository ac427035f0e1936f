// The home page (/): start a session (simulated, Bluetooth or replay), or pick one.

import { el, fmtDate } from "./format.js";
import { ApiError, api } from "./api.js";
import { describeError, pageMessage, setupPage, withToken } from "./common.js";

const ATHLETE_KEY = "squatsense.athlete";
const SESSIONS_SHOWN = 30;
const REFRESH_MS = 5000;

const $ = (id) => document.getElementById(id);
let profiles = {};

function showKindFields() {
  const kind = $("kind").value;
  for (const node of document.querySelectorAll("[data-kinds]")) {
    node.hidden = !node.dataset.kinds.split(" ").includes(kind);
  }
  $("path").required = kind === "replay";
}

function showProfileHelp() {
  $("profile-help").textContent = profiles[$("profile").value] || "";
}

function sessionItem(s) {
  const live = Boolean(s.live);
  const href = live ? `/sessions/${encodeURIComponent(s.id)}/live` : `/sessions/${encodeURIComponent(s.id)}`;
  return el(
    "li",
    { dataset: { session: s.id } },
    el("span", { class: "who" }, s.athlete),
    el("span", {}, fmtDate(s.created_at)),
    el("span", { class: live ? "badge live" : "badge" }, live ? "live" : s.state),
    el("span", {}, `${s.rep_count} rep${s.rep_count === 1 ? "" : "s"}, ${s.cue_count} cue${s.cue_count === 1 ? "" : "s"}`),
    el(
      "a",
      { href, "aria-label": `${live ? "Watch live" : "Summary"}: ${s.athlete}, ${fmtDate(s.created_at)}` },
      live ? "Watch live" : "Summary",
    ),
  );
}

async function loadLists() {
  const [sessions, athletes] = await Promise.all([api("/api/sessions"), api("/api/athletes")]);
  const shown = sessions.sessions.slice(0, SESSIONS_SHOWN);
  $("sessions-empty").hidden = shown.length > 0;
  $("sessions").replaceChildren(...shown.map(sessionItem));
  $("athletes").replaceChildren(
    ...athletes.athletes.map((a) =>
      el(
        "li",
        {},
        el("a", { class: "who", href: `/athletes/${a.id}` }, a.name),
        el("span", {}, `${a.sessions} session${a.sessions === 1 ? "" : "s"}`),
      ),
    ),
  );
}

async function load() {
  const list = await api("/api/profiles");
  profiles = Object.fromEntries(list.profiles.map((p) => [p.name, p.description]));
  $("profile").replaceChildren(...list.profiles.map((p) => el("option", { value: p.name }, p.name)));
  showProfileHelp();
  await loadLists();
}

async function startSession(event) {
  event.preventDefault();
  const kind = $("kind").value;
  const athlete = $("athlete").value.trim();
  const source = { kind };
  if (kind === "simulated") source.profile = $("profile").value;
  if (kind === "replay") source.path = $("path").value.trim();
  if (kind === "simulated" || kind === "replay") source.speed = Number($("speed").value);
  const button = $("start");
  button.disabled = true;
  pageMessage("");
  try {
    const created = await withToken(() => api("/api/sessions", { method: "POST", body: { athlete, source } }));
    localStorage.setItem(ATHLETE_KEY, athlete);
    window.location.assign(`/sessions/${encodeURIComponent(created.id)}/live`);
  } catch (err) {
    pageMessage(`Could not start the session: ${describeError(err)}`);
    if (err instanceof ApiError && err.code === "replay_unreadable") $("path").focus();
    button.disabled = false;
  }
}

setupPage();
$("athlete").value = localStorage.getItem(ATHLETE_KEY) || "";
$("kind").addEventListener("change", showKindFields);
$("profile").addEventListener("change", showProfileHelp);
$("start-form").addEventListener("submit", startSession);
showKindFields();
withToken(load)
  .then(() => {
    setInterval(() => {
      if (document.visibilityState === "visible") loadLists().catch((err) => pageMessage(describeError(err)));
    }, REFRESH_MS);
  })
  .catch((err) => pageMessage(describeError(err)));
