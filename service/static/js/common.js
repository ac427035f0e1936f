// What every page has: the token panel (entered once, kept in localStorage; a refused
// token says so plainly), a message area, and error texts for people.

import { el } from "./format.js";
import { AuthError, ApiError, NetworkError, clearToken, getToken, setToken, takeTokenFromUrl } from "./api.js";

let pendingAsk = null;

/** Show `text` in the page's message area (role="alert"); empty text hides it. */
export function pageMessage(text) {
  const box = document.getElementById("page-message");
  if (box) box.textContent = text || "";
}

/** One line for people about an error from the API or the network. */
export function describeError(err) {
  if (err instanceof AuthError) return "The server refused the API token.";
  if (err instanceof NetworkError) return "The squatsense service cannot be reached. Is it running?";
  if (err instanceof ApiError) return `${err.message} (${err.code}, HTTP ${err.status})`;
  return String((err && err.message) || err);
}

function buildTokenPanel(panel) {
  panel.replaceChildren(
    el("h2", { id: "token-title" }, "API token"),
    el("p", { id: "token-message", class: "message", role: "alert" }),
    el(
      "form",
      { id: "token-form" },
      el(
        "div",
        { class: "field" },
        el("label", { for: "token-input" }, "API token"),
        el("input", {
          id: "token-input",
          name: "token",
          type: "password",
          autocomplete: "off",
          spellcheck: "false",
          required: true,
          "aria-describedby": "token-help",
        }),
      ),
      el("button", { type: "submit", id: "token-save" }, "Use this token"),
    ),
    el(
      "p",
      { id: "token-help", class: "muted" },
      "squatsense serve prints it on its first start and keeps it in its data directory " +
        "(the file named token). It is stored in this browser only.",
    ),
  );
  panel.querySelector("form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = panel.querySelector("#token-input");
    const token = input.value.trim();
    if (!token) return;
    setToken(token);
    input.value = "";
    panel.hidden = true;
    const resolve = pendingAsk;
    pendingAsk = null;
    if (resolve) resolve();
  });
}

/** Show the token panel with `message`; resolves once a token was entered. */
export function askToken(message) {
  const panel = document.getElementById("token-panel");
  if (!panel.firstChild) buildTokenPanel(panel);
  panel.querySelector("#token-message").textContent = message;
  panel.hidden = false;
  panel.querySelector("#token-input").focus();
  return new Promise((resolve) => {
    const previous = pendingAsk;
    pendingAsk = () => {
      if (previous) previous();
      resolve();
    };
  });
}

/**
 * Run `load` (which calls the API) with a token: ask for one first if there is none,
 * and again, saying why, whenever the server refuses it.
 */
export async function withToken(load) {
  for (;;) {
    if (!getToken()) {
      await askToken("Enter the API token to use squatsense from this browser.");
    }
    try {
      return await load();
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      clearToken();
      await askToken(
        "That token was refused by the server (401 Unauthorized). Check it and enter it again.",
      );
    }
  }
}

/** Page start: take a ?token= from the URL, wire the header's token button. */
export function setupPage() {
  takeTokenFromUrl();
  const button = document.getElementById("change-token");
  if (button) {
    button.addEventListener("click", async () => {
      await askToken("Enter the API token (it replaces the one stored in this browser).");
      window.location.reload();
    });
  }
}
