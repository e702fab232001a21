// Connect: choose the backend, set the device's PIN (first run), log in,
// and load the customers (the first sync, through the package's SyncSession).
import { state, fresh, saveSession, checkpoint, forget } from "../engine.js";
import { login, run } from "../backend.js";
import { setPin, MIN_PIN } from "../lock.js";
import { persist } from "../db.js";
import { h } from "./dom.js";

const REFERENCE = "http://127.0.0.1:8787";

function deviceId() {
  const b = crypto.getRandomValues(new Uint8Array(6));
  return "web-" + Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
}

export function render(view, _arg, app) {
  const s = state.session || {};
  const kind = h("select", { id: "backend-kind" },
    h("option", { value: "reference", selected: true }, "Satchel reference backend"),
    h("option", { value: "other" }, "Another backend (same protocol)"));
  const base = h("input", { id: "base", type: "url", value: s.base || REFERENCE, autocomplete: "url", required: true });
  const user = h("input", { id: "user", value: s.user || "rep-0003", autocomplete: "username", required: true });
  const password = h("input", { id: "password", type: "password", value: "satchel", autocomplete: "current-password" });
  // First run (or after a wipe): the PIN that will unlock this device.
  const needPin = !state.key;
  const pin = h("input", { id: "pin", type: "password", inputmode: "numeric", autocomplete: "new-password", minlength: String(MIN_PIN), required: true });
  const pinAgain = h("input", { id: "pin-again", type: "password", inputmode: "numeric", autocomplete: "new-password", required: true });
  const go = h("button", { type: "submit", id: "connect" }, "Connect and load");
  const status = h("p", { id: "load-status", role: "status" });
  const meter = h("div", { className: "meter" }, h("span", null));
  meter.hidden = true;
  kind.addEventListener("change", function () {
    if (kind.value === "reference") base.value = REFERENCE;
  });

  const form = h("form", { className: "panel", id: "connect-form" },
    h("h1", null, "Connect"),
    h("p", { className: "meta" }, "Demo login: any rep from rep-0001, password satchel."),
    h("label", { for: "backend-kind" }, "Backend"), kind,
    h("label", { for: "base" }, "Base URL"), base,
    h("label", { for: "user" }, "Rep"), user,
    h("label", { for: "password" }, "Password"), password,
    needPin ? [
      h("label", { for: "pin" }, "PIN for this device (at least " + MIN_PIN + " characters)"), pin,
      h("label", { for: "pin-again" }, "PIN again"), pinAgain,
      h("p", { className: "meta" }, "Everything Satchel keeps on this device is encrypted under this PIN; it locks after a few idle minutes."),
    ] : null,
    h("div", { className: "row-actions" }, go),
    meter, status);

  form.addEventListener("submit", async function (e) {
    e.preventDefault();
    go.disabled = true;
    status.className = "";
    status.textContent = "Logging in…";
    const t0 = performance.now();
    state.busy += 1;
    try {
      if (needPin && pin.value !== pinAgain.value) throw new Error("the two PINs differ");
      // Whatever this device held goes (an unlocked device keeps its PIN).
      await forget(true);
      if (needPin) {
        status.textContent = "Setting the PIN…";
        await setPin(pin.value);
      }
      status.textContent = "Logging in…";
      const device = (state.session && state.session.device) || deviceId();
      await login(base.value.trim(), user.value.trim(), password.value, device);
      await saveSession({ base: base.value.trim(), user: user.value.trim(), device: device });
      const store = await fresh();
      const me = user.value.trim();
      meter.hidden = false;
      const report = await run(store, {
        onProgress: async function (p) {
          // Records: the accounts first, then their contacts, deals and
          // the price lists.
          status.textContent = "Loaded " + p.recordsDone.toLocaleString() + " records (" + store.length.toLocaleString() +
            " accounts on the device, " + (p.bytesDone / 1048576).toFixed(1) + " MiB received)…";
          meter.firstChild.style.width = Math.min(95, 5 + p.pages * 2) + "%";
          // Saved with its sync position: a killed tab resumes from here.
          if (p.pages % 16 === 0) await checkpoint();
          await new Promise(function (r) { setTimeout(r, 0); });
        },
      });
      const seen = facets(store, me);
      const mine = seen.mine, territories = seen.territories, stages = seen.stages;
      const result = { items: report.upserted + report.skipped, report: report };
      const myTerritories = Object.keys(mine).sort(function (a, b) { return mine[b] - mine[a]; }).slice(0, 3);
      await saveSession({
        territories: myTerritories,
        facets: { territories: Object.keys(territories).sort(), stages: Object.keys(stages).sort() },
        lastSync: Date.now(),
        lastLoad: { items: result.items, kept: store.length, report: result.report },
      });
      store.setContext({ me: me, territories: myTerritories });
      store.retain();
      await checkpoint();
      await persist();
      state.loadMs = performance.now() - t0;
      meter.firstChild.style.width = "100%";
      status.className = "good";
      status.dataset.ms = String(Math.round(state.loadMs));
      status.textContent = "Loaded " + result.items.toLocaleString() + " accounts" +
        (report.relatedUpserted ? " with " + report.relatedUpserted.toLocaleString() + " contacts, deals and price lists" : "") +
        " in " + (state.loadMs / 1000).toFixed(1) + " s; " + store.length.toLocaleString() + " kept on this device.";
      setTimeout(function () { app.go("#customers"); }, 600);
    } catch (err) {
      status.className = "error";
      status.textContent = (err.code ? err.code + ": " : "") + err.message;
      go.disabled = false;
    } finally {
      state.busy -= 1;
    }
  });
  view.appendChild(form);
  view.appendChild(h("p", { className: "meta" },
    "The first sync reads the backend's account feed page by page into the store on this device; Sync continues from where it stopped."));
}

/**
 * Territories and stages for the filters, and the rep's territories (where
 * most of their accounts are), from a sample of the accounts on the device:
 * 300 found by an empty search (the search index only) plus 40 of the rep's
 * own, read one by one (about 0.3 ms each). Not every account: each read
 * inflates its record's block (seconds for 20,000 in Chromium here). A rare
 * territory may be missing from the filter.
 */
function facets(store, me) {
  const mine = {}, territories = {}, stages = {};
  const read = function (hits, own) {
    hits.forEach(function (hit) {
      const a = hit.onDevice ? store.get(hit.id) : null;
      if (!a) return;
      territories[a.territory] = 1;
      stages[a.stage] = 1;
      if (own) mine[a.territory] = (mine[a.territory] || 0) + 1;
    });
  };
  read(store.search({ text: "", limit: 300 }), false);
  read(store.search({ text: "", owner: [me], limit: 40 }), true);
  return { mine: mine, territories: territories, stages: stages };
}
