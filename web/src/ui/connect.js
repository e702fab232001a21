// Connect: choose the backend, log in, and load the customers.
import { state, fresh, saveSession, checkpoint, forget } from "../engine.js";
import { login, pull } from "../backend.js";
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
    h("div", { className: "row-actions" }, go),
    meter, status);

  form.addEventListener("submit", async function (e) {
    e.preventDefault();
    go.disabled = true;
    status.className = "";
    status.textContent = "Logging in…";
    const t0 = performance.now();
    try {
      if (state.store) await forget();
      const device = (state.session && state.session.device) || deviceId();
      await login(base.value.trim(), user.value.trim(), password.value, device);
      await saveSession({ base: base.value.trim(), user: user.value.trim(), device: device });
      const store = await fresh();
      const me = user.value.trim();
      const mine = {}, territories = {}, stages = {};
      meter.hidden = false;
      const result = await pull(store, null, async function (p) {
        p.page.forEach(function (a) {
          if (a.deleted) return;
          territories[a.territory] = 1;
          stages[a.stage] = 1;
          if (a.owner === me) mine[a.territory] = (mine[a.territory] || 0) + 1;
        });
        status.textContent = "Loaded " + p.items.toLocaleString() + " accounts (" + store.length.toLocaleString() + " on the device)…";
        meter.firstChild.style.width = Math.min(100, 5 + p.pages * 3) + "%";
        if (p.pages % 8 === 0) await checkpoint();
        await new Promise(function (r) { setTimeout(r, 0); });
      });
      const myTerritories = Object.keys(mine).sort(function (a, b) { return mine[b] - mine[a]; }).slice(0, 3);
      await saveSession({
        territories: myTerritories,
        facets: { territories: Object.keys(territories).sort(), stages: Object.keys(stages).sort() },
        watermark: result.watermark,
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
      status.textContent = "Loaded " + result.items.toLocaleString() + " accounts in " + (state.loadMs / 1000).toFixed(1) +
        " s; " + store.length.toLocaleString() + " kept on this device.";
      setTimeout(function () { app.go("#customers"); }, 600);
    } catch (err) {
      status.className = "error";
      status.textContent = (err.code ? err.code + ": " : "") + err.message;
      go.disabled = false;
    }
  });
  view.appendChild(form);
  view.appendChild(h("p", { className: "meta" },
    "Interim loader: until sync lands in the core, the app reads the backend's account feed page by page into the store on this device."));
}
