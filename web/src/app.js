// Entry point: the lock screen first when the device has a PIN, then route
// between screens; keep the network state and the outbox badge current,
// and register the service worker.
import { boot, state } from "./engine.js";
import { hasPin, watch } from "./lock.js";
import { h, clear, toast } from "./ui/dom.js";
import * as connect from "./ui/connect.js";
import * as customers from "./ui/customers.js";
import * as card from "./ui/card.js";
import * as day from "./ui/day.js";
import * as sync from "./ui/sync.js";
import * as device from "./ui/device.js";
import * as lock from "./ui/lock.js";

const screens = { connect: connect, customers: customers, card: card, day: day, sync: sync, device: device, lock: lock };
const view = document.getElementById("view");

export function refreshBadge() {
  const badge = document.getElementById("outbox-badge");
  const n = state.store ? state.store.outboxLength : 0;
  badge.hidden = n === 0;
  badge.textContent = String(n);
}

function route() {
  const parts = location.hash.slice(1).split("/");
  let name = parts[0] || "customers";
  if (!screens[name] || name === "lock") name = "customers";
  if (!state.store) name = "connect";
  // A device with a PIN shows only the lock screen until the key is in memory.
  if (state.hasPin && !state.key) name = "lock";
  const tabs = document.getElementById("tabs");
  tabs.hidden = !state.store;
  Array.prototype.forEach.call(tabs.querySelectorAll("a"), function (a) {
    a.classList.toggle("on", a.dataset.tab === name || (name === "card" && a.dataset.tab === "customers"));
  });
  clear(view);
  view.className = "";
  view.dataset.screen = name;
  screens[name].render(view, decodeURIComponent(parts.slice(1).join("/")), { refreshBadge: refreshBadge, go: go });
  refreshBadge();
}

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function network() {
  const el = document.getElementById("net");
  el.textContent = navigator.onLine ? "online" : "offline";
  el.classList.toggle("offline", !navigator.onLine);
}

function registerWorker() {
  if (!("serviceWorker" in navigator) || !navigator.serviceWorker) return;
  let asked = false;
  navigator.serviceWorker.addEventListener("controllerchange", function () {
    if (asked) location.reload();
  });
  navigator.serviceWorker.register("sw.js").then(function (reg) {
    if (!reg) return; // blocked by policy
    const offer = function (worker) {
      toast("A new version of Satchel is ready.", {
        label: "Update",
        run: function () { asked = true; worker.postMessage("skip-waiting"); },
      });
    };
    if (reg.waiting && navigator.serviceWorker.controller) offer(reg.waiting);
    reg.addEventListener("updatefound", function () {
      const w = reg.installing;
      w.addEventListener("statechange", function () {
        if (w.state === "installed" && navigator.serviceWorker.controller) offer(w);
      });
    });
  }, function () { /* blocked or unsupported: the app works without */ });
}

async function start() {
  registerWorker();
  network();
  window.addEventListener("online", network);
  window.addEventListener("offline", network);
  watch(route);
  try {
    await boot();
    // Nothing saved is opened before the PIN: the lock screen does that.
    state.hasPin = await hasPin();
  } catch (e) {
    clear(view);
    view.appendChild(h("div", { className: "panel" },
      h("h1", null, "Satchel could not start"),
      h("p", { className: "error" }, (e.code ? e.code + ": " : "") + e.message)));
    document.body.dataset.ready = "1";
    return;
  }
  window.addEventListener("hashchange", route);
  route();
  document.body.dataset.ready = "1";
}

start();
