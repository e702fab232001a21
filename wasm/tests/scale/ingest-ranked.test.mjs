// Streaming NDJSON into a store smaller than the stream (20,000 generated
// accounts): chunks cut anywhere, bad lines reported, the budget making room
// by rank. The 1,000,000-account run is scripts/million.mjs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { nodePackage, org, fieldRepRules, NOW } from "../helpers.mjs";

const { Store } = nodePackage();
// Run by `cargo xtask test` (and `npm run test:scale`): about 25 s since
// ingest writes batches (3 minutes record by record). It found that a
// retain could not plan in a store whose stubs filled the planner's reserve;
// the planner now sheds stubs first. SATCHEL_TEST_ACCOUNTS sets the size.
const N = Number(process.env.SATCHEL_TEST_ACCOUNTS ?? 20000);
const BUDGET = Math.max(512 * 1024, N * 52); // about 1 MiB for 20,000: holds a fraction
const data = await org(N, 11);
const lines = data.toString("utf8").trim().split("\n");
const ids = lines.map((l) => JSON.parse(l).id);

// The device's rep: the owner of the most accounts; their main territory.
const count = (xs) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map());
const top = (m) => [...m].sort((a, b) => b[1] - a[1])[0][0];
const parsed = lines.map((l) => JSON.parse(l));
const me = top(count(parsed.map((a) => a.owner)));
const territory = top(count(parsed.filter((a) => a.owner === me).map((a) => a.territory)));
const context = { me, territories: [territory], now: NOW };

/** Deterministic chunk sizes 1..64 KiB, so lines (and UTF-8 characters) are cut anywhere. */
function* chunks(buf, seed) {
  let x = seed;
  for (let at = 0; at < buf.length; ) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const n = 1 + (x % 65536);
    yield buf.subarray(at, at + n);
    at += n;
  }
}

test("a stream larger than the budget keeps every account the rules rank above the cut", () => {
  // Reference scores: the same rules and context over a store that holds everything.
  const all = new Store({ budget: "16MiB", journal: false });
  all.setRules(fieldRepRules);
  all.setContext(context);
  const full = all.ingestNdjson(data);
  assert.equal(all.finishIngest().inserted, N, JSON.stringify(full));
  const score = new Map(ids.map((id) => [id, all.explain(id).score]));
  all.free();

  const s = new Store({ budget: BUDGET, journal: false });
  s.setRules(fieldRepRules);
  s.setContext(context);
  let report;
  for (const c of chunks(data, 7)) {
    report = s.ingestNdjson(c);
    assert.ok(s.usedBytes <= s.budget, `${s.usedBytes} > ${s.budget}`);
  }
  report = s.finishIngest();
  assert.equal(report.lines, N);
  assert.equal(report.badLines, 0, JSON.stringify(report.errors));
  assert.equal(report.inserted + report.updated + report.refusedBudget + report.refusedInvalid, N);
  assert.ok(report.retains > 0 && report.evicted > 0, JSON.stringify(report));
  assert.ok(report.cutoff !== null);
  assert.equal(report.pendingBytes, 0);

  const held = ids.filter((id) => s.contains(id));
  assert.equal(held.length, s.length);
  assert.ok(held.length < N / 2, `the budget holds part of the org (${held.length})`);
  const above = ids.filter((id) => score.get(id) > report.cutoff);
  assert.ok(above.length > N / 1000, `the rep has accounts that score (${above.length})`);
  const lost = above.filter((id) => !s.contains(id));
  assert.deepEqual(lost, [], "every account scoring above the cut is held in full");
  // Evicted accounts leave stubs while there is room for them.
  const stubs = ids.filter((id) => s.stub(id));
  assert.ok(stubs.length > 0);
  assert.equal(s.stats().stubs, stubs.length);
  for (const id of stubs.slice(0, 50)) assert.equal(s.explain(id).state, "stub");
  console.log(`# ${N} accounts streamed into ${BUDGET} bytes: held ${held.length}, stubs ${stubs.length}, retains ${report.retains}, cut ${report.cutoff}, ${above.length} scoring above it all held`);
});
