// Satchel's Node package beside sql.js (SQLite compiled to wasm), same
// generated accounts and queries, same run: ingest rate, get by id and
// prefix search (top 20) latency with N accounts resident, and how many
// accounts each holds inside 64 MiB of wasm memory.
//
//   node scripts/bench.mjs [--accounts 100000] [--capacity 400000]
//                          [--queries 2000] [--seed 1] [--results FILE]
//                          [--jsonl FILE] [--budget 40MiB] [--marker wasm]
//
// sql.js's stock build has FTS4 (not FTS5): words are indexed with
// `unicode61 "remove_diacritics=2"` over name, company and city, queried
// with every folded word as a prefix, like the native bench's FTS5. Its
// memory is the growth of Node's ArrayBuffer memory after a full collection
// (its wasm heap grows in steps, so the figure is coarse); Satchel's is the
// module's memory.
// `--results FILE` writes the tables between `<!-- bench:wasm:begin -->`
// and `<!-- bench:wasm:end -->` of FILE (benches/RESULTS.md).
// `--jsonl FILE` appends the measurements as JSON lines in the shape of
// benches/src/samples.rs, for `cargo xtask bench`'s plots.
// `--capacity 0` skips the capacity run.
// More accounts than 40 MiB holds need a module with a larger cap (5/8 of
// it is the largest budget): build one with `SATCHEL_WASM_MAX_MEMORY`, point
// `SATCHEL_NODE_PKG` at it, pass `--budget`, and `--marker wasm-500k` to
// write another block of RESULTS.md (see benches/RESULTS.md for the recipe).
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { cpus } from "node:os";
import { createRequire } from "node:module";
import { nodePackage, org, fieldRepRules, NOW } from "../tests/helpers.mjs";

const require = createRequire(import.meta.url);
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const N = Number(arg("accounts", 100000));
const CAPACITY = Number(arg("capacity", 400000));
const QUERIES = Number(arg("queries", 2000));
const SEED = Number(arg("seed", 1));
const CAP = 64 * 1024 * 1024;
/** The store's budget: the 64 MiB module peaks about 12 MB above it (wasm/README.md). */
const BUDGET = arg("budget", "40MiB");
const MARKER = arg("marker", "wasm");
const PACKAGE = process.env.SATCHEL_NODE_PKG ? `SATCHEL_NODE_PKG=${process.env.SATCHEL_NODE_PKG} ` : "";

/** A seeded picker (SplitMix64 on BigInt would be slow; a 32-bit LCG is enough to pick keys). */
function picker(seed) {
  let s = (seed * 2654435761) >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

const fold = (s) => s.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();

/** 2–4 letters of a word of a name, company or city, as typed (the native bench's rule). */
function prefixQueries(accounts, n, pick) {
  const out = [];
  while (out.length < n) {
    const a = accounts[pick(accounts.length)];
    const field = [a.name, a.company, a.address.city][pick(3)];
    const words = field.split(/[^\p{L}\p{N}]+/u).filter((w) => w && !/\p{Script=Han}/u.test(w));
    if (!words.length) continue;
    const w = [...words[pick(words.length)]];
    out.push(w.slice(0, 2 + pick(3)).join(""));
  }
  return out;
}

function timed(keys, fn) {
  const out = keys.map((k) => {
    const t = process.hrtime.bigint();
    fn(k);
    return Number(process.hrtime.bigint() - t) / 1000;
  });
  return out.sort((a, b) => a - b);
}
const pct = (sorted, p) => sorted[Math.round((sorted.length - 1) * p / 100)];
const us = (x) => x.toFixed(1);

console.error(`generating ${Math.max(N, CAPACITY)} accounts (seed ${SEED})`);
const ndjson = await org(Math.max(N, CAPACITY), SEED);
/** The NDJSON's lines, cut in the buffer (500,000 accounts pass V8's longest string). */
function splitLines(buf) {
  const out = [];
  for (let at = 0; at < buf.length;) {
    let end = buf.indexOf(10, at);
    if (end < 0) end = buf.length;
    if (end > at) out.push(buf.toString("utf8", at, end));
    at = end + 1;
  }
  return out;
}
/** NDJSON text of `rows` in chunks of about `bytes` UTF-16 units, cut at line ends. */
function* chunks(rows, bytes = 1 << 20) {
  let part = [];
  let size = 0;
  for (const r of rows) {
    part.push(r);
    size += r.length + 1;
    if (size >= bytes) {
      yield part.join("\n") + "\n";
      part = [];
      size = 0;
    }
  }
  if (part.length) yield part.join("\n") + "\n";
}
const lines = splitLines(ndjson);
const resident = lines.slice(0, N);
const accounts = resident.map((l) => JSON.parse(l));
const pick = picker(SEED);
const ids = Array.from({ length: 5000 }, () => accounts[pick(accounts.length)].id);
const queries = prefixQueries(accounts, QUERIES, pick);

// Satchel.
const { Store, wasmMemoryBytes } = nodePackage();
const satchel = {};
{
  const store = new Store({ budget: BUDGET, journal: false });
  store.setRules(fieldRepRules);
  store.setContext({ me: accounts[0].owner, territories: [accounts[0].territory], now: NOW });
  const t = Date.now();
  const CHUNK = 1 << 20;
  for (const chunk of chunks(resident, CHUNK)) store.ingestNdjson(chunk);
  store.finishIngest();
  store.compact();
  satchel.secs = (Date.now() - t) / 1000;
  satchel.ingest = N / satchel.secs;
  if (store.length !== N) throw new Error(`satchel holds ${store.length} of ${N}: raise the budget or lower --accounts`);
  for (const id of ids) store.get(id);
  satchel.get = timed(ids, (id) => { if (!store.get(id)) throw new Error(`satchel lost ${id}`); });
  for (const q of queries) store.search(q);
  let found = 0;
  satchel.search = timed(queries, (q) => { found += store.search(q).length > 0 ? 1 : 0; });
  if (found !== queries.length) throw new Error(`satchel found nothing for ${queries.length - found} queries`);
  satchel.memory = wasmMemoryBytes();
  store.free();
}

// sql.js.
const initSqlJs = require("sql.js");
const SQL = await initSqlJs();
// Node's ArrayBuffer memory after a full collection: the generator's
// buffers, freed meanwhile, must not count against (or for) sql.js.
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc");
const heap = () => {
  gc();
  return process.memoryUsage().arrayBuffers;
};
function sqliteWith(rows, onBatch) {
  const db = new SQL.Database();
  db.run(`CREATE TABLE accounts(id TEXT PRIMARY KEY, doc TEXT NOT NULL);
          CREATE VIRTUAL TABLE words USING fts4(name, company, city, tokenize=unicode61 "remove_diacritics=2");`);
  const put = db.prepare("INSERT INTO accounts(id, doc) VALUES (?, ?)");
  const words = db.prepare("INSERT INTO words(rowid, name, company, city) VALUES (?, ?, ?, ?)");
  db.run("BEGIN");
  for (let i = 0; i < rows.length; i++) {
    const a = JSON.parse(rows[i]);
    put.run([a.id, rows[i]]);
    words.run([i + 1, a.name, a.company, a.address.city]);
    if (onBatch && i % 1000 === 999 && onBatch(i + 1) === false) break;
  }
  db.run("COMMIT");
  put.free();
  words.free();
  return db;
}
const sqlite = {};
{
  const before = heap();
  const t = Date.now();
  const db = sqliteWith(resident);
  sqlite.secs = (Date.now() - t) / 1000;
  sqlite.ingest = N / sqlite.secs;
  const get = db.prepare("SELECT doc FROM accounts WHERE id = ?");
  const getOne = (id) => {
    get.bind([id]);
    const ok = get.step();
    get.reset();
    if (!ok) throw new Error(`sql.js lost ${id}`);
  };
  ids.forEach(getOne);
  sqlite.get = timed(ids, getOne);
  const match = db.prepare("SELECT rowid FROM words WHERE words MATCH ? LIMIT 20");
  const fts = (q) => fold(q).split(/[^\p{L}\p{N}]+/u).filter(Boolean).map((w) => `${w}*`).join(" ");
  let found = 0;
  const searchOne = (q) => {
    match.bind([fts(q)]);
    let n = 0;
    while (match.step()) n++;
    match.reset();
    found += n > 0 ? 1 : 0;
  };
  queries.forEach(searchOne);
  found = 0;
  sqlite.search = timed(queries, searchOne);
  if (found !== queries.length) throw new Error(`sql.js found nothing for ${queries.length - found} queries`);
  get.free();
  match.free();
  sqlite.memory = heap() - before;
  db.close();
}

// Capacity inside 64 MiB.
console.error(`capacity: up to ${CAPACITY} accounts`);
let satchelHeld = 0;
let satchelPeak = 0;
if (CAPACITY > 0) {
  const store = new Store({ budget: BUDGET, journal: false });
  store.setRules(fieldRepRules);
  store.setContext({ me: accounts[0].owner, territories: [accounts[0].territory], now: NOW });
  satchelPeak = 0;
  for (const chunk of chunks(lines.slice(0, CAPACITY))) {
    store.ingestNdjson(chunk);
    satchelPeak = Math.max(satchelPeak, wasmMemoryBytes());
  }
  store.finishIngest();
  satchelHeld = store.length;
  store.free();
}
let sqliteHeld = 0;
if (CAPACITY > 0) {
  const before = heap();
  const db = sqliteWith(lines.slice(0, CAPACITY), (n) => {
    if (heap() - before > CAP) return false;
    sqliteHeld = n;
    return true;
  });
  db.close();
}

const cpu = cpus()[0].model.split(" ").slice(0, 3).join(" ");
const row = (name, r) => `| ${name} | ${Math.round(r.ingest)} | ${us(pct(r.get, 50))} | ${us(pct(r.get, 99))} | ${us(pct(r.search, 50))} | ${us(pct(r.search, 99))} | ${(r.memory / 1048576).toFixed(1)} |`;
const md = [
  `_Generated by \`${PACKAGE}node wasm/scripts/bench.mjs --accounts ${N} --capacity ${CAPACITY} --queries ${QUERIES} --budget ${BUDGET} --marker ${MARKER} --results benches/RESULTS.md\` (after \`cargo xtask wasm\`)._`,
  "",
  `Node ${process.version}, ${cpu}, ${cpus().length} cores; ${N} generated accounts resident (seed ${SEED}), ${ids.length} gets, ${QUERIES} prefix queries (top 20); each timed after one untimed pass.`,
  "",
  "| system | ingest accounts/s | get p50 µs | get p99 µs | prefix p50 µs | prefix p99 µs | wasm memory MiB |",
  "|---|---:|---:|---:|---:|---:|---:|",
  row(`**Satchel** (${PACKAGE ? "pkg-node linked with a larger memory cap" : "pkg-node"}, budget ${BUDGET})`, satchel),
  row("sql.js (table + FTS4 unicode61)", sqlite),
  "",
  `Satchel ÷ sql.js, p99: get ${(pct(satchel.get, 99) / pct(sqlite.get, 99)).toFixed(2)}, prefix ${(pct(satchel.search, 99) / pct(sqlite.search, 99)).toFixed(2)} (goal ≤ 0.5 each).`,
  "",
  CAPACITY === 0 ? "No capacity run (`--capacity 0`)." : `Inside 64 MiB of wasm memory, offered ${CAPACITY} accounts: Satchel keeps **${satchelHeld}** (budget ${BUDGET}, ranked by fixtures/rules/field-rep.json; module peak ${(satchelPeak / 1048576).toFixed(1)} MiB), sql.js holds **${sqliteHeld}** before its memory passes 64 MiB (it has no budget: it grows until the tab dies).`,
].join("\n");
console.log(md);

const jsonl = arg("jsonl", null);
if (jsonl) {
  const samples = [];
  const push = (figure, system, stat, n, value) => samples.push(JSON.stringify({ figure, system, stat, n, value }));
  for (const [system, r, budget] of [["Satchel (wasm)", satchel, `${BUDGET.replace("MiB", " MiB")} budget`], ["sql.js (wasm)", sqlite, "no budget"]]) {
    push("ingest", system, "", N, r.secs);
    push("get", system, "p50", N, pct(r.get, 50));
    push("get", system, "p99", N, pct(r.get, 99));
    push("prefix", system, "p50", N, pct(r.search, 50));
    push("prefix", system, "p99", N, pct(r.search, 99));
    push("capacity", system, budget, N, r.memory / 1048576);
  }
  if (CAPACITY > 0) {
    push("kept", "Satchel (wasm)", `${BUDGET.replace("MiB", " MiB")} budget`, CAPACITY, satchelHeld);
    push("kept", "sql.js (wasm)", "", CAPACITY, sqliteHeld);
  }
  mkdirSync(path.dirname(jsonl), { recursive: true });
  appendFileSync(jsonl, samples.join("\n") + "\n");
}

const at = process.argv.indexOf("--results");
if (at > 0) {
  const file = process.argv[at + 1];
  const begin = `<!-- bench:${MARKER}:begin -->`;
  const end = `<!-- bench:${MARKER}:end -->`;
  const text = readFileSync(file, "utf8");
  const [head, tail] = [text.indexOf(begin), text.indexOf(end)];
  if (head < 0 || tail < head) throw new Error(`${file}: no ${begin} … ${end} block`);
  writeFileSync(file, text.slice(0, head) + begin + "\n" + md + "\n\n" + end + text.slice(tail + end.length));
}
