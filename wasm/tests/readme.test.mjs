// The package README's examples, run as written: every ```js block against
// the Node build, the ```js browser block against pkg-web (with a fetch that
// reads file: URLs, as a browser fetches the .wasm next to the module).
// A `console.log(...) // text` line must print exactly `text`. Examples that
// talk to `http://127.0.0.1:8787` get a real reference backend (2,000
// accounts, seed 1) on a free port instead.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { wasmDir } from "./helpers.mjs";
import { startBackend } from "./backend.mjs";

const readme = readFileSync(path.join(wasmDir, "README.md"), "utf8");
const blocks = [...readme.matchAll(/```(js(?: browser)?)\n([\s\S]*?)```/g)].map((m) => ({ kind: m[1], code: m[2] }));
const dir = mkdtempSync(path.join(tmpdir(), "satchel-readme-"));

const fileFetch = `
import { readFile } from "node:fs/promises";
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, ...rest) => {
  const u = new URL(url);
  if (u.protocol !== "file:") return realFetch(url, ...rest);
  return new Response(await readFile(u), { headers: { "content-type": "application/wasm" } });
};
`;

const DEMO = "http://127.0.0.1:8787";
let api = null;
before(async () => {
  if (blocks.some((b) => b.code.includes(DEMO))) api = await startBackend(2000);
});
after(() => api && api.stop());

test("the README has runnable examples", () => {
  assert.ok(blocks.filter((b) => b.kind === "js").length >= 4);
  assert.equal(blocks.filter((b) => b.kind === "js browser").length, 1);
});

blocks.forEach(({ kind, code }, i) => {
  const first = code.split("\n").find((l) => l.startsWith("//") || l.includes("=")) ?? "";
  test(`README example ${i + 1} (${kind}): ${first.slice(0, 60)}`, () => {
    const pkg = kind === "js" ? "pkg-node/satchel_wasm.js" : "pkg-web/satchel_wasm.js";
    const spec = pathToFileURL(path.join(wasmDir, pkg)).href;
    const body = code.replaceAll('from "satchel-wasm"', `from ${JSON.stringify(spec)}`).replaceAll(DEMO, api ? api.url : DEMO);
    assert.notEqual(body, code, "the example imports the package");
    const file = path.join(dir, `example-${i + 1}.mjs`);
    writeFileSync(file, (kind === "js browser" ? fileFetch : "") + body);
    const out = execFileSync(process.execPath, [file], { encoding: "utf8", timeout: 120000 }).split("\n").filter((l) => l !== "");
    const expected = code
      .split("\n")
      .filter((l) => l.includes("console.log(") && l.includes("); // "))
      .map((l) => l.slice(l.indexOf("); // ") + 6));
    assert.deepEqual(out.slice(0, expected.length), expected);
    assert.equal(out.length, expected.length, `unexpected output: ${out.join(" | ")}`);
  });
});
