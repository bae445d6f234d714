// Warden's admin console. It calls the same JSON API as everyone else (/api/v1) and keeps no
// rules of its own: every decision and every message comes from the API. User data is only
// ever inserted as text (textContent), never as HTML. The token lives in sessionStorage (this
// tab only), never in local storage, a cookie or a URL.
"use strict";

const TOKEN_KEY = "warden.console.token";
const PAGE_SIZE = 20;

// ---- The API ---------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, envelope) {
    super((envelope && envelope.message) || "The server did not answer as expected (HTTP " + status + ")");
    this.status = status;
    this.data = envelope ? envelope.data : null;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (_) {
    throw new ApiError(0, { message: "Warden could not be reached. Check your connection and try again." });
  }
  let envelope = null;
  try { envelope = await response.json(); } catch (_) { envelope = null; }
  if (response.status === 401 && token) {
    // An expired or revoked token (or a deactivated admin): back to sign-in.
    signOut("Your session has ended (" + ((envelope && envelope.message) || "signed out") + "). Sign in again.");
    throw new ApiError(401, envelope);
  }
  if (!response.ok) throw new ApiError(response.status, envelope);
  return envelope ? envelope.data : null;
}

// Field errors of a 422, as "field: message" lines, after the envelope's message.
function describe(error) {
  const lines = [error.message];
  const errors = error.data && error.data.errors;
  if (Array.isArray(errors)) {
    for (const e of errors) lines.push((e.field ? e.field + ": " : "") + (e.message || ""));
  }
  return lines.join(" — ");
}

// ---- DOM helpers (text only) -----------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

let fieldCounter = 0;
// A labelled control: <label for> + the control.
function field(labelText, control) {
  const id = control.id || "f" + (++fieldCounter);
  control.id = id;
  return el("div", { class: "field" }, el("label", { for: id, text: labelText }), control);
}

function select(name, options, value) {
  const node = el("select", { name });
  for (const [optionValue, text] of options) {
    node.append(el("option", { value: optionValue, text, selected: optionValue === value }));
  }
  return node;
}

function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return isNaN(date) ? iso : date.toLocaleString() + " (" + iso + ")";
}

function show(...nodes) {
  const main = document.getElementById("main");
  main.replaceChildren(...nodes);
}

function notice(text, bad) {
  const box = document.getElementById("notice");
  box.className = bad ? "bad" : "";
  box.textContent = text || "";
}

function statusBadge(user) {
  return el("span", { class: "badge " + (user.is_active ? "active" : "inactive"), text: user.is_active ? "Active" : "Deactivated" });
}

function fullName(user) {
  return [user.first_name, user.last_name].filter(Boolean).join(" ");
}

function actorText(actor) {
  if (!actor) return "—";
  return actor.name + " (" + actor.kind + ")";
}

// ---- Session ---------------------------------------------------------------------------

let me = null;

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  me = null;
  document.getElementById("nav").hidden = true;
  document.getElementById("sign-out").hidden = true;
  document.getElementById("who").textContent = "";
  const dialog = document.getElementById("dialog");
  if (dialog.open) dialog.close();
  renderSignIn(message);
}

function renderSignIn(message) {
  const email = el("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = el("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const error = el("p", { class: "error", role: "alert", id: "signin-error", text: message || "" });
  const form = el("form", { class: "card signin", novalidate: true },
    el("h1", { text: "Sign in to Warden" }),
    field("Email", email),
    field("Password", password),
    error,
    el("div", { class: "actions" }, el("button", { type: "submit", class: "primary", text: "Sign in" })));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const data = await api("POST", "/api/v1/auth/login", { email: email.value, password: password.value });
      sessionStorage.setItem(TOKEN_KEY, data.access_token);
      const account = await api("GET", "/api/v1/users/me");
      if (account.role !== "admin") {
        sessionStorage.removeItem(TOKEN_KEY);
        error.textContent = "This console is for admins only. " + account.email + " is not an admin.";
        return;
      }
      password.value = "";
      startSession(account);
    } catch (e) {
      sessionStorage.removeItem(TOKEN_KEY);
      error.textContent = describe(e);
    }
  });
  notice("");
  show(form);
  email.focus();
}

function startSession(account) {
  me = account;
  document.getElementById("nav").hidden = false;
  document.getElementById("sign-out").hidden = false;
  document.getElementById("who").textContent = "Signed in as " + account.email;
  if (!location.hash || location.hash === "#") location.hash = "#/users";
  else route();
}

// ---- Pages -----------------------------------------------------------------------------

function parseHash() {
  const hash = location.hash.replace(/^#/, "") || "/users";
  const [path, query] = hash.split("?");
  return { parts: path.split("/").filter(Boolean), params: new URLSearchParams(query || "") };
}

async function route() {
  if (!sessionStorage.getItem(TOKEN_KEY)) return renderSignIn();
  if (!me) {
    try {
      const account = await api("GET", "/api/v1/users/me");
      if (account.role !== "admin") return signOut("This console is for admins only.");
      me = account;
      startSession(account);
      return;
    } catch (e) {
      if (e.status !== 401) signOut(describe(e));
      return;
    }
  }
  const { parts, params } = parseHash();
  try {
    if (parts[0] === "users" && parts[1]) await renderUser(parts[1]);
    else if (parts[0] === "audit") await renderAudit(params);
    else await renderUsers(params);
    // Move focus to the new page for keyboard and screen-reader users, from its top.
    document.getElementById("main").focus({ preventScroll: true });
    window.scrollTo(0, 0);
  } catch (e) {
    if (e.status !== 401) notice(describe(e), true);
  }
}

async function renderUsers(params) {
  const q = params.get("q") || "";
  const status = params.get("status") || "all";
  const role = params.get("role") || "";
  const cursor = params.get("cursor") || "";
  const query = new URLSearchParams({ limit: PAGE_SIZE, status });
  if (q) query.set("q", q);
  if (role) query.set("role", role);
  if (cursor) query.set("cursor", cursor);
  const page = await api("GET", "/api/v1/users?" + query);

  const search = el("input", { type: "search", name: "q", value: q, placeholder: "email or name" });
  const statusSelect = select("status", [["all", "All"], ["active", "Active"], ["inactive", "Deactivated"]], status);
  const roleSelect = select("role", [["", "Any"], ["admin", "Admin"], ["helpdesk", "Helpdesk"], ["user", "User"]], role);
  const form = el("form", { class: "card filters", role: "search" },
    field("Search users", search), field("Status", statusSelect), field("Role", roleSelect),
    el("div", {}, el("button", { type: "submit", class: "primary", text: "Search" })));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (search.value.trim()) next.set("q", search.value.trim());
    if (statusSelect.value !== "all") next.set("status", statusSelect.value);
    if (roleSelect.value) next.set("role", roleSelect.value);
    const target = "#/users?" + next;
    if (location.hash === target) route(); else location.hash = target;
  });

  const rows = page.users.map((user) => el("tr", {},
    el("td", { "data-label": "Email" }, el("a", { href: "#/users/" + encodeURIComponent(user.id), text: user.email })),
    el("td", { "data-label": "Name", text: fullName(user) }),
    el("td", { "data-label": "Role", text: user.role }),
    el("td", { "data-label": "Status" }, statusBadge(user))));
  const table = rows.length
    ? el("table", {}, el("caption", { class: "muted", text: (q ? "Accounts matching \u201c" + q + "\u201d" : "Accounts") + ", newest first" }),
      el("thead", {}, el("tr", {}, ...["Email", "Name", "Role", "Status"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, ...rows))
    : el("p", { class: "muted", text: q ? "No account matches \u201c" + q + "\u201d." : "No account matches." });

  const pager = el("div", { class: "pager" });
  if (cursor) pager.append(el("button", { type: "button", text: "First page", onclick: () => go(params, "cursor", null) }));
  if (page.next_cursor) pager.append(el("button", { type: "button", text: "Next page", onclick: () => go(params, "cursor", page.next_cursor) }));
  show(el("h1", { text: "Users" }), form, table, pager);
}

function go(params, name, value) {
  const next = new URLSearchParams(params);
  if (value) next.set(name, value); else next.delete(name);
  const { parts } = parseHash();
  location.hash = "#/" + parts.join("/") + "?" + next;
}

async function renderUser(id) {
  const path = "/api/v1/users/" + encodeURIComponent(id);
  const [user, access, history] = await Promise.all([
    api("GET", path), api("GET", path + "/access"), api("GET", path + "/events?limit=50"),
  ]);
  const deactivated = (access.reasons || []).find((r) => r.code === "deactivated");

  const facts = el("dl", {},
    el("dt", { text: "Email" }), el("dd", { text: user.email }),
    el("dt", { text: "Name" }), el("dd", { text: fullName(user) || "—" }),
    el("dt", { text: "Role" }), el("dd", { text: user.role }),
    el("dt", { text: "Status" }), el("dd", {}, statusBadge(user)));
  if (!user.is_active) {
    facts.append(
      el("dt", { text: "Deactivated" }), el("dd", { text: when(user.deactivated_at) }),
      el("dt", { text: "By" }), el("dd", { text: deactivated ? actorText(deactivated.by) : (user.deactivated_by || "—") }),
      el("dt", { text: "Reason" }), el("dd", { text: user.deactivation_reason || "—" }),
      el("dt", { text: "Until" }), el("dd", { text: user.deactivated_until ? when(user.deactivated_until) : "No end date" }));
  }
  const action = user.is_active
    ? el("button", { type: "button", class: "danger", text: "Deactivate", onclick: () => confirmDeactivate(user) })
    : el("button", { type: "button", class: "primary", text: "Reactivate", onclick: () => confirmReactivate(user) });

  const reasons = (access.reasons || []).map((r) => el("li", { text: r.message }));
  const accessCard = el("section", { class: "card", "aria-labelledby": "access-title" },
    el("h2", { id: "access-title", text: "Can this user sign in?" }),
    el("p", { text: access.can_sign_in ? "Yes: nothing stands in the way." : "No." }),
    reasons.length ? el("ul", {}, ...reasons) : null);

  show(el("p", {}, el("a", { href: "#/users", text: "← All users" })),
    el("h1", { text: fullName(user) || user.email }),
    el("section", { class: "card" }, facts, el("div", { class: "actions" }, action)),
    accessCard,
    el("h2", { text: "History" }),
    eventsTable(history.events, false));
}

function eventsTable(events, withTarget) {
  if (!events.length) return el("p", { class: "muted", text: "No events." });
  const headings = ["When", "Action"].concat(withTarget ? ["Account"] : [], ["By", "Reason"]);
  return el("table", {},
    el("thead", {}, el("tr", {}, ...headings.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...events.map((event) => el("tr", {},
      el("td", { "data-label": "When", text: when(event.at) }),
      el("td", { "data-label": "Action", text: event.action }),
      withTarget ? el("td", { "data-label": "Account" }, event.target_id
        ? el("a", { href: "#/users/" + encodeURIComponent(event.target_id), text: event.target_id })
        : el("span", { text: event.target.kind + " " + event.target.id })) : null,
      el("td", { "data-label": "By", text: actorText(event.actor) }),
      el("td", { "data-label": "Reason", text: event.reason || "—" })))));
}

async function renderAudit(params) {
  const query = new URLSearchParams({ limit: PAGE_SIZE });
  for (const name of ["action", "actor_id", "target_id", "since", "until", "cursor"]) {
    if (params.get(name)) query.set(name, params.get(name));
  }
  const page = await api("GET", "/api/v1/events?" + query);
  const action = select("action", [["", "Any"], ["deactivated", "Deactivated"], ["reactivated", "Reactivated"],
    ["profile_updated", "Profile updated"], ["client_created", "Client created"], ["client_revoked", "Client revoked"],
    ["webhook_created", "Webhook created"], ["webhook_updated", "Webhook updated"],
    ["webhook_secret_rotated", "Webhook secret rotated"], ["webhook_deleted", "Webhook deleted"]], params.get("action") || "");
  const actor = el("input", { type: "text", name: "actor_id", value: params.get("actor_id") || "", placeholder: "an account or client id" });
  const target = el("input", { type: "text", name: "target_id", value: params.get("target_id") || "" });
  const since = el("input", { type: "datetime-local", name: "since", value: localValue(params.get("since")) });
  const until = el("input", { type: "datetime-local", name: "until", value: localValue(params.get("until")) });
  const form = el("form", { class: "card filters", role: "search" },
    field("Action", action), field("Actor id", actor), field("Account id", target), field("Since", since), field("Until", until),
    el("div", {}, el("button", { type: "submit", class: "primary", text: "Filter" })));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (action.value) next.set("action", action.value);
    if (actor.value.trim()) next.set("actor_id", actor.value.trim());
    if (target.value.trim()) next.set("target_id", target.value.trim());
    if (since.value) next.set("since", new Date(since.value).toISOString());
    if (until.value) next.set("until", new Date(until.value).toISOString());
    const targetHash = "#/audit?" + next;
    if (location.hash === targetHash) route(); else location.hash = targetHash;
  });
  const pager = el("div", { class: "pager" });
  if (params.get("cursor")) pager.append(el("button", { type: "button", text: "First page", onclick: () => go(params, "cursor", null) }));
  if (page.next_cursor) pager.append(el("button", { type: "button", text: "Next page", onclick: () => go(params, "cursor", page.next_cursor) }));
  show(el("h1", { text: "Audit log" }), form, eventsTable(page.events, true), pager);
}

// An RFC 3339 instant as a datetime-local value (local time, minutes).
function localValue(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (isNaN(date)) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + "T" + pad(date.getHours()) + ":" + pad(date.getMinutes());
}

// ---- Confirmations ---------------------------------------------------------------------

function confirmDeactivate(user) {
  const reason = el("textarea", { name: "reason", rows: 3, maxlength: 500 });
  const until = el("input", { type: "datetime-local", name: "until", "aria-describedby": "until-hint" });
  openDialog({
    title: "Deactivate " + user.email + "?",
    text: "Every token the account holds stops working at once, and the user is emailed.",
    fields: [
      field("Reason", reason),
      field("Until", until),
      el("p", { id: "until-hint", class: "muted", text: "Optional. Empty: until an admin reactivates the account. A date: Warden reactivates it by itself then." }),
    ],
    run: async () => {
      const body = { user_id: user.id };
      if (reason.value.trim()) body.reason = reason.value.trim();
      if (until.value) body.until = new Date(until.value).toISOString();
      await api("PATCH", "/api/v1/users/deactivate", body);
      return "Deactivated " + user.email + ".";
    },
    focus: reason,
  });
}

function confirmReactivate(user) {
  openDialog({
    title: "Reactivate " + user.email + "?",
    text: "The user can sign in again; tokens issued before stay revoked.",
    fields: [],
    run: async () => {
      await api("PATCH", "/api/v1/users/reactivate", { user_id: user.id });
      return "Reactivated " + user.email + ".";
    },
  });
}

let pending = null;

function openDialog({ title, text, fields, run, focus }) {
  const dialog = document.getElementById("dialog");
  document.getElementById("dialog-title").textContent = title;
  document.getElementById("dialog-text").textContent = text;
  document.getElementById("dialog-fields").replaceChildren(...fields);
  document.getElementById("dialog-error").textContent = "";
  pending = run;
  dialog.showModal();
  (focus || document.getElementById("dialog-cancel")).focus();
}

async function confirmPending(event) {
  event.preventDefault();
  if (!pending) return;
  const confirm = document.getElementById("dialog-confirm");
  confirm.disabled = true;
  try {
    const message = await pending();
    pending = null;
    document.getElementById("dialog").close();
    await route();
    notice(message);
  } catch (e) {
    // The guards' messages (self, last admin, already) as the API words them.
    if (e.status !== 401) document.getElementById("dialog-error").textContent = describe(e);
  } finally {
    confirm.disabled = false;
  }
}

// ---- Start -----------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("dialog-form").addEventListener("submit", confirmPending);
  document.getElementById("dialog-cancel").addEventListener("click", () => {
    pending = null;
    document.getElementById("dialog").close();
  });
  document.getElementById("sign-out").addEventListener("click", () => signOut("Signed out."));
  window.addEventListener("hashchange", () => { notice(""); route(); });
  route();
});
