// Streams a generated org (default 1,000,000 accounts) from the real
// generator into one Store inside the 64 MiB-capped module, the way a first
// sync would deliver it, and prints what was kept.
//
//   node scripts/million.mjs [--accounts N] [--budget 40MiB] [--seed 1]
//                            [--me rep-0003] [--max-minutes 30]
// (A 56 MiB store trapped: the module peaked about 12 MB above the budget,
// in transient buffers and allocator slack, and hit the 64 MiB cap. Since
// then a budget above 40 MiB, 5/8 of the cap, is refused by `new Store`.)
//
// Fails (exit 1) if the module traps, the store passes its budget, or one
// of the rep's own accounts (the top-ranked ones under
// fixtures/rules/field-rep.json) is not held at the end.
import { spawn } from "node:child_process";
import { nodePackage, fieldRepRules, root, NOW } from "../tests/helpers.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const accounts = Number(arg("accounts", 1000000));
const budget = arg("budget", "40MiB");
const seed = arg("seed", "1");
const me = arg("me", "rep-0003");
const maxMs = Number(arg("max-minutes", 30)) * 60000;
const CAP = 64 * 1024 * 1024;

const { Store, wasmMemoryBytes } = nodePackage();
const store = new Store({ budget, journal: false });
store.setRules(fieldRepRules);

const mine = []; // ids of the rep's own accounts offered
let territory;
let leftover = "";
let peakMemory = wasmMemoryBytes();
let peakUsed = 0;
let offered = 0;
let report;
const started = Date.now();
let lastPrint = started;

function watch(chunkText) {
  // Only for checking afterwards: which accounts are the rep's own.
  const text = leftover + chunkText;
  const cut = text.lastIndexOf("\n");
  leftover = text.slice(cut + 1);
  for (const m of text.slice(0, cut + 1).matchAll(/^\{"id":"([^"]+)".*?"territory":"([^"]*)","owner":"([^"]*)"/gm)) {
    offered++;
    if (m[3] === me) {
      mine.push(m[1]);
      territory ??= m[2];
    }
  }
}

function fail(msg) {
  console.error(`FAILED: ${msg}`);
  process.exit(1);
}

const child = spawn(
  "cargo",
  ["run", "--release", "-q", "-p", "satchel-fixtures", "--", "generate", "--accounts", String(accounts), "--seed", seed],
  { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
);
child.stdout.on("data", (chunk) => {
  watch(chunk.toString("latin1"));
  // The context is set once the rep's territory is known (their first account).
  if (territory && !watch.ctx) {
    store.setContext({ me, territories: [territory], now: NOW });
    watch.ctx = true;
  }
  try {
    report = store.ingestNdjson(chunk);
  } catch (e) {
    fail(`ingest threw (${e.name}: ${e.message}); a RuntimeError is a trap`);
  }
  peakMemory = Math.max(peakMemory, wasmMemoryBytes());
  peakUsed = Math.max(peakUsed, store.usedBytes);
  if (store.usedBytes > store.budget) fail(`usedBytes ${store.usedBytes} > budget ${store.budget}`);
  const now = Date.now();
  if (now - lastPrint > 10000) {
    lastPrint = now;
    console.log(`  ${report.lines} lines, ${store.length} held, ${report.retains} retains, ${((now - started) / 1000).toFixed(0)} s`);
  }
  if (now - started > maxMs) {
    child.kill();
    fail(`gave up after ${maxMs / 60000} min at line ${report.lines} (${store.length} held)`);
  }
});
child.on("close", (code) => {
  if (code !== 0) fail(`generator exited ${code}`);
  try {
    report = store.finishIngest();
  } catch (e) {
    fail(`finishIngest threw: ${e}`);
  }
  const secs = (Date.now() - started) / 1000;
  const stats = store.stats();
  const lost = mine.filter((id) => !store.contains(id));
  console.log(`\n| accounts offered | budget | held in full | stubs | retains | cut-off | rep's own held | peak used | peak wasm memory | time |`);
  console.log(`|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`);
  console.log(`| ${report.lines} | ${budget} | **${stats.records}** | ${stats.stubs} | ${report.retains} | ${report.cutoff} | ${mine.length - lost.length} of ${mine.length} | ${peakUsed} | ${peakMemory} (cap ${CAP}) | ${secs.toFixed(1)} s |`);
  console.log(`\nheadroom under the cap: ${CAP - store.budget} bytes reserved, ${CAP - peakMemory} never touched; ${report.badLines} bad lines, ${report.refusedBudget} refused after making room`);
  if (report.lines !== offered) fail(`counted ${offered} lines, ingest saw ${report.lines}`);
  if (lost.length) fail(`${lost.length} of the rep's own accounts are not held, e.g. ${lost.slice(0, 3)}`);
  if (report.badLines) fail(`${report.badLines} bad lines: ${JSON.stringify(report.errors.slice(0, 3))}`);
});
