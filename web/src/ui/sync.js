// Sync: online state, "Sync now" through the package's SyncSession with its
// progress, a Stop that leaves the sync resumable, the conflicts with both
// values side by side and the rep's choice, and the outbox.
import { state, saveSession, checkpoint, journal, forget } from "../engine.js";
import { login, run, confirmWiped } from "../backend.js";
import { h, when, bytes } from "./dom.js";

function describe(edit) {
  const parts = edit.patch.set.map(function (c) { return Object.keys(c)[0]; });
  edit.patch.log.forEach(function (a) { parts.push(a.kind + " logged"); });
  if (edit.patch.delete) parts.push("deleted");
  return parts.join(", ");
}

/** A change's value as the rep reads it (`{ phone: "…" }` → the phone). */
function shown(change) {
  const k = Object.keys(change)[0];
  const v = change[k];
  if (v === null || v === undefined || v === "") return "—";
  if (k === "next_visit" || k === "last_contact") return when(v);
  if (k === "deal_value") return (v / 100).toLocaleString();
  if (k === "custom") return v.value === null ? "—" : JSON.stringify(v.value);
  if (Array.isArray(v)) return v.join(", ");
  return String(v);
}

function fieldOf(change) {
  const k = Object.keys(change)[0];
  return k === "custom" ? change.custom.name : k;
}

/** True when the saved position is in the middle of a pass (a sync was cut off). */
function interrupted() {
  try {
    return JSON.parse(state.syncState || "{}").feeds.some(function (f) { return f.in_pass; });
  } catch (e) {
    return false;
  }
}

function progressText(p) {
  const records = p.recordsExpected !== null ? p.recordsDone.toLocaleString() + " of " + p.recordsExpected.toLocaleString()
    : p.recordsDone.toLocaleString();
  return "Edits sent " + p.editsDone + " of " + p.editsExpected + " · records received " + records +
    " · " + p.pages + " pages, " + bytes(p.bytesDone);
}

function conflictPanel(store, app) {
  const conflicts = store.conflicts();
  if (!conflicts.length) return null;
  return h("div", { className: "panel", id: "conflicts" },
    h("h2", null, conflicts.length + (conflicts.length === 1 ? " conflict" : " conflicts")),
    h("p", { className: "meta" }, "The backend changed these accounts while you edited them. Your edit stays in the outbox until you choose; the next sync carries out the choice."),
    conflicts.map(function (c) {
      const a = store.get(c.id);
      const choose = function (side) {
        return function () {
          try {
            store.resolveConflict(c.seq, side);
            journal(true); // the choice is in the ledger: saved with a chunk
            app.go("#sync");
          } catch (err) {
            note.textContent = (err.code ? err.code + ": " : "") + err.message;
          }
        };
      };
      const note = h("p", { className: "meta" }, c.resolution ? "Chosen: " + (c.resolution === "local" ? "yours" : "theirs") + "; sent with the next sync." : "");
      let body;
      if (c.clashes.length) {
        body = h("table", { className: "clashes" },
          h("thead", null, h("tr", null, h("th", null, "Field"), h("th", null, "Yours"), h("th", null, "Theirs (backend)"))),
          h("tbody", null, c.clashes.map(function (x) {
            return h("tr", { "data-field": fieldOf(x.local) }, h("td", null, fieldOf(x.local)),
              h("td", { className: "local" }, shown(x.local)), h("td", { className: "server" }, shown(x.server)));
          })));
      } else if (c.server_deleted) {
        body = h("p", null, "The backend deleted this account; yours has edits.");
      } else {
        body = h("p", null, "You deleted this account; the backend changed it (version " + c.server_version + ").");
      }
      return h("div", { className: "conflict", "data-seq": String(c.seq) },
        h("h3", null, h("a", { href: "#card/" + encodeURIComponent(c.id) }, a ? a.name : c.id), " ",
          h("span", { className: "meta" }, "edit #" + c.seq)),
        body,
        h("div", { className: "row-actions" },
          h("button", { type: "button", className: "keep-mine", onclick: choose("local") }, "Keep mine"),
          h("button", { type: "button", className: "secondary take-theirs", onclick: choose("server") }, "Take theirs")),
        note);
    }));
}

export function render(view, _arg, app) {
  const store = state.store;
  const s = state.session || {};
  const edits = store.outbox();
  const status = h("p", { id: "sync-status", role: "status" });
  const progress = h("p", { id: "sync-progress", className: "meta" });
  const meter = h("div", { className: "meter" }, h("span", null));
  meter.hidden = true;
  const password = h("input", { id: "sync-password", type: "password", value: "satchel", autocomplete: "current-password" });
  const needLogin = !s.token;
  const button = h("button", { type: "submit", id: "sync-now" }, "Sync now");
  const stop = h("button", { type: "button", id: "sync-stop", className: "secondary" }, "Stop");
  stop.hidden = true;
  button.disabled = !navigator.onLine;
  let controller = null;
  stop.addEventListener("click", function () { if (controller) controller.abort(); });
  const form = h("form", { className: "panel" }, h("h2", null, "Sync"),
    h("p", { id: "online" }, navigator.onLine ? "Online." : "Offline: your edits wait in the outbox."),
    needLogin ? [h("label", { for: "sync-password" }, "Password for " + (s.user || "")), password] : null,
    interrupted() ? h("p", { id: "sync-resume", className: "meta" }, "A sync was interrupted; Sync now continues where it stopped.") : null,
    h("div", { className: "row-actions" }, button, stop), meter, progress, status,
    h("p", { className: "meta" }, "Last sync: " + (s.lastSync ? when(Math.floor(s.lastSync / 1000)) : "never") +
      ". Sends your edits (each exactly once), then receives what changed."));
  form.addEventListener("submit", async function (e) {
    e.preventDefault();
    button.disabled = true;
    status.className = "";
    controller = new AbortController();
    state.busy += 1; // no idle lock under a running sync
    try {
      if (!state.session.token) {
        status.textContent = "Logging in…";
        await login(s.base, s.user, password.value, s.device);
      }
      stop.hidden = false;
      meter.hidden = false;
      status.textContent = "Syncing…";
      const report = await run(store, {
        signal: controller.signal,
        onProgress: async function (p) {
          progress.textContent = progressText(p);
          const total = p.editsExpected + (p.recordsExpected || 0);
          meter.firstChild.style.width = (total ? Math.min(100, 100 * (p.editsDone + p.recordsDone) / total) : Math.min(95, 5 + p.pages * 5)) + "%";
          // The store and its position saved together now and then: a
          // killed tab resumes from the last save.
          if (p.pages % 16 === 15) await checkpoint();
        },
      });
      await checkpoint();
      await saveSession({ lastSync: Date.now() });
      app.refreshBadge();
      status.className = "good";
      status.textContent = "Sent " + report.pushed + ", " + report.conflicts + " conflicts; received " +
        report.upserted + " changes (" + report.deleted + " deleted)" +
        (report.relatedUpserted + report.relatedDeleted ? ", " + (report.relatedUpserted + report.relatedDeleted) +
          " to contacts, deals and price lists" : "") + ".";
      meter.firstChild.style.width = "100%";
      // Redraw the outbox and conflicts, unless the rep went elsewhere.
      setTimeout(function () { if (location.hash === "#sync") app.go("#sync"); }, 1500);
    } catch (err) {
      if (err.code === "WIPE_REQUIRED") {
        store.erase();
        try { await confirmWiped(); } catch (x) { /* the flag stays: the next login asks again */ }
        await forget(); // the data key and its PIN wrap too
        app.go("#connect");
        return;
      }
      // Whatever was applied is kept, with its position: save it.
      await checkpoint();
      app.refreshBadge();
      status.className = "error";
      status.textContent = err.code === "SYNC_ABORTED" ? "Stopped. Sync now continues where it stopped."
        : (err.code ? err.code + ": " : "") + err.message;
      button.disabled = false;
    } finally {
      state.busy -= 1;
      stop.hidden = true;
      controller = null;
    }
  });

  view.appendChild(h("h1", null, "Sync"));
  view.appendChild(form);
  const conflicts = conflictPanel(store, app);
  if (conflicts) view.appendChild(conflicts);
  view.appendChild(h("div", { className: "panel" },
    h("h2", null, "Outbox: ", h("span", { id: "outbox-count" }, String(edits.length)), " waiting"),
    h("ul", { className: "plain", id: "outbox" }, edits.map(function (e) {
      const a = store.get(e.id);
      return h("li", null, h("a", { href: "#card/" + encodeURIComponent(e.id) }, a ? a.name : e.id),
        h("div", { className: "meta" }, "#" + e.seq + " · " + when(e.at) + " · " + describe(e)));
    }))));
}
