// The store on this device: loads the right WebAssembly build, opens the
// saved store, and persists every change. The app talks to the store only
// through the satchel-wasm package's public API.
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

/** The store's byte budget: leaves room in the 64 MiB module for a snapshot copy. */
export const BUDGET = "24MiB";

export const state = {
  pkg: null, legacy: false, store: null, gen: 0, chunk: 0,
  session: null, rules: null, loadMs: 0, wasmUrl: "",
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

/** The rep's session as saved (backend, user, device, watermark; never the token). */
export async function loadSession() {
  state.session = (await db.get("session")) || null;
  return state.session;
}

export async function saveSession(patch) {
  state.session = Object.assign({}, state.session || {}, patch);
  const saved = Object.assign({}, state.session);
  delete saved.token; // tokens stay in memory only
  await db.put("session", saved);
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
  const saved = await db.loadSnapshot();
  if (!saved) return null;
  const t = performance.now();
  let journal = null;
  if (saved.journal.length) {
    const header = pkg.Store.journalHeader();
    let total = header.length;
    saved.journal.forEach(function (c) { total += c.length; });
    journal = new Uint8Array(total);
    journal.set(header, 0);
    let at = header.length;
    saved.journal.forEach(function (c) { journal.set(c, at); at += c.length; });
  }
  const store = pkg.Store.load(saved.snapshot, journal, { budget: BUDGET });
  await configure(store);
  state.store = store;
  state.syncState = saved.syncState;
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

/** Saves a whole new snapshot generation (after a load, or to fold the journal in). */
export function checkpoint() {
  saving = saving.then(async function () {
    const store = state.store;
    // The store and its sync position, read together.
    const bytes = store.snapshot();
    const sync = state.syncState;
    store.takeJournal(); // covered by the snapshot
    const gen = state.gen + 1;
    await db.saveSnapshot(gen, bytes, sync);
    state.gen = gen;
    state.chunk = 0;
  });
  return saving;
}

/** Appends what changed since the last save (edits, acks) to the journal. */
export function journal() {
  const frames = state.store.takeJournal();
  if (!frames.length) return saving;
  saving = saving.then(async function () {
    if (state.gen === 0) {
      // No snapshot yet: these frames would follow nothing. Save one instead
      // (it holds the change already applied).
      const bytes = state.store.snapshot();
      const sync = state.syncState;
      state.store.takeJournal();
      await db.saveSnapshot(1, bytes, sync);
      state.gen = 1;
      state.chunk = 0;
      return;
    }
    await db.appendJournal(state.gen, state.chunk, frames);
    state.chunk += 1;
  });
  return saving;
}

/** Waits for every pending write. */
export function flushed() {
  return saving;
}

export async function forget() {
  await db.clearAll();
  state.store = null;
  state.gen = 0;
  state.chunk = 0;
  state.session = null;
  state.syncState = null;
}
