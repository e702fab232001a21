// What the PWA's Customers list costs in the size-built browser package
// (`pkg-web`, run in Node): `localIds()` over N accounts, and a search at
// the limits the list uses (each hit is read from its block).
//
//   node scripts/list-costs.mjs [--accounts 20000]   (after `cargo xtask wasm`)
import { esPackage, org } from "../tests/helpers.mjs";

const i = process.argv.indexOf("--accounts");
const N = i > 0 ? Number(process.argv[i + 1]) : 20000;
const { Store } = await esPackage("pkg-web");
const text = (await org(N, 1)).toString("utf8");
const s = new Store({ budget: "40MiB", journal: false });
for (let at = 0; at < text.length; at += 1 << 20) s.ingestNdjson(text.slice(at, at + (1 << 20)));
s.finishIngest();
s.compact();
const ms = (f) => {
  const t = process.hrtime.bigint();
  const n = f();
  return [n, (Number(process.hrtime.bigint() - t) / 1e6).toFixed(1)];
};
console.log(`pkg-web in Node ${process.version}, ${N} accounts (seed 1)`);
console.log("| call | results | ms |\n|---|---:|---:|");
const [n, t] = ms(() => s.localIds().length);
console.log(`| localIds() | ${n} | ${t} |`);
for (const q of ["a", ""]) {
  for (const limit of [1000, 200]) {
    const [k, u] = ms(() => s.search({ text: q, limit }).length);
    console.log(`| search({ text: ${JSON.stringify(q)}, limit: ${limit} }) | ${k} | ${u} |`);
  }
}
