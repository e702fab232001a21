// Every script the app ships parses as ES2017 (the legacy path), and none
// of them builds HTML from strings.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as acorn from "acorn";

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(web, "dist");
const walk = (dir) => readdirSync(dir).flatMap((n) => {
  const f = path.join(dir, n);
  return statSync(f).isDirectory() ? walk(f) : [f];
});

test("web/dist is built", () => {
  assert.ok(existsSync(path.join(dist, "index.html")), "run `node tools/build.mjs` (cargo xtask web does)");
});

const scripts = existsSync(dist) ? walk(dist).filter((f) => f.endsWith(".js")) : [];
for (const file of scripts) {
  const rel = path.relative(dist, file);
  test(`${rel} parses as ES2017`, () => {
    const src = readFileSync(file, "utf8");
    acorn.parse(src, { ecmaVersion: 2017, sourceType: rel === "sw.js" ? "script" : "module" });
  });
}

test("the app's own code never writes HTML from strings", () => {
  const own = walk(path.join(web, "src")).filter((f) => f.endsWith(".js"));
  assert.ok(own.length >= 8);
  for (const f of own) {
    const src = readFileSync(f, "utf8");
    assert.doesNotMatch(src, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/, f);
  }
});

test("nothing is loaded from another origin", () => {
  const html = readFileSync(path.join(dist, "index.html"), "utf8");
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);
  const csp = readFileSync(path.join(dist, "csp.txt"), "utf8");
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'/);
});
