// Sync through the package against the real reference backend over HTTP on
// loopback: the first sync fills the store within its budget, an offline
// edit reaches the backend exactly once (lost responses included), an
// aborted sync resumes from its saved state, a 401 surfaces as
// AUTH_REQUIRED, conflicts show both values and resolve, bad input gets a
// coded error, and the loop lands in all three packages. Every loop is
// bounded in count (countingFetch) and time (test timeouts, AbortSignal).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { nodePackage, esPackage, fieldRepRules, NOW, throwsCode } from "./helpers.mjs";
import { startBackend, countingFetch, SERVER_TOKEN } from "./backend.mjs";

const { Store, SyncSession, sync } = nodePackage();
const ACCOUNTS = 3000;
let api;
let live = 0;

before(async () => {
  api = await startBackend(ACCOUNTS);
  live = (await api.stats()).accounts.live;
});
after(() => api && api.stop());

const session = (store, device, token, extra = {}) =>
  new SyncSession(store, {
    profile: "reference", baseUrl: api.url, token, device,
    context: { me: "rep-0003", now: NOW }, rules: null, backoffMs: 10, ...extra,
  });

/** A store holding the whole org, synced once; returns { store, device, token, state }. */
async function synced(device, budget = "16MiB") {
  const token = await api.login(device);
  const store = new Store({ budget });
  const s = session(store, device, token);
  await sync(store, s, { signal: AbortSignal.timeout(60000) });
  return { store, device, token, state: s.state() };
}

async function rejectsCode(promise, code) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.name, "SatchelError", String(e));
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected a rejection with ${code}`);
}

test("a first sync fills the store with the whole org, within its budget", { timeout: 90000 }, async () => {
  const token = await api.login("t-first");
  const store = new Store({ budget: "16MiB" });
  const s = session(store, "t-first", token);
  const seen = countingFetch(100);
  const progress = [];
  const report = await sync(store, s, { fetch: seen.fetch, onProgress: (p) => { progress.push(p); } });
  assert.ok(live > 2000, `${live} live accounts`);
  assert.equal(store.length, live);
  assert.equal(report.upserted, live);
  assert.ok(store.usedBytes <= store.budget);
  // Pages of 500, each reported with its records; then the contacts, deals
  // and price lists feeds, each record on its account.
  assert.equal(seen.seen.pageUrls.size, Math.ceil(live / 500));
  assert.ok(report.relatedUpserted > live / 2, `${report.relatedUpserted} related records`);
  assert.equal(report.relatedSkipped, 0, "the whole org is here");
  assert.equal(progress.at(-1).recordsDone, live + report.relatedUpserted);
  assert.equal(progress.at(-1).pages, seen.seen.pageUrls.size + seen.seen.relatedUrls.size);
  const contact = (await api.call("GET", "/v1/contacts?limit=1&include_deleted=false")).body.items[0];
  const holder = store.get(contact.account_id);
  assert.equal(holder.contacts.find((c) => c.id === contact.id).name, contact.name);
  const list = (await api.call("GET", "/v1/price_lists?limit=1&include_deleted=false")).body.items[0];
  assert.ok(store.priceListFor(list.territory_prefix), `a price list for ${list.territory_prefix}`);
  assert.ok(progress.at(-1).bytesDone > live * 300);
  assert.equal(JSON.parse(s.state()).feeds[0].complete, true);
  // A second sync from the saved state reads one (empty) page.
  const again = countingFetch(10);
  const r2 = await sync(store, session(store, "t-first", token, { state: s.state() }), { fetch: again.fetch });
  assert.equal(again.seen.pages, 1);
  assert.equal(r2.upserted, 0);
});

test("a small budget keeps the best-ranked accounts and never goes over", { timeout: 90000 }, async () => {
  const token = await api.login("t-small");
  const store = new Store({ budget: "640KiB" });
  store.setRules(fieldRepRules);
  store.setContext({ me: "rep-0003", territories: [], now: NOW });
  const mine = await api.call("GET", "/v1/accounts?owner=rep-0003&limit=1000&include_deleted=false");
  const ids = mine.body.items.map((a) => a.id);
  assert.ok(ids.length > 5);
  // The store's rules and context: the feeds are the rules' pushdown
  // (owner, big deals, key accounts), and a full store plans.
  const s = new SyncSession(store, { profile: "reference", baseUrl: api.url, token, device: "t-small" });
  const report = await sync(store, s, { fetch: countingFetch(200).fetch });
  assert.ok(store.usedBytes <= store.budget, `${store.usedBytes} > ${store.budget}`);
  assert.ok(store.length > 0 && store.length < live);
  for (const id of ids) assert.ok(store.contains(id), `the rep's own ${id} is kept`);
  assert.ok(report.upserted >= ids.length);
});

test("an offline edit reaches the backend exactly once, even when a response is lost", { timeout: 90000 }, async () => {
  const { store, device, token, state } = await synced("t-edit");
  const id = store.localIds().length && store.getLocal(store.localIds()[7]).id;
  const before = await api.get(id);
  store.edit(id, {
    set: [{ phone: "+46 90 555 01 02" }],
    log: [{ kind: "visit", at: NOW, by: "rep-0003", text: "Besök: exakt en gång" }],
  }, NOW);
  const patches0 = (await api.stats()).by_route.patch || 0;
  // The backend applies the write, then closes the connection unanswered.
  await api.faults({ lost_response: { rate: 1, limit: 1 } });
  const seen = countingFetch(50);
  const events = [];
  const s = session(store, device, token, { state });
  const report = await sync(store, s, { fetch: seen.fetch, onEvent: (e) => events.push(e.kind) });
  await api.faults({});
  assert.equal(report.pushed, 1);
  assert.equal(seen.seen.PATCH, 2, "sent, lost, sent again with the same Idempotency-Key");
  assert.ok(events.includes("retry") && events.includes("pushed"), events.join());
  assert.equal(store.outboxLength, 0);
  const after = await api.get(id);
  assert.equal(after.phone, "+46 90 555 01 02");
  assert.equal(after.activities.length, before.activities.length + 1);
  assert.equal(after.activities.filter((a) => a.text === "Besök: exakt en gång").length, 1);
  assert.equal(after.version, before.version + 1, "applied once");
  assert.equal((await api.stats()).by_route.patch - patches0, 2);
  // Nothing more to send next time.
  const next = countingFetch(10);
  await sync(store, session(store, device, token, { state: s.state() }), { fetch: next.fetch });
  assert.equal(next.seen.PATCH, 0);
  assert.equal((await api.get(id)).version, after.version);
});

test("an aborted sync stops between requests and resumes from its saved state", { timeout: 90000 }, async () => {
  const token = await api.login("t-abort");
  const store = new Store({ budget: "16MiB" });
  const s = session(store, "t-abort", token);
  const stop = new AbortController();
  const first = countingFetch(100);
  let saved = null;
  const e = await rejectsCode(sync(store, s, {
    fetch: first.fetch,
    signal: stop.signal,
    onProgress: (p, sess) => {
      // What an app does after each page: save the store, then the state.
      saved = { snapshot: store.snapshot(), state: sess.state() };
      if (p.pages === 2) stop.abort();
    },
  }), "SYNC_ABORTED");
  assert.match(e.message, /resumes/);
  assert.equal(first.seen.pages, 2, "no request after the abort");
  assert.equal(s.poll(store).kind, "failed", "a cancelled session stays stopped");
  assert.equal(store.length, 1000);
  const state = JSON.parse(saved.state);
  assert.equal(state.feeds[0].in_pass, true);

  // A killed tab: the saved snapshot and state are all there is.
  const again = Store.load(saved.snapshot, null, { budget: "16MiB" });
  const second = countingFetch(100);
  const report = await sync(again, session(again, "t-abort", token, { state: saved.state }), { fetch: second.fetch });
  assert.equal(again.length, live);
  assert.equal(report.upserted, live - 1000, "the two pages applied are not read again");
  assert.equal(second.seen.pages, Math.ceil(live / 500) - 2);
});

test("an abort during a backoff wait ends the sync at once", { timeout: 30000 }, async () => {
  const token = await api.login("t-wait");
  const store = new Store({ budget: "4MiB" });
  await api.faults({ status_500: { rate: 1, limit: 1 } });
  try {
    const s = session(store, "t-wait", token, { backoffMs: 60000 });
    const t0 = Date.now();
    const waiting = sync(store, s, { fetch: countingFetch(5).fetch, signal: AbortSignal.timeout(300) });
    await rejectsCode(waiting, "SYNC_ABORTED");
    assert.ok(Date.now() - t0 < 5000, `stopped after ${Date.now() - t0} ms`);
    assert.equal(store.length, 0);
  } finally {
    await api.faults({});
  }
});

test("a refused token surfaces as AUTH_REQUIRED (and as an auth action by hand)", { timeout: 30000 }, async () => {
  const store = new Store({ budget: "4MiB" });
  const e = await rejectsCode(sync(store, session(store, "t-401", "not-a-token"), { fetch: countingFetch(5).fetch }), "AUTH_REQUIRED");
  assert.equal(e.status, 401);
  // The same by hand: poll, fetch, handleResponse, poll.
  const s = session(store, "t-401", "not-a-token");
  const send = s.poll(store);
  assert.equal(send.kind, "send");
  assert.ok(send.headers.some(([k, v]) => k === "Authorization" && v === "Bearer not-a-token"));
  const res = await fetch(send.url, { method: send.method, headers: send.headers, signal: AbortSignal.timeout(10000) });
  s.handleResponse(store, res.status, res.headers, new Uint8Array(await res.arrayBuffer()));
  const auth = s.poll(store);
  assert.equal(auth.kind, "auth");
  assert.equal(auth.status, 401);
  assert.equal(auth.error.code, "AUTH_REQUIRED");
  assert.equal(store.length, 0);
});

test("a conflict shows both values; the rep's choice is carried out by the next sync", { timeout: 90000 }, async () => {
  const { store, device, token, state } = await synced("t-conflict");
  const ids = [...store.localIds()].slice(20, 22).map((l) => store.getLocal(l).id);
  const seqs = ids.map((id, i) => store.edit(id, { set: [{ phone: `+49 30 000 ${i}` }, { stage: "won" }] }, NOW));
  // Meanwhile someone changes the phone at the backend (another device).
  for (const id of ids) {
    const r = await api.call("PATCH", `/v1/accounts/${encodeURIComponent(id)}`, { phone: "+49 30 999 99" });
    assert.equal(r.status, 200);
  }
  const s1 = session(store, device, token, { state });
  const report = await sync(store, s1, { fetch: countingFetch(50).fetch });
  assert.equal(report.conflicts, 2);
  const conflicts = store.conflicts();
  assert.deepEqual(conflicts.map((c) => c.seq), seqs);
  // Phone clashes (both changed it); stage merges (only the rep changed it).
  assert.deepEqual(conflicts[0].clashes, [{ local: { phone: "+49 30 000 0" }, server: { phone: "+49 30 999 99" } }]);
  assert.equal(conflicts[0].resolution, null);
  assert.equal(store.outboxLength, 2, "a conflict never drops the edit");
  throwsCode(assert, () => store.resolveConflict(999, "local"), "NO_SUCH_CONFLICT");
  throwsCode(assert, () => store.resolveConflict(seqs[0], "mine"), "INVALID_ARGUMENT");

  // Across a reload: the snapshot alone forgets the conflicts; the ledger
  // saved beside it brings them back exactly; a bad ledger changes nothing.
  const ledger = store.ledgerState();
  assert.ok(ledger instanceof Uint8Array && ledger.length > 0);
  const reloaded = Store.load(store.snapshot(), null, { budget: "16MiB" });
  assert.deepEqual(reloaded.conflicts(), []);
  throwsCode(assert, () => reloaded.restoreLedger(ledger.subarray(0, ledger.length - 3)), "INVALID_ARGUMENT");
  throwsCode(assert, () => reloaded.restoreLedger("{}"), "INVALID_ARGUMENT");
  assert.deepEqual(reloaded.conflicts(), []);
  assert.equal(reloaded.restoreLedger(ledger), 0);
  assert.deepEqual(reloaded.conflicts(), conflicts);
  assert.deepEqual(reloaded.ledgerState(), ledger);
  // A store whose outbox lacks those edits drops every entry (an old
  // ledger cannot bring back the conflict of an acknowledged edit).
  const empty = new Store({ budget: "1MiB" });
  const dropped = empty.restoreLedger(ledger);
  assert.ok(dropped >= conflicts.length, `${dropped} dropped`);
  assert.deepEqual(empty.conflicts(), []);
  reloaded.free();
  empty.free();

  store.resolveConflict(seqs[0], "local");
  store.resolveConflict(seqs[1], "server");
  assert.equal(store.get(ids[1]).phone, "+49 30 999 99", "the server's value is on the device at once");
  const r2 = await sync(store, session(store, device, token, { state: s1.state() }), { fetch: countingFetch(50).fetch });
  assert.equal(r2.pushed, 2);
  assert.equal(store.outboxLength, 0);
  assert.deepEqual(store.conflicts(), []);
  const [a, b] = [await api.get(ids[0]), await api.get(ids[1])];
  assert.equal(a.phone, "+49 30 000 0");
  assert.equal(b.phone, "+49 30 999 99");
  assert.equal(a.stage, "won");
  assert.equal(b.stage, "won", "the rest of a server-resolved edit is still pushed");
});

test("bad input gets a coded error, never a panic", () => {
  const store = new Store({ budget: "1MiB" });
  const ok = { profile: "reference", baseUrl: "http://127.0.0.1:1", device: "d", context: { me: "rep-0001" } };
  const bad = (patch, code) => throwsCode(assert, () => new SyncSession(store, { ...ok, ...patch }), code);
  bad({ profile: "no-such-crm" }, "INVALID_ARGUMENT");
  const p = bad({ profile: { name: "x", base_path: "/a", paging: { style: "keyset" }, mapping: { canonical: true } } }, "INVALID_PROFILE");
  assert.equal(p.field, "paging.next");
  bad({ profile: "{not json" }, "INVALID_PROFILE");
  bad({ state: "{}" }, "INVALID_SYNC_STATE");
  bad({ state: 7 }, "INVALID_ARGUMENT");
  bad({ baseUrl: "ftp://x" }, "INVALID_ARGUMENT");
  bad({ device: "" }, "INVALID_ARGUMENT");
  bad({ context: undefined }, "NOT_CONFIGURED");
  bad({ rules: { rules: [{ name: "r" }] } }, "INVALID_RULES");
  bad({ maxPages: -1 }, "INVALID_ARGUMENT");
  throwsCode(assert, () => new SyncSession(store, null), "INVALID_ARGUMENT");
  const s = new SyncSession(store, ok);
  assert.equal(s.poll(store).kind, "send");
  throwsCode(assert, () => s.handleResponse(store, 200, 5, null), "INVALID_ARGUMENT");
  throwsCode(assert, () => s.handleResponse(store, 200, [["a", 1]], null), "INVALID_ARGUMENT");
  throwsCode(assert, () => s.handleResponse(store, "200", [], null), "INVALID_ARGUMENT");
  throwsCode(assert, () => s.handleResponse(store, 200, [], 12), "INVALID_ARGUMENT");
  // Hostile bodies are the session's business: a failed page, not a throw.
  for (const body of ["{", '{"items": 5}', new Uint8Array([0xff, 0xfe]), ""]) {
    s.handleResponse(store, 200, { "content-type": "application/json" }, body);
    const a = s.poll(store);
    assert.ok(a.kind === "wait" || a.kind === "failed", a.kind);
    if (a.kind === "wait") assert.equal(s.poll(store).kind, "send");
  }
  s.handleTransportError(undefined);
  assert.equal(store.length, 0);
});

test("sync() wants a fetch function", async () => {
  const store = new Store({ budget: "1MiB" });
  const s = new SyncSession(store, { profile: "reference", baseUrl: "http://127.0.0.1:1", device: "d", context: { me: "m" } });
  await rejectsCode(sync(store, s, { fetch: "no" }), "INVALID_ARGUMENT");
});

for (const dir of ["pkg-web", "pkg-legacy"]) {
  test(`${dir}: SyncSession and sync() work the same`, { timeout: 90000 }, async () => {
    const pkg = await esPackage(dir);
    const token = await api.login(`t-${dir}`);
    const store = new pkg.Store({ budget: "16MiB" });
    const s = new pkg.SyncSession(store, {
      profile: "reference", baseUrl: api.url, token, device: `t-${dir}`, context: { me: "rep-0003", now: NOW }, rules: null,
    });
    const report = await pkg.sync(store, s, { fetch: countingFetch(100).fetch });
    assert.equal(report.upserted, live);
    assert.equal(store.length, live);
  });
}

test("the server token with a device header works too (integrators' gateways)", { timeout: 60000 }, async () => {
  const store = new Store({ budget: "16MiB" });
  const report = await sync(store, session(store, "t-server", SERVER_TOKEN), { fetch: countingFetch(100).fetch });
  assert.equal(report.upserted, live);
});
