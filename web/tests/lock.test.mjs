// The PIN lock and sealed storage, in Debian's Chromium against the real
// reference backend: first run sets a PIN; a reload is locked and opens
// nothing before the PIN; a wrong PIN is refused and changes nothing; no
// value in IndexedDB holds a customer's name, a note or the token in clear;
// the idle lock drops the store; a PIN change re-wraps the key and leaves
// the data as it is; a remote wipe erases the data and the key. Every wait
// is bounded; the idle lock is checked by its state, not by the clock.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start, stop, connect, unlock, PIN, TOKEN } from "./harness.mjs";

let env, api, site, chromium;
const figures = {};

before(async () => {
  env = await start();
  ({ api, site, chromium } = env);
});

after(async () => {
  await stop(env);
  console.log("# figures " + JSON.stringify(figures));
});

/** Every key and value of the app's IndexedDB, read with the plain API (values as they are stored). */
function dump(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.open("satchel");
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains("kv")) { db.close(); resolve([]); return; }
      const s = db.transaction("kv").objectStore("kv");
      const keys = s.getAllKeys();
      const values = s.getAll();
      values.onsuccess = () => {
        // Structured values flattened to [path, bytes as latin1 | string].
        const flat = [];
        const walk = (v, at) => {
          if (v instanceof Uint8Array || v instanceof ArrayBuffer) {
            const b = new Uint8Array(v);
            let t = "";
            for (let i = 0; i < b.length; i += 8192) t += String.fromCharCode.apply(null, b.subarray(i, i + 8192));
            flat.push([at, "bytes", t]);
          } else if (v && typeof v === "object") {
            for (const k of Object.keys(v)) walk(v[k], at + "." + k);
          } else {
            flat.push([at, typeof v, String(v)]);
          }
        };
        keys.result.forEach((k, i) => walk(values.result[i], String(k)));
        db.close();
        resolve(flat);
      };
      values.onerror = () => reject(values.error);
    };
  }));
}

/** The places in `flat` where `text` occurs: as UTF-8 bytes in a blob, or in a stored string. */
function occurrences(flat, text) {
  const utf8 = Buffer.from(text, "utf8").toString("latin1");
  return flat.filter(([, kind, v]) => (kind === "bytes" ? v.includes(utf8) : v.includes(text))).map(([at]) => at);
}

const engine = (page, f) => page.evaluate(`import("./engine.js").then((e) => (${f})(e.state, e))`);
const settled = (page) => engine(page, "(s, e) => e.flushed().then(() => true)");

test("PIN lock: sealed at rest, locked on reload, wrong PIN refused, idle lock, PIN change, remote wipe", { timeout: 300000 }, async () => {
  const context = await chromium.newContext({ viewport: { width: 390, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("dialog", (d) => d.accept());

  await page.goto(site.url);
  await connect(page, api.url, "rep-0004");
  const count = await page.textContent("#count");
  const token = await engine(page, "(s) => s.session.token");
  const device = await engine(page, "(s) => s.session.device");
  assert.match(token, /^[0-9a-f]{32}$/);

  // An offline note on the first customer: its name and the note are in
  // the journal chunk, the token in the session.
  const id = await page.$eval("#list .row", (r) => r.dataset.id);
  const name = await page.$eval("#list .row .name", (r) => r.textContent);
  const NOTE = "Sealed-note-7731 about " + name;
  await page.goto(`${site.url}#card/${encodeURIComponent(id)}`);
  await page.waitForSelector("#log-text", { timeout: 10000 });
  await page.selectOption("#log-kind", "note");
  await page.fill("#log-text", NOTE);
  await page.click("#log");
  await page.waitForFunction(() => document.querySelector("#outbox-badge").textContent === "1", null, { timeout: 10000 });
  await settled(page);

  // Nothing in clear: every stored value scanned. The scan itself is shown
  // to find a planted clear value (so it can fail).
  const stored = await dump(page);
  assert.ok(stored.some(([at]) => at.startsWith("jrnl:")) && stored.some(([at]) => at.startsWith("snap:")), "a snapshot and a journal chunk are stored");
  assert.deepEqual(occurrences([["planted", "bytes", Buffer.from(NOTE).toString("latin1")]], NOTE), ["planted"]);
  for (const secret of [NOTE, "Sealed-note-7731", name, token, "rep-0004", device]) {
    assert.deepEqual(occurrences(stored, secret), [], `${secret} is in clear in IndexedDB`);
  }
  const sample = await (await fetch(`${api.url}/v1/accounts?limit=200`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
  const names = sample.items.map((a) => a.name).filter((n) => n.length >= 8);
  assert.ok(names.length > 100);
  assert.deepEqual(names.filter((n) => occurrences(stored, n).length), [], "customer names in clear");

  // Reload: locked; nothing opened before the PIN.
  await page.reload();
  await page.waitForSelector("#unlock-pin", { timeout: 30000 });
  assert.deepEqual(await engine(page, "(s) => [s.store === null, s.key === null, s.session === null]"), [true, true, true]);
  assert.equal(await page.$("#tabs:not([hidden])"), null, "no screen behind the lock");
  // A wrong PIN: a clear refusal, still locked, storage unchanged.
  const refused = await unlock(page, "1357");
  assert.match(refused, /Wrong PIN/);
  assert.deepEqual(await engine(page, "(s) => [s.store === null, s.key === null]"), [true, true]);
  assert.deepEqual(await dump(page), stored, "a wrong PIN changed storage");
  // The right PIN: the data, the pending note, the token.
  assert.equal(await unlock(page, PIN), null);
  figures.unlockMs = Math.round(await engine(page, "(s) => s.unlockMs"));
  await page.goto(`${site.url}#customers`);
  await page.waitForSelector("#count", { timeout: 30000 });
  assert.equal(await page.textContent("#count"), count);
  assert.equal(await engine(page, "(s) => s.session.token"), token);
  await page.goto(`${site.url}#sync`);
  await page.waitForSelector("#outbox-count", { timeout: 10000 });
  assert.equal(await page.textContent("#outbox-count"), "1");
  assert.match(await page.textContent("#outbox"), new RegExp("note logged"));

  // Idle lock: a short setting on the Device screen; then no input. The
  // lock is checked by what it leaves (the lock screen, no store, no key).
  await page.goto(`${site.url}#device`);
  await page.waitForSelector("#idle-minutes", { timeout: 10000 });
  await page.fill("#idle-minutes", "0.1");
  await page.click("#idle-save");
  await page.waitForSelector("#idle-status.good", { timeout: 10000 });
  await page.waitForSelector("#unlock-pin", { timeout: 60000 });
  assert.deepEqual(await engine(page, "(s) => [s.store === null, s.key === null, s.session === null]"), [true, true, true]);
  assert.equal(await unlock(page, PIN), null);
  await page.waitForFunction(() => !!document.querySelector("#view").dataset.screen && document.querySelector("#view").dataset.screen !== "lock", null, { timeout: 30000 });
  // The setting is kept (sealed in the session); put it back to a long one.
  assert.equal(await engine(page, "(s) => s.session.idleMinutes"), 0.1);
  await page.goto(`${site.url}#device`);
  await page.waitForSelector("#idle-minutes", { timeout: 10000 });
  await page.fill("#idle-minutes", "30");
  await page.click("#idle-save");
  await page.waitForSelector("#idle-status.good", { timeout: 10000 });

  // PIN change: a wrong current PIN changes nothing; the right one re-wraps
  // the key only (every sealed value stays byte for byte).
  const keyOf = (flat) => flat.find(([at]) => at === "keywrap")[2];
  const data = (flat) => flat.filter(([at]) => at !== "keywrap" && at !== "session");
  await settled(page);
  const beforeChange = await dump(page);
  await page.fill("#pin-old", "0000");
  await page.fill("#pin-new", "97531");
  await page.fill("#pin-new-again", "97531");
  await page.click("#pin-change");
  await page.waitForSelector("#pin-status.error", { timeout: 30000 });
  assert.match(await page.textContent("#pin-status"), /wrong; nothing changed/);
  assert.deepEqual(await dump(page), beforeChange);
  await page.fill("#pin-old", PIN);
  await page.fill("#pin-new", "97531");
  await page.fill("#pin-new-again", "97531");
  await page.click("#pin-change");
  await page.waitForSelector("#pin-status.good", { timeout: 30000 });
  const afterChange = await dump(page);
  assert.notEqual(keyOf(afterChange), keyOf(beforeChange));
  assert.deepEqual(data(afterChange), data(beforeChange), "the data is not re-sealed");
  await page.reload();
  assert.match(await unlock(page, PIN), /Wrong PIN/, "the old PIN no longer opens");
  assert.equal(await unlock(page, "97531"), null);
  await page.goto(`${site.url}#customers`);
  await page.waitForSelector("#count", { timeout: 30000 });
  assert.equal(await page.textContent("#count"), count);

  // Remote wipe: the backend flags the device; the next sync erases the
  // store and the keys (nothing left in IndexedDB) and says so.
  const flag = await fetch(`${api.url}/v1/admin/devices/${encodeURIComponent(device)}/wipe`, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(flag.status, 200);
  await page.goto(`${site.url}#sync`);
  await page.waitForSelector("#sync-now:not([disabled])", { timeout: 10000 });
  await page.click("#sync-now");
  await page.waitForSelector("#connect", { timeout: 60000 });
  await settled(page);
  assert.deepEqual(await dump(page), [], "a wiped device keeps nothing, the wrapped key included");
  assert.deepEqual(await engine(page, "(s) => [s.store === null, s.key === null, s.hasPin]"), [true, true, false]);
  await page.reload();
  await page.waitForSelector("#connect", { timeout: 30000 });
  assert.equal(await page.$("#unlock-pin"), null, "no lock screen: nothing is left to unlock");
  assert.deepEqual(errors, []);
  await context.close();
});
