// Lock: the PIN before anything saved is opened (after a reload, or after
// the idle lock). A wrong PIN says so and opens nothing.
import { state, loadSession, openSaved, forget } from "../engine.js";
import { unlock, rearm } from "../lock.js";
import { h } from "./dom.js";

export function render(view, _arg, app) {
  const pin = h("input", { id: "unlock-pin", type: "password", inputmode: "numeric", autocomplete: "current-password", required: true });
  const go = h("button", { type: "submit", id: "unlock" }, "Unlock");
  const status = h("p", { id: "unlock-status", role: "alert" });
  const form = h("form", { className: "panel", id: "lock-form" },
    h("h1", null, "Satchel is locked"),
    h("p", { className: "meta" }, "Your customers on this device are encrypted. Enter your PIN to open them."),
    h("label", { for: "unlock-pin" }, "PIN"), pin,
    h("div", { className: "row-actions" }, go), status);
  form.addEventListener("submit", async function (e) {
    e.preventDefault();
    go.disabled = true;
    status.className = "";
    status.textContent = "Unlocking…";
    try {
      await unlock(pin.value);
    } catch (err) {
      pin.value = "";
      go.disabled = false;
      status.className = "error";
      status.textContent = err.code === "WRONG_PIN" ? "Wrong PIN. Nothing was opened; try again."
        : (err.code ? err.code + ": " : "") + err.message;
      pin.focus();
      return;
    }
    try {
      await loadSession();
      rearm();
      await openSaved();
    } catch (err) {
      // Unlocked, but the saved store is damaged: say so; Connect loads anew.
      state.store = null;
      status.className = "error";
      status.textContent = "The saved customers could not be opened: " + (err.code ? err.code + ": " : "") + err.message +
        ". Your device keeps its data as it was. Connect again to load your customers anew.";
      const again = h("button", { type: "button", className: "secondary", id: "unlock-connect" }, "Connect again");
      again.addEventListener("click", function () { app.go("#connect"); });
      form.appendChild(again);
      return;
    }
    app.go(location.hash || "#customers");
  });

  const erase = h("button", { type: "button", className: "secondary", id: "lock-erase" }, "Forgot the PIN: erase this device");
  erase.addEventListener("click", async function () {
    if (!confirm("Erase every customer and unsent edit on this device? They cannot be opened without the PIN.")) return;
    await forget();
    app.go("#connect");
  });
  view.appendChild(form);
  view.appendChild(h("p", { className: "meta" }, erase));
  setTimeout(function () { pin.focus(); }, 0);
}
