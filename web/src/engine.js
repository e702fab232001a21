// The store on this device: loads the right WebAssembly build, opens the
// saved store, and persists every change, sealed. The app talks to the
// store only through the satchel-wasm package's public API.
//
// Everything written to IndexedDB is sealed with the data key (`state.key`,
// held in memory while unlocked; see lock.js): snapshot generations as
// "snapshot", journal chunks as "journal", the session (with the backend
// token), the sync position and the conflicts ledger as "secret". Only the
// PIN-wrapped key and the pointer's generation number are in clear.
//
// Two builds ship (web/dist/pkg/web and pkg/legacy): browsers whose
// WebAssembly has post-MVP features (sign extension is the probe) get the
// modern one; MVP-only browsers, or `?legacy=1`, get pkg-legacy. Only that
// build's glue and .wasm are downloaded: its `entry.js` (written by
// tools/build.mjs) is inserted as a module script and hands the package
// over in an event, since `import()` is not ES2017.
import * as db from "./db.js";

/** A module using `i32.extend8_s`: valid only where sign extension exists. */
const SIGN_EXT_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127,
  3, 2, 1, 0, 10, 7, 1, 5, 0, 65, 0, 192, 11]);

/**
 * The store's byte budget: leaves room in the 64 MiB module for a snapshot
 * copy while it is sealed (sealed in place; 3 × 20 MiB if the allocator has
 * to move the buffer to grow it by the header).
 */
export const BUDGET = "20MiB";

export const state = {
  pkg: null, legacy: false, store: null, gen: 0, chunk: 0,
  session: null, rules: null, loadMs: 0, wasmUrl: "",
  // The data key (32 bytes) while unlocked; null when locked. `hasPin`:
  // a wrapped key is saved (the lock screen comes before anything else).
  key: null, hasPin: false,
  // Syncs and loads in progress: the idle lock waits for them.
  busy: 0,
  // The sync position (SyncSession.state() JSON) of what the store holds;
  // saved with every snapshot.
  syncState: null,
};

export function wantsLegacy() {
  if (/[?&]legacy=1\b/.test(location.search)) return true;
  try { return !WebAssembly.validate(SIGN_EXT_PROBE); } catch (e) { return true; }
}

/** The package of the build in `dir`: `{ init, pkg }` from its entry.js. */
function loadBuild(dir) {
  return new Promise(function (resolve, reject) {
    const script = document.createElement("script");
    const handed = function (e) {
      self.removeEventListener("satchel-pkg", handed);
      resolve(e.detail);
    };
    self.addEventListener("satchel-pkg", handed);
    script.type = "module";
    script.src = dir + "/entry.js";
    script.onerror = function () {
      self.removeEventListener("satchel-pkg", handed);
      reject(new Error("cannot load " + script.src));
    };
    document.head.appendChild(script);
  });
}

/** Loads the package (once). */
export async function boot() {
  if (state.pkg) return state.pkg;
  state.legacy = wantsLegacy();
  const dir = state.legacy ? "pkg/legacy" : "pkg/web";
  state.wasmUrl = new URL(dir + "/satchel_wasm_bg.wasm", location.href).href;
  const t = performance.now();
  const build = await loadBuild(dir);
  await build.init({ module_or_path: state.wasmUrl });
  state.pkg = build.pkg;
  state.wasmMs = performance.now() - t;
  return state.pkg;
}

function random(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

function unlocked() {
  if (!state.key) throw Object.assign(new Error("the device is locked"), { code: "LOCKED" });
  return state.key;
}

/** `value` as JSON, sealed as a secret under the data key. */
export function sealJson(value) {
  return state.pkg.sealBlob(unlocked(), "secret", random(24), new TextEncoder().encode(JSON.stringify(value)));
}

/** `bytes` sealed as a secret under the data key. */
function sealBytes(bytes) {
  return state.pkg.sealBlob(unlocked(), "secret", random(24), bytes);
}

/** What sealJson sealed (throws SEAL_TAMPERED on a wrong key or a changed byte). */
export function openJson(blob) {
  return JSON.parse(new TextDecoder().decode(state.pkg.openBlob(unlocked(), "secret", blob)));
}

/** The rep's session as saved (backend, user, device, token, settings), sealed. */
export async function loadSession() {
  const sealed = await db.get("session");
  state.session = sealed ? openJson(sealed) : null;
  return state.session;
}

export async function saveSession(patch) {
  state.session = Object.assign({}, state.session || {}, patch);
  await db.put("session", sealJson(state.session));
}

async function rules() {
  if (!state.rules) state.rules = await (await fetch("rules.json")).text();
  return state.rules;
}

/** Sets the rule set and rank context (not part of a snapshot). */
export async function configure(store) {
  store.setRules(await rules());
  const s = state.session || {};
  store.setContext({ me: s.user || "rep-0001", territories: s.territories || [] });
}

/** Opens the saved store, or null when there is none. Throws on damage. */
export async function openSaved() {
  const pkg = await boot();
  const key = unlocked();
  const saved = await db.loadSnapshot();
  if (!saved) return null;
  const t = performance.now();
  const snapshot = pkg.openBlob(key, "snapshot", saved.snapshot);
  const kept = saved.state || {};
  const syncState = kept.sync ? openJson(kept.sync).syncState : null;
  let ledger = kept.ledger ? pkg.openBlob(key, "secret", kept.ledger) : null;
  let journal = null;
  if (saved.journal.length) {
    const chunks = saved.journal.map(function (c) {
      if (c.ledger) ledger = pkg.openBlob(key, "secret", c.ledger); // the last chunk's is the newest
      return pkg.openBlob(key, "journal", c.frames);
    });
    const header = pkg.Store.journalHeader();
    let total = header.length;
    chunks.forEach(function (c) { total += c.length; });
    journal = new Uint8Array(total);
    journal.set(header, 0);
    let at = header.length;
    chunks.forEach(function (c) { journal.set(c, at); at += c.length; });
  }
  const store = pkg.Store.load(snapshot, journal, { budget: BUDGET });
  if (ledger) {
    // Lost or refused, the ledger is still safe to go without: the next
    // push meets the same 412 and raises the conflict again.
    try { store.restoreLedger(ledger); } catch (e) { console.warn("conflicts ledger not restored: " + e.message); }
  }
  await configure(store);
  state.store = store;
  state.syncState = syncState || null;
  state.gen = saved.gen;
  state.chunk = saved.journal.length;
  state.openMs = performance.now() - t;
  return store;
}

/** A fresh, empty store. */
export async function fresh() {
  const pkg = await boot();
  const store = new pkg.Store({ budget: BUDGET });
  await configure(store);
  state.store = store;
  state.syncState = null;
  return store;
}

let saving = Promise.resolve();

/** A new generation of the store and its sync position and ledger, sealed, read together. */
async function saveGeneration(gen) {
  const store = state.store;
  const bytes = store.sealSnapshot(unlocked(), random(24));
  const kept = { sync: sealJson({ syncState: state.syncState }), ledger: sealBytes(store.ledgerState()) };
  store.takeJournal(); // covered by the snapshot
  await db.saveSnapshot(gen, bytes, kept);
  state.gen = gen;
  state.chunk = 0;
}

/** Saves a whole new snapshot generation (after a load, or to fold the journal in). */
export function checkpoint() {
  saving = saving.then(function () { return saveGeneration(state.gen + 1); });
  return saving;
}

/**
 * Appends what changed since the last save (edits, acks) to the journal,
 * with the ledger as it is now. `ledgerChanged`: a conflict choice, which
 * is in the ledger only (no journal frame), so the chunk is written anyway.
 */
export function journal(ledgerChanged) {
  const frames = state.store.takeJournal();
  if (!frames.length && !ledgerChanged) return saving;
  const key = unlocked();
  const chunk = {
    frames: state.pkg.sealBlob(key, "journal", random(24), frames),
    ledger: sealBytes(state.store.ledgerState()),
  };
  saving = saving.then(async function () {
    if (state.gen === 0) {
      // No snapshot yet: these frames would follow nothing. Save one instead
      // (it holds the change already applied).
      await saveGeneration(1);
      return;
    }
    await db.appendJournal(state.gen, state.chunk, chunk);
    state.chunk += 1;
  });
  return saving;
}

/** Waits for every pending write. */
export function flushed() {
  return saving;
}

/** Drops the store and everything read from storage from memory (locking). */
export function close() {
  if (state.store) state.store.free();
  state.store = null;
  state.session = null;
  state.syncState = null;
  state.gen = 0;
  state.chunk = 0;
}

/**
 * Erases this device's data, and the wrapped key with it (a remote wipe, or
 * the rep leaving). `keepPin`: the rep connects anew on an unlocked device,
 * so the data key and its PIN wrap stay.
 */
export async function forget(keepPin) {
  const wrap = keepPin && state.key ? await db.get("keywrap") : null;
  await saving.catch(function () {});
  await db.clearAll();
  if (wrap) await db.put("keywrap", wrap);
  else state.key = null;
  state.hasPin = !!wrap;
  if (state.store) state.store.free();
  state.store = null;
  state.gen = 0;
  state.chunk = 0;
  state.session = null;
  state.syncState = null;
}
