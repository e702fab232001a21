// Device: what the store holds against its budget, why a record is here,
// the rule set that decides, and the lock (idle minutes, PIN change).
import { state, checkpoint, forget, saveSession, BUDGET } from "../engine.js";
import { changePin, idleMinutes, lock, rearm, MIN_PIN } from "../lock.js";
import { estimate } from "../db.js";
import { h, bytes } from "./dom.js";

export function render(view, _arg, app) {
  const store = state.store;
  const st = store.stats();
  const s = state.session || {};
  const used = st.usedBytes / st.budget;
  const kinds = h("dl", { className: "fields" });
  Object.keys(st.bytes).forEach(function (k) {
    kinds.appendChild(h("dt", null, k));
    kinds.appendChild(h("dd", null, bytes(st.bytes[k])));
  });
  const last = s.lastLoad;
  const browser = h("p", { className: "meta", id: "browser-storage" }, "Browser storage: …");
  estimate().then(function (e) {
    const persisted = navigator.storage && navigator.storage.persisted ? navigator.storage.persisted() : Promise.resolve(false);
    return persisted.then(function (p) {
      browser.textContent = e ? "Browser storage: " + bytes(e.usage || 0) + " used of " + bytes(e.quota || 0) +
        (p ? " (persistent)" : " (may be cleared by the browser)") : "Browser storage: not reported.";
    });
  });

  const id = h("input", { id: "explain-id", placeholder: "Account id, e.g. 0015g00000000FSeCk", autocomplete: "off" });
  const why = h("div", { id: "explain" });
  const explainForm = h("form", { className: "panel" }, h("h2", null, "Why is this on my device?"), id,
    h("div", { className: "row-actions" }, h("button", { type: "submit" }, "Explain")), why);
  explainForm.addEventListener("submit", function (e) {
    e.preventDefault();
    while (why.firstChild) why.removeChild(why.firstChild);
    try {
      const x = store.explain(id.value.trim());
      why.appendChild(h("p", null, x.id + ": " + x.state + ", score " + x.score + (x.pinned ? ", pinned" : "") +
        (x.cutoff !== null ? "; the last plan kept scores from " + x.cutoff : "")));
      why.appendChild(h("ul", { className: "plain" }, x.rules.map(function (r) {
        return h("li", null, h("strong", null, r.rule), " " + r.points + " points · " + r.why);
      })));
    } catch (err) {
      why.appendChild(h("p", { className: "error" }, (err.code || "") + " " + err.message));
    }
  });

  const plan = h("button", { type: "button", className: "secondary" }, "Plan now");
  plan.addEventListener("click", async function () {
    const p = store.retain();
    await checkpoint();
    app.go("#device");
    setTimeout(function () { alertLine.textContent = "Kept " + p.kept + ", stubbed " + p.stubbed + ", dropped " + p.dropped + "."; }, 0);
  });
  const alertLine = h("p", { className: "meta" });
  const leave = h("button", { type: "button", className: "secondary" }, "Forget this device's data");
  leave.addEventListener("click", async function () {
    if (store.outboxLength && !confirm(store.outboxLength + " edits have not been sent. Forget them?")) return;
    await forget();
    app.go("#connect");
  });

  view.appendChild(h("h1", null, "Device"));
  view.appendChild(h("div", { className: "grid2" },
    h("div", { className: "panel", id: "storage" }, h("h2", null, "Storage"),
      h("p", null, bytes(st.usedBytes) + " of " + bytes(st.budget) + " (" + BUDGET + " budget) used"),
      h("div", { className: "meter" }, meterFill(used)),
      h("p", null, st.records.toLocaleString() + " accounts kept in full, " + st.stubs.toLocaleString() + " as stubs (found by search, fetched when online)."),
      last ? h("p", { className: "meta" }, "Last load: " + last.items.toLocaleString() + " accounts read, " + last.kept.toLocaleString() +
        " kept" + (last.report ? ", " + last.report.skipped.toLocaleString() + " skipped, " + last.report.retained + " plans" : "")) : null,
      browser,
      h("p", { className: "meta" }, "Engine: " + (state.legacy ? "legacy WebAssembly (MVP)" : "WebAssembly") + ", " + store.outboxLength + " edits pending."),
      h("div", { className: "row-actions" }, plan, leave), alertLine),
    h("div", { className: "panel" }, h("h2", null, "Bytes by kind"), kinds)));
  view.appendChild(explainForm);
  view.appendChild(lockPanel(app));
  view.appendChild(h("div", { className: "panel" }, h("h2", null, "Rule set"),
    h("p", { className: "meta" }, "For " + (s.user || "?") + ", territories " + ((s.territories || []).join(", ") || "none") + "."),
    h("pre", { id: "rules" }, JSON.stringify(JSON.parse(store.rules() || "{}"), null, 1))));
}

function meterFill(fraction) {
  const span = document.createElement("span");
  span.style.width = Math.min(100, Math.round(fraction * 100)) + "%";
  return span;
}

/** The lock: minutes idle before it locks, lock now, change the PIN. */
function lockPanel(app) {
  const minutes = h("input", { id: "idle-minutes", type: "number", min: "0.1", max: "240", step: "0.1", value: String(idleMinutes()) });
  const idleStatus = h("p", { className: "meta", id: "idle-status", role: "status" });
  const idleForm = h("form", { id: "idle-form" },
    h("label", { for: "idle-minutes" }, "Lock after this many idle minutes"), minutes,
    h("div", { className: "row-actions" }, h("button", { type: "submit", id: "idle-save" }, "Save"),
      h("button", { type: "button", className: "secondary", id: "lock-now", onclick: function () { lock(); } }, "Lock now")),
    idleStatus);
  idleForm.addEventListener("submit", async function (e) {
    e.preventDefault();
    const m = Number(minutes.value);
    if (!(m >= 0.1 && m <= 240)) {
      idleStatus.className = "error";
      idleStatus.textContent = "Between 0.1 and 240 minutes.";
      return;
    }
    await saveSession({ idleMinutes: m });
    rearm();
    idleStatus.className = "good";
    idleStatus.textContent = "Locks after " + m + " idle minutes.";
  });

  const old = h("input", { id: "pin-old", type: "password", inputmode: "numeric", autocomplete: "current-password", required: true });
  const next = h("input", { id: "pin-new", type: "password", inputmode: "numeric", autocomplete: "new-password", minlength: String(MIN_PIN), required: true });
  const again = h("input", { id: "pin-new-again", type: "password", inputmode: "numeric", autocomplete: "new-password", required: true });
  const pinStatus = h("p", { id: "pin-status", role: "status" });
  const pinForm = h("form", { id: "pin-form" }, h("h3", null, "Change the PIN"),
    h("label", { for: "pin-old" }, "Current PIN"), old,
    h("label", { for: "pin-new" }, "New PIN"), next,
    h("label", { for: "pin-new-again" }, "New PIN again"), again,
    h("div", { className: "row-actions" }, h("button", { type: "submit", id: "pin-change" }, "Change PIN")), pinStatus);
  pinForm.addEventListener("submit", async function (e) {
    e.preventDefault();
    pinStatus.className = "";
    try {
      if (next.value !== again.value) throw new Error("the two new PINs differ");
      pinStatus.textContent = "Changing…";
      await changePin(old.value, next.value);
      pinStatus.className = "good";
      pinStatus.textContent = "PIN changed. Your data stays as it was; only its key is wrapped anew.";
    } catch (err) {
      pinStatus.className = "error";
      pinStatus.textContent = err.code === "WRONG_PIN" ? "The current PIN is wrong; nothing changed."
        : (err.code ? err.code + ": " : "") + err.message;
    }
    old.value = next.value = again.value = "";
  });
  return h("div", { className: "panel", id: "lock" }, h("h2", null, "Lock"),
    h("p", { className: "meta" }, "Everything on this device is encrypted under a key that only your PIN unwraps."), idleForm, pinForm);
}
