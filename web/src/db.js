// A small IndexedDB layer: one object store of blobs and settings by key.
//
// Persistence of the store (see saveSnapshot): the snapshot is written under
// a new key first, then one transaction flips the pointer to it and deletes
// the old generation. IndexedDB transactions are atomic, so a tab killed at
// any moment leaves the old snapshot or the new one, never a mix. Journal
// chunks (edits since the snapshot) are keyed by generation, so a chunk
// never replays onto a snapshot it does not follow.
//
// This layer stores what it is given: the engine seals every value (with
// the data key of lock.js) before it gets here, except the wrapped key.
const DB = "satchel";
const STORE = "kv";

function promised(req) {
  return new Promise(function (resolve, reject) {
    req.onsuccess = function () { resolve(req.result); };
    req.onerror = function () { reject(req.error); };
  });
}

let opening = null;
function open() {
  if (!opening) {
    opening = new Promise(function (resolve, reject) {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
      req.onblocked = function () { reject(new Error("the database is open in an older tab; close it")); };
    });
  }
  return opening;
}

/** Runs `work(store)` in one transaction; resolves when it is committed. */
async function tx(mode, work) {
  const db = await open();
  return new Promise(function (resolve, reject) {
    const t = db.transaction(STORE, mode);
    let result;
    Promise.resolve(work(t.objectStore(STORE))).then(function (r) { result = r; }, reject);
    t.oncomplete = function () { resolve(result); };
    t.onerror = function () { reject(t.error); };
    t.onabort = function () { reject(t.error || new Error("transaction aborted (storage full?)")); };
  });
}

export function get(key) {
  return tx("readonly", function (s) { return promised(s.get(key)); });
}

/**
 * Fault injection for the kill test (tests/kill.test.mjs): when set, called
 * with a label before every write request is issued, inside its
 * transaction. Never set by the app.
 */
export const faults = { beforeWrite: null };

function write(label) {
  if (faults.beforeWrite) faults.beforeWrite(label);
}

function putIn(s, value, key) {
  write("put " + key);
  s.put(value, key);
}

function deleteIn(s, range, label) {
  write("delete " + label);
  s.delete(range);
}

export function put(key, value) {
  return tx("readwrite", function (s) { putIn(s, value, key); });
}

export function remove(key) {
  return tx("readwrite", function (s) { deleteIn(s, key, key); });
}

const pad = function (n) { return String(n).padStart(10, "0"); };
const snapKey = function (gen) { return "snap:" + pad(gen); };
const journalRange = function (gen) {
  return IDBKeyRange.bound("jrnl:" + pad(gen) + ":", "jrnl:" + pad(gen) + ":~");
};

/**
 * The current generation: `{ gen, savedAt, snapshot, journal: [chunks],
 * state }`, or null. `state` is what was saved with the snapshot (sealed by
 * the engine: the sync position and the conflicts ledger); a chunk is what
 * appendJournal was given.
 */
export async function loadSnapshot() {
  return tx("readonly", async function (s) {
    const pointer = await promised(s.get("pointer"));
    if (!pointer) return null;
    const snapshot = await promised(s.get(snapKey(pointer.gen)));
    const journal = await promised(s.getAll(journalRange(pointer.gen)));
    return { gen: pointer.gen, savedAt: pointer.savedAt, snapshot: snapshot, journal: journal, state: pointer.state || null };
  });
}

/**
 * Writes `bytes` as generation `gen`, then flips the pointer and drops older
 * ones. `state` (the sync position the snapshot holds the pages of, and the
 * ledger) rides in the pointer, so the two change together: a killed tab
 * resumes its sync from the snapshot it reopens, never from a position
 * ahead of it. Four writes: the snapshot; then, in one transaction, the
 * pointer and the two deletes.
 */
export async function saveSnapshot(gen, bytes, state) {
  await put(snapKey(gen), bytes);
  await tx("readwrite", function (s) {
    putIn(s, { gen: gen, savedAt: Date.now(), bytes: bytes.length, state: state || null }, "pointer");
    deleteIn(s, IDBKeyRange.bound("snap:", snapKey(gen - 1)), "snap:..." + (gen - 1));
    deleteIn(s, IDBKeyRange.bound("jrnl:", "jrnl:" + pad(gen - 1) + ":~"), "jrnl:..." + (gen - 1));
  });
}

/** Appends a chunk (journal frames and what rides with them) to generation `gen` as number `n`. */
export function appendJournal(gen, n, chunk) {
  return put("jrnl:" + pad(gen) + ":" + pad(n), chunk);
}

/** Forgets everything (a new backend, or a wiped device). */
export function clearAll() {
  return tx("readwrite", function (s) { write("clear"); s.clear(); });
}

/** Bytes the origin uses and may use, where the browser says. */
export async function estimate() {
  if (navigator.storage && navigator.storage.estimate) return navigator.storage.estimate();
  return null;
}

/** Asks the browser not to evict this origin's storage (where it can). */
export async function persist() {
  if (navigator.storage && navigator.storage.persist) {
    try { return await navigator.storage.persist(); } catch (e) { return false; }
  }
  return false;
}
