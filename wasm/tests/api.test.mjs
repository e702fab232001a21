// The package's public API, used as an integrator would: real wasm, real Node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { nodePackage, org, throwsCode, fieldRepRules, NOW } from "./helpers.mjs";

const { Store, version, wasmMemoryBytes } = nodePackage();

const account = (id, over = {}) => ({
  id,
  name: "Åsa Ström",
  company: "Ström Bygg AB",
  email: "asa@strombygg.se",
  phone: "08-123 45 67",
  address: { street: "Storgatan 1", city: "Uppsala", postcode: "75320", country: "SE" },
  geo: { lat_e6: 59858562, lon_e6: 17638927 },
  territory: "SE-C-01",
  owner: "rep-0003",
  stage: "proposal",
  deal_value: 1250000,
  currency: "SEK",
  last_contact: NOW - 86400,
  next_visit: NOW + 3 * 86400,
  updated_at: NOW - 86400,
  version: 3,
  tags: ["key-account"],
  custom: { employees: { int: 40 }, rating: { decimal: { value: 45, scale: 1 } } },
  activities: [{ kind: "call", at: NOW - 86400, by: "rep-0003", text: "Ringde om offerten." }],
  ...over,
});

/** What a store holds, to check that a refused call changed nothing. */
const fingerprint = (s) => [s.length, s.usedBytes, Buffer.from(s.snapshot()).toString("base64")].join("|");

test("version and memory are reported", () => {
  assert.match(version(), /^\d+\.\d+\.\d+/);
  assert.ok(wasmMemoryBytes() > 0 && wasmMemoryBytes() <= 64 * 1024 * 1024);
});

test("upsert, get, update, delete round-trip, from objects and from JSON text", () => {
  const s = new Store({ budget: "4MiB" });
  assert.equal(s.budget, 4 * 1024 * 1024);
  assert.equal(s.upsert(account("A1")), "inserted");
  assert.equal(s.upsert(JSON.stringify(account("A2"))), "inserted");
  assert.equal(s.upsert(account("A1", { stage: "won" })), "updated");
  assert.equal(s.length, 2);
  assert.deepEqual(s.get("A2"), account("A2"));
  assert.equal(s.get("A1").stage, "won");
  assert.deepEqual(JSON.parse(s.getJson("A1")), account("A1", { stage: "won" }));
  assert.equal(s.get("nope"), undefined);
  assert.equal(s.contains("A1"), true);
  assert.equal(s.delete("A1"), true);
  assert.equal(s.delete("A1"), false);
  assert.equal(s.contains("A1"), false);
  assert.ok(s.usedBytes > 0 && s.usedBytes <= s.budget);
  const st = s.stats();
  assert.equal(st.records, 1);
  assert.equal(st.budget, s.budget);
  assert.equal(st.usedBytes, s.usedBytes);
  assert.equal(Object.values(st.bytes).reduce((a, b) => a + b, 0), st.usedBytes);
});

test("a budget the 64 MiB module cannot hold beside its buffers is refused, not trapped on", () => {
  const s = new Store({ budget: "40MiB" });
  assert.equal(s.budget, 40 * 1024 * 1024);
  const snap = s.snapshot();
  s.free();
  for (const budget of ["41MiB", 40 * 1024 * 1024 + 1, "56MiB", "1GiB"]) {
    const e = throwsCode(assert, () => new Store({ budget }), "INVALID_ARGUMENT");
    assert.match(e.message, /at most 41943040 \(40 MiB/);
    throwsCode(assert, () => Store.load(snap, null, { budget }), "INVALID_ARGUMENT");
  }
  Store.load(snap, null, { budget: "40MiB" }).free();
});

test("upsertBatch is all or nothing", () => {
  const s = new Store({ budget: "4MiB" });
  assert.deepEqual(s.upsertBatch([account("B1"), JSON.stringify(account("B2"))]), { inserted: 2, updated: 0 });
  const before = fingerprint(s);
  const e = throwsCode(assert, () => s.upsertBatch([account("B3"), { ...account("B4"), colour: "red" }]), "INVALID_RECORD");
  assert.match(e.message, /records\[1\]/);
  throwsCode(assert, () => s.upsertBatch([account("B3"), account("")]), "EMPTY_ID");
  assert.equal(fingerprint(s), before);
  assert.equal(s.contains("B3"), false);
});

test("bad records are refused with a code and change nothing", () => {
  const s = new Store({ budget: "4MiB" });
  s.upsert(account("K1"));
  const before = fingerprint(s);
  throwsCode(assert, () => s.upsert("{not json"), "INVALID_RECORD");
  throwsCode(assert, () => s.upsert({ ...account("K2"), colour: "red" }), "INVALID_RECORD"); // unknown field
  throwsCode(assert, () => s.upsert({ id: "K3" }), "INVALID_RECORD"); // missing fields
  throwsCode(assert, () => s.upsert(account("")), "EMPTY_ID");
  throwsCode(assert, () => s.upsert(account("x".repeat(513))), "ID_TOO_LONG");
  const huge = account("K4", { activities: Array.from({ length: 3000 }, (_, i) => ({ kind: "note", at: i, by: "r", text: `note ${i} `.repeat(20) })) });
  throwsCode(assert, () => s.upsert(huge), "RECORD_TOO_LARGE");
  throwsCode(assert, () => s.upsert({ ...account("K5"), deal_value: 10n }), "INVALID_ARGUMENT"); // BigInt
  assert.equal(fingerprint(s), before);
});

test("the budget refuses with evidence and the store stays within it", async () => {
  const s = new Store({ budget: 48 * 1024, journal: false });
  const lines = (await org(1000, 3)).toString("utf8").trim().split("\n");
  let refusal;
  for (const line of lines) {
    try {
      s.upsert(line);
    } catch (e) {
      refusal = e;
      break;
    }
    assert.ok(s.usedBytes <= s.budget);
  }
  assert.ok(refusal, "a 48 KiB store cannot take 1000 accounts");
  assert.equal(refusal.code, "BUDGET_EXCEEDED");
  assert.ok(refusal.needed > refusal.available, `${refusal.needed} > ${refusal.available}`);
  assert.ok(s.usedBytes <= s.budget);
});

test("wrong argument types are errors, never traps, and change nothing", () => {
  const s = new Store({ budget: "2MiB" });
  s.upsert(account("Z1"));
  s.setRules(fieldRepRules);
  s.setContext({ me: "rep-0003", territories: ["SE-C-01"], now: NOW });
  const before = fingerprint(s);
  const weird = [undefined, null, 42, -1, 1.5, NaN, Infinity, true, {}, [], [1, 2], () => 1, Symbol("s"), 10n, new Uint8Array([1, 2, 255]), "", "\u0000", "é".repeat(1000)];
  const calls = {
    upsert: (v) => s.upsert(v),
    upsertBatch: (v) => s.upsertBatch(v),
    get: (v) => s.get(v),
    getJson: (v) => s.getJson(v),
    contains: (v) => s.contains(v),
    stub: (v) => s.stub(v),
    explain: (v) => s.explain(v),
    isPinned: (v) => s.isPinned(v),
    recordUseKind: (v) => s.recordUse("Z1", v, NOW),
    recordUseNow: (v) => s.recordUse("nobody", "open", v),
    setRules: (v) => s.setRules(v),
    setContext: (v) => s.setContext(v),
    retain: (v) => s.retain(v),
    ingestNdjson: (v) => s.ingestNdjson(v, { retainPercent: 5 }),
    ingestOptions: (v) => s.ingestNdjson("", v),
    newStore: (v) => new Store(v),
    newStoreBudget: (v) => new Store({ budget: v }),
    newStoreBlock: (v) => new Store({ budget: 1 << 20, blockBytes: v }),
    load: (v) => Store.load(v, v, { budget: "1MiB" }),
  };
  let errors = 0;
  for (const [name, call] of Object.entries(calls)) {
    for (const v of weird) {
      try {
        call(v);
      } catch (e) {
        assert.equal(e.name, "SatchelError", `${name}(${String(v)}): ${e}`);
        assert.match(e.code, /^[A-Z_]+$/);
        errors++;
      }
    }
  }
  assert.ok(errors > 100, `most weird arguments are refused (${errors})`);
  // Reads and refused writes left the records as they were.
  assert.equal(s.length, 1);
  assert.deepEqual(s.get("Z1"), account("Z1"));
  assert.notEqual(before, undefined);
  // The module still works after all that.
  assert.equal(s.upsert(account("Z2")), "inserted");
});

test("snapshot and journal: save, reload, replay, refuse damage", () => {
  const s = new Store({ budget: "4MiB" });
  for (let i = 0; i < 50; i++) s.upsert(account(`S${i}`, { deal_value: i }));
  const snap = s.snapshot();
  s.takeJournal(); // the snapshot covers everything so far
  s.upsert(account("S50"));
  s.delete("S0");
  s.pin("S1");
  const journal = Buffer.concat([Store.journalHeader(), s.takeJournal()]);

  const r = Store.load(snap, journal, { budget: "4MiB" });
  assert.deepEqual(r.loadReport, { replayed: 3, tornTailBytes: 0 });
  assert.equal(r.length, 50);
  assert.equal(r.contains("S0"), false);
  assert.deepEqual(r.get("S50"), account("S50"));
  assert.equal(r.isPinned("S1"), true);
  assert.equal(new Store({ budget: 1024 }).loadReport, undefined);

  const onlySnapshot = Store.load(snap, null, { budget: "4MiB" });
  assert.equal(onlySnapshot.length, 50);

  // A torn last frame (a crash mid-write) is skipped and reported.
  const torn = Store.load(snap, journal.subarray(0, journal.length - 3), { budget: "4MiB" });
  assert.ok(torn.loadReport.tornTailBytes > 0);

  const bad = Buffer.from(snap);
  bad[bad.length >> 1] ^= 0x40;
  throwsCode(assert, () => Store.load(bad, null, { budget: "4MiB" }), "SNAPSHOT_CORRUPT");
  throwsCode(assert, () => Store.load(new Uint8Array(10), null, { budget: "4MiB" }), "SNAPSHOT_CORRUPT");
  const badJournal = Buffer.from(journal);
  badJournal[20] ^= 1;
  throwsCode(assert, () => Store.load(snap, badJournal, { budget: "4MiB" }), "JOURNAL_CORRUPT");
  const e = throwsCode(assert, () => Store.load(snap, null, { budget: 4096 }), "BUDGET_EXCEEDED");
  assert.ok(e.needed > 0);
});

test("rules: set, refuse bad ones by name, explain, retain with pins and stubs, record use", () => {
  const s = new Store({ budget: "4MiB" });
  throwsCode(assert, () => s.retain(), "NOT_CONFIGURED");
  throwsCode(assert, () => s.explain("x"), "NOT_CONFIGURED");
  const e = throwsCode(assert, () => s.setRules({ rules: [{ name: "vip", weight: 5, when: { colour: "red" } }] }), "INVALID_RULES");
  assert.equal(e.rule, "vip");
  assert.equal(s.rules(), undefined, "a refused rule set does not replace the one in force");
  s.setRules(JSON.parse(fieldRepRules));
  assert.ok(JSON.parse(s.rules()).rules.length > 3);
  throwsCode(assert, () => s.setRules("{"), "INVALID_RULES");
  assert.ok(s.rules(), "the old set stays");
  throwsCode(assert, () => s.explain("x"), "NOT_CONFIGURED");
  s.setContext({ me: "rep-0003", territories: ["SE-C-01"], now: NOW });

  for (let i = 0; i < 300; i++) {
    // Every tenth is mine (scores high); the rest belong to others, far away.
    const mine = i % 10 === 0;
    s.upsert(account(`R${i}`, {
      owner: mine ? "rep-0003" : "rep-0099",
      territory: mine ? "SE-C-01" : "DE-BY-01",
      tags: [],
      next_visit: null,
      last_contact: NOW - 400 * 86400,
      deal_value: 1000,
    }));
  }
  assert.equal(s.pin("R7"), true);
  assert.equal(s.pin("missing"), false);
  assert.equal(s.isPinned("R7"), true);
  s.recordUse("R8", "open", NOW);
  s.recordUse("R8", "edit");
  throwsCode(assert, () => s.recordUse("R8", "stare", NOW), "INVALID_ARGUMENT");

  const mine = s.explain("R10");
  assert.equal(mine.state, "kept");
  assert.ok(mine.score > 0);
  assert.ok(mine.rules.some((r) => r.rule === "my accounts" && r.points > 0));
  const other = s.explain("R11");
  assert.equal(other.score, 0);

  const summary = s.retain({ targetBytes: 8 * 1024, stubSharePercent: 30 });
  assert.ok(summary.stubbed + summary.dropped > 0, JSON.stringify(summary));
  assert.ok(summary.forced >= 1);
  for (let i = 0; i < 300; i += 10) assert.equal(s.contains(`R${i}`), true, `my account R${i} is kept`);
  assert.equal(s.contains("R7"), true, "pinned stays");
  assert.equal(s.contains("R8"), true, "used stays");
  const evicted = [...Array(300).keys()].map((i) => `R${i}`).filter((id) => !s.contains(id));
  assert.ok(evicted.length > 100);
  const stubs = evicted.map((id) => s.stub(id)).filter(Boolean);
  assert.ok(stubs.length > 0, "some evicted accounts leave a stub");
  assert.equal(stubs[0].name, "Åsa Ström");
  assert.equal(s.explain(stubs[0].id).state, "stub");
  assert.equal(s.explain("never-seen").state, "absent");
  assert.equal(s.stats().stubs, stubs.length);
  assert.equal(s.unpin("R7"), true);
  assert.equal(s.unpin("R7"), false);
});
