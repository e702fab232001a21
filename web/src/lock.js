// The PIN lock: the data key that seals everything the app keeps (see
// engine.js), wrapped under the rep's PIN by the package (Argon2id, then
// XChaCha20-Poly1305), and the idle lock.
//
// Invariant: the data key is in memory only while unlocked, and in storage
// only wrapped ("keywrap"). A wrong PIN opens nothing and changes nothing.
// Changing the PIN re-wraps the key; the sealed data stays as it is.
// Locking waits for pending saves, then drops the store and the key.
import * as db from "./db.js";
import { state, boot, flushed, close } from "./engine.js";

export const MIN_PIN = 4;
/** Minutes without input before the app locks, unless the rep set another. */
export const DEFAULT_IDLE_MINUTES = 5;

function random(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

function checkNew(pin) {
  if (typeof pin !== "string" || pin.length < MIN_PIN) {
    throw Object.assign(new Error("a PIN has at least " + MIN_PIN + " characters"), { code: "PIN_TOO_SHORT" });
  }
}

/** True when this device has a PIN (a wrapped key) saved. */
export async function hasPin() {
  return !!(await db.get("keywrap"));
}

/** First run: a fresh random data key, wrapped under `pin` and saved; unlocked. */
export async function setPin(pin) {
  checkNew(pin);
  const pkg = await boot();
  const key = random(32);
  await db.put("keywrap", pkg.wrapKey(key, pin, random(16), random(24)));
  state.key = key;
  state.hasPin = true;
  touch();
}

/**
 * Unwraps the data key with `pin` (throws WRONG_PIN, and nothing is
 * loaded). Returns the Argon2 time in ms (a figure for the README).
 */
export async function unlock(pin) {
  const pkg = await boot();
  const wrap = await db.get("keywrap");
  if (!wrap) throw Object.assign(new Error("this device has no PIN yet"), { code: "NO_PIN" });
  const t = performance.now();
  const key = pkg.unwrapKey(wrap, pin);
  state.unlockMs = performance.now() - t;
  state.key = key;
  touch();
  return state.unlockMs;
}

/** Re-wraps the data key under `next` (throws WRONG_PIN for a wrong `old`). */
export async function changePin(old, next) {
  checkNew(next);
  const pkg = await boot();
  const wrap = await db.get("keywrap");
  await db.put("keywrap", pkg.changePin(wrap, old, next, random(16), random(24)));
}

/** Locks now: pending saves first, then the store and the key leave memory. */
export async function lock() {
  if (!state.key) return;
  clearTimeout(timer);
  await flushed().catch(function () {});
  close();
  state.key = null;
  if (onLocked) onLocked();
}

// The idle lock. Input only moves `last`; one timer re-checks at the
// deadline (cheap on every keystroke), and a page coming back from the
// background checks at once (its timers were throttled).
let last = Date.now();
let timer = null;
let onLocked = null;

export function idleMinutes() {
  const m = state.session && Number(state.session.idleMinutes);
  return m > 0 ? m : DEFAULT_IDLE_MINUTES;
}

function touch() {
  last = Date.now();
  arm(idleMinutes() * 60000);
}

function arm(ms) {
  clearTimeout(timer);
  if (state.key) timer = setTimeout(check, Math.max(50, ms));
}

function check() {
  if (!state.key) return;
  if (state.busy > 0) last = Date.now(); // a sync or load in progress is activity
  const left = idleMinutes() * 60000 - (Date.now() - last);
  if (left > 0) arm(left);
  else lock();
}

/** Starts watching for input; `locked()` is called after an idle lock. */
export function watch(locked) {
  onLocked = locked;
  ["pointerdown", "keydown", "touchstart", "wheel"].forEach(function (type) {
    window.addEventListener(type, function () { last = Date.now(); }, { passive: true, capture: true });
  });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) check(); });
}

/** The idle setting changed (or the session was loaded): re-check now. */
export function rearm() {
  arm(0);
}
