// The API from the pages: the token (kept in localStorage), JSON and CSV requests with
// the Bearer header, downloads saved through a Blob link, the live WebSocket's URL.

const TOKEN_KEY = "squatsense.token";

/** The server refused the token (401): ask for it again. */
export class AuthError extends Error {}

/** Any other error answer; `code` is the API's stable error name (docs/api.md). */
export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.code = code || "http_error";
  }
}

/** The server could not be reached at all. */
export class NetworkError extends Error {}

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(token) {
  localStorage.setItem(TOKEN_KEY, token.trim());
}

export function clearToken() {
  localStorage.removeItem(TOKEN_KEY);
}

/** A `?token=` in the page's URL (as `squatsense demo` prints it) is stored, then removed. */
export function takeTokenFromUrl() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get("token");
  if (token) {
    setToken(token);
    url.searchParams.delete("token");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
}

async function request(path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${getToken()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (err) {
    throw new NetworkError(`cannot reach the squatsense service (${err.message || err})`);
  }
  if (response.status === 401) {
    throw new AuthError("the server refused the API token");
  }
  if (!response.ok) {
    let code = "";
    let detail = "";
    try {
      const doc = await response.json();
      code = doc.error;
      detail = doc.detail;
    } catch {
      detail = `HTTP ${response.status}`;
    }
    throw new ApiError(response.status, code, detail);
  }
  return response;
}

/** JSON of an API route (null for 204). */
export async function api(path, options = {}) {
  const response = await request(path, options);
  return response.status === 204 ? null : response.json();
}

/** Text of an API route (the CSV exports). */
export async function apiText(path) {
  return (await request(path)).text();
}

function filenameOf(response, fallback) {
  const header = response.headers.get("Content-Disposition") || "";
  const match = /filename="?([^";]+)"?/i.exec(header);
  return match ? match[1] : fallback;
}

/** Fetch `path` with the token and save it as a file (a Blob link: no token in any URL). */
export async function download(path, fallbackName) {
  const response = await request(path);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filenameOf(response, fallbackName);
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
  return link.download;
}

/** The live WebSocket of a session; browsers cannot set headers, so the token is a query. */
export function liveSocketUrl(sessionId) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const token = encodeURIComponent(getToken());
  return `${scheme}//${window.location.host}/api/sessions/${encodeURIComponent(sessionId)}/live?token=${token}`;
}

/** The path segment after `prefix` in this page's URL (`/sessions/ID/live` → ID). */
export function idFromPath(prefix) {
  const parts = window.location.pathname.split("/").filter(Boolean);
  const k = parts.indexOf(prefix);
  return k >= 0 && k + 1 < parts.length ? decodeURIComponent(parts[k + 1]) : "";
}
