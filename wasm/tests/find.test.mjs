// search, insights, trend, the outbox and sealing, through the package's
// public API on a generated org (real generator, real wasm, real Node).
import { test } from "node:test";
import assert from "node:assert/strict";
import { nodePackage, org, throwsCode, fieldRepRules, NOW } from "./helpers.mjs";

const pkg = nodePackage();
const { Store } = pkg;

/** Folds as a rep would type: no diacritics, lower case. */
const plain = (s) => s.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();

let orgBytes;
const loaded = async () => {
  orgBytes ??= await org(3000, 7);
  const s = new Store({ budget: "16MiB", journal: false });
  s.ingestNdjson(orgBytes);
  assert.equal(s.finishIngest().badLines, 0);
  return s;
};

test("search finds generated names typed without diacritics, spans are UTF-16 slices", async () => {
  const s = await loaded();
  const accounts = orgBytes.toString("utf8").trim().split("\n").map((l) => JSON.parse(l));
  const swedish = accounts.find((a) => /[åäö]/i.test(a.name.split(" ").at(-1)) && a.name === a.name.trim());
  assert.ok(swedish, "the generator writes Swedish names");
  const family = swedish.name.split(" ").at(-1);
  const hits = s.search({ text: plain(family), limit: 1000 });
  assert.ok(hits.some((h) => h.id === swedish.id), `${plain(family)} finds ${swedish.name}`);
  for (const h of hits) {
    assert.equal(typeof h.onDevice, "boolean");
    assert.ok(["exact", "prefix", "substring"].includes(h.match));
    for (const field of ["name", "company"]) {
      for (const [a, b] of h.spans[field]) {
        assert.ok(0 <= a && a < b && b <= h[field].length, `${field} span in bounds`);
        const piece = h[field].slice(a, b);
        assert.ok(!/[\uD800-\uDBFF]$/.test(piece) && !/^[\uDC00-\uDFFF]/.test(piece), "no split pair");
      }
    }
  }
  const hit = hits.find((h) => h.id === swedish.id);
  assert.ok(hit.spans.name.some(([a, b]) => plain(hit.name.slice(a, b)) === plain(family)), "the family name is highlighted");

  const chinese = accounts.find((a) => /^[\u4e00-\u9fff]{6,}/.test(a.company));
  const piece = [...chinese.company].slice(2, 4).join("");
  const cn = s.search({ text: piece, limit: 1000 });
  const h = cn.find((x) => x.id === chinese.id);
  assert.ok(h, `Chinese substring ${piece} finds ${chinese.company}`);
  assert.equal(h.match, "substring");
  assert.deepEqual(h.spans.company.map(([a, b]) => h.company.slice(a, b)), [piece]);
});

test("localIds and getLocal browse every account held", async () => {
  const s = await loaded();
  const ids = s.localIds();
  assert.ok(ids instanceof Uint32Array);
  assert.equal(ids.length, s.length);
  const seen = new Set([...ids].map((l) => s.getLocal(l).id));
  assert.equal(seen.size, s.length);
  assert.equal(s.getLocal(4_000_000_000), undefined);
  throwsCode(assert, () => s.getLocal(-1), "INVALID_ARGUMENT");
});

test("filters, stubs and bad queries", async () => {
  const s = await loaded();
  const [first] = s.search({ text: "", territory: ["SE-N-03"], limit: 5 });
  if (first) assert.equal(s.get(first.id).territory, "SE-N-03");
  s.setRules(fieldRepRules);
  s.setContext({ me: "rep-0003", now: NOW });
  s.retain({ targetBytes: 256 * 1024 });
  const stub = s.stats().stubs > 0 && s.search({ text: "a", limit: 1000 }).find((h) => !h.onDevice);
  assert.ok(stub, "an evicted account is still found, as a stub");
  assert.equal(stub.company, "");
  assert.equal(s.stub(stub.id).name, stub.name);
  throwsCode(assert, () => s.edit(stub.id, { set: [{ phone: "1" }] }), "NOT_ON_DEVICE");
  throwsCode(assert, () => s.search({ text: "x", limit: 5000 }), "INVALID_QUERY");
  throwsCode(assert, () => s.search({ txt: "x" }), "INVALID_QUERY");
  throwsCode(assert, () => s.search({ next_visit: { from: 10, to: 5 } }), "INVALID_QUERY");
  throwsCode(assert, () => s.search(42), "INVALID_ARGUMENT");
});

test("insights and trend agree with the records", async () => {
  const s = await loaded();
  const k = s.insights({ me: "rep-0003", now: NOW, utcOffsetSeconds: 3600 });
  assert.ok(k.records > 0);
  assert.ok(Array.isArray(k.pipeline) && k.pipeline.every((p) => p.accounts > 0));
  assert.ok(k.overdue.length <= 20 && k.overdue_total >= k.overdue.length);
  throwsCode(assert, () => s.insights(), "NOT_CONFIGURED");
  s.setContext({ me: "rep-0003", now: NOW });
  assert.deepEqual(s.insights(), s.insights({ me: "rep-0003", now: NOW }));
  throwsCode(assert, () => s.insights({ utcOffsetSeconds: 1e9 }), "INVALID_ARGUMENT");
  const busy = orgBytes.toString("utf8").trim().split("\n").map((l) => JSON.parse(l))
    .find((a) => a.activities.length > 3);
  const months = s.trend(busy.id, 120, NOW);
  assert.equal(months.length, 120);
  const total = months.reduce((n, m) => n + Object.values(m.counts).reduce((a, b) => a + b, 0), 0);
  assert.equal(total, busy.activities.filter((a) => a.at <= NOW && a.at > NOW - 130 * 31 * 86400).length);
  assert.equal(s.trend("nope", 3), undefined);
  throwsCode(assert, () => s.trend(busy.id, 0), "INVALID_ARGUMENT");
});

test("edits: applied, queued, kept through retain and reload, acked; refusals change nothing", async () => {
  const s = await loaded();
  const id = s.search({ text: "", owner: ["rep-0001"], limit: 1 })[0].id;
  const before = s.get(id);
  const visit = { kind: "visit", at: NOW, by: "rep-0003", text: "Besök <script>alert(1)</script>" };
  const seq = s.edit(id, { set: [{ stage: "won" }, { next_visit: null }], log: [visit] }, NOW);
  assert.equal(s.get(id).stage, "won");
  assert.deepEqual(s.get(id).activities.at(-1), visit);
  assert.equal(s.isDirty(id), true);
  assert.equal(s.outboxLength, 1);
  assert.deepEqual(s.outbox(), [{ seq, id, base_version: before.version, at: NOW,
    patch: { set: [{ stage: "won" }, { next_visit: null }], log: [visit], delete: false } }]);
  s.setRules(fieldRepRules);
  s.setContext({ me: "rep-0009", now: NOW });
  s.retain({ targetBytes: 64 * 1024 });
  assert.ok(s.contains(id), "a dirty account is never evicted");
  const again = Store.load(s.snapshot(), null, { budget: "16MiB" });
  assert.deepEqual(again.outbox(), s.outbox());
  const used = s.usedBytes;
  throwsCode(assert, () => s.edit(id, {}), "INVALID_EDIT");
  throwsCode(assert, () => s.edit(id, { set: [{ colour: "red" }] }), "INVALID_EDIT");
  throwsCode(assert, () => s.edit(id, { set: Array.from({ length: 65 }, () => ({ phone: "1" })) }), "INVALID_EDIT");
  assert.equal(s.usedBytes, used);
  assert.equal(s.outboxLength, 1);
  assert.equal(s.ack(seq + 1), undefined);
  assert.equal(s.ack(seq).seq, seq);
  assert.equal(s.isDirty(id), false);
  throwsCode(assert, () => s.ack(-1), "INVALID_ARGUMENT");
});

test("sealing: round trips, every refusal has its code", () => {
  const random = (n) => crypto.getRandomValues(new Uint8Array(n));
  const key = random(32);
  const plainBytes = new TextEncoder().encode("Åsa Ström, 08-123 45 67");
  const blob = pkg.sealBlob(key, "journal", random(24), plainBytes);
  assert.deepEqual(pkg.openBlob(key, "journal", blob), plainBytes);
  throwsCode(assert, () => pkg.openBlob(key, "snapshot", blob), "SEAL_INVALID");
  throwsCode(assert, () => pkg.openBlob(random(32), "journal", blob), "SEAL_TAMPERED");
  throwsCode(assert, () => pkg.openBlob(key, "journal", blob.subarray(0, 10)), "SEAL_INVALID");
  throwsCode(assert, () => pkg.sealBlob(key, "journal", random(12), plainBytes), "INVALID_ARGUMENT");
  throwsCode(assert, () => pkg.sealBlob(key, "pictures", random(24), plainBytes), "INVALID_ARGUMENT");
  const fast = { memoryKib: 64, passes: 1, lanes: 1 };
  const wrapped = pkg.wrapKey(key, "1234", random(16), random(24), fast);
  assert.deepEqual(pkg.unwrapKey(wrapped, "1234"), key);
  throwsCode(assert, () => pkg.unwrapKey(wrapped, "4321"), "WRONG_PIN");
  throwsCode(assert, () => pkg.wrapKey(key, "", random(16), random(24), fast), "INVALID_ARGUMENT");
  const rewrapped = pkg.changePin(wrapped, "1234", "9876", random(16), random(24));
  assert.deepEqual(pkg.unwrapKey(rewrapped, "9876"), key);
  throwsCode(assert, () => pkg.unwrapKey(rewrapped, "1234"), "WRONG_PIN");

  const s = new Store({ budget: "1MiB" });
  s.upsert('{"id":"k1","name":"Kim","company":"","email":"","phone":"","address":{"street":"","city":"","postcode":"","country":"SE"},"geo":null,"territory":"","owner":"","stage":"lead","deal_value":0,"currency":"SEK","last_contact":null,"next_visit":null,"updated_at":0,"version":1,"tags":[],"custom":{},"activities":[]}');
  const sealed = s.sealSnapshot(key, random(24));
  s.takeJournal();
  s.delete("k1");
  const journal = pkg.sealBlob(key, "journal", random(24), new Uint8Array([...Store.journalHeader(), ...s.takeJournal()]));
  assert.equal(Store.openSnapshot(key, sealed, null, { budget: "1MiB" }).contains("k1"), true);
  assert.equal(Store.openSnapshot(key, sealed, journal, { budget: "1MiB" }).contains("k1"), false);
  for (const at of [0, 6, 30, sealed.length - 1]) {
    const bad = sealed.slice();
    bad[at] ^= 0x40;
    const e = throwsCode(assert, () => Store.openSnapshot(key, bad, null, { budget: "1MiB" }), at < 6 ? "SEAL_INVALID" : "SEAL_TAMPERED");
    assert.ok(e);
  }
});
