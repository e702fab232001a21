// Sync: online state, the outbox, and (interim, until core's SyncSession)
// a "Sync now" that pushes the outbox and pulls what changed.
import { state, saveSession, checkpoint, journal } from "../engine.js";
import { login, pull, push } from "../backend.js";
import { h, when } from "./dom.js";

function describe(edit) {
  const parts = edit.patch.set.map(function (c) { return Object.keys(c)[0]; });
  edit.patch.log.forEach(function (a) { parts.push(a.kind + " logged"); });
  if (edit.patch.delete) parts.push("deleted");
  return parts.join(", ");
}

export function render(view, _arg, app) {
  const store = state.store;
  const s = state.session || {};
  const edits = store.outbox();
  const status = h("p", { id: "sync-status", role: "status" });
  const password = h("input", { id: "sync-password", type: "password", value: "satchel", autocomplete: "current-password" });
  const needLogin = !s.token;
  const button = h("button", { type: "submit", id: "sync-now" }, "Sync now");
  button.disabled = !navigator.onLine;
  const form = h("form", { className: "panel" }, h("h2", null, "Sync"),
    h("p", { id: "online" }, navigator.onLine ? "Online." : "Offline: your edits wait in the outbox."),
    needLogin ? [h("label", { for: "sync-password" }, "Password for " + (s.user || "")), password] : null,
    h("div", { className: "row-actions" }, button), status,
    h("p", { className: "meta" }, "Last sync: " + (s.lastSync ? when(Math.floor(s.lastSync / 1000)) : "never") +
      ". Interim: pushes edits with If-Match and an idempotency key, then pulls changes from the feed."));
  form.addEventListener("submit", async function (e) {
    e.preventDefault();
    button.disabled = true;
    status.className = "";
    try {
      if (!state.session.token) {
        status.textContent = "Logging in…";
        await login(s.base, s.user, password.value, s.device);
      }
      status.textContent = "Sending " + store.outboxLength + " edits…";
      const pushed = await push(store);
      journal();
      status.textContent = "Pulling changes…";
      const pulled = await pull(store, s.watermark || null);
      await saveSession({ watermark: pulled.watermark, lastSync: Date.now(), conflicts: pushed.conflicts });
      await checkpoint();
      app.refreshBadge();
      status.className = "good";
      status.textContent = "Sent " + pushed.pushed + ", " + pushed.conflicts.length + " conflicts; received " +
        pulled.items + " changes (" + pulled.deleted + " deleted).";
      setTimeout(function () { app.go("#sync"); }, 1500);
    } catch (err) {
      status.className = "error";
      status.textContent = (err.code ? err.code + ": " : "") + err.message;
      button.disabled = false;
    }
  });

  const conflicts = s.conflicts || [];
  view.appendChild(h("h1", null, "Sync"));
  view.appendChild(form);
  view.appendChild(h("div", { className: "panel" },
    h("h2", null, "Outbox: ", h("span", { id: "outbox-count" }, String(edits.length)), " waiting"),
    conflicts.length ? h("p", { className: "error", id: "conflicts" }, conflicts.length + " conflicts: the backend changed these accounts; they stay in the outbox.") : null,
    h("ul", { className: "plain", id: "outbox" }, edits.map(function (e) {
      const a = store.get(e.id);
      return h("li", null, h("a", { href: "#card/" + encodeURIComponent(e.id) }, a ? a.name : e.id),
        h("div", { className: "meta" }, "#" + e.seq + " · " + when(e.at) + " · " + describe(e)));
    }))));
}
