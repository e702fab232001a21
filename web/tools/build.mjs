// Builds the app into web/dist/: the shell (src/), both wasm packages
// (pkg-web for browsers with post-MVP WebAssembly, pkg-legacy for MVP-only
// ones), the rule set, icons drawn here, and the service worker with its
// precache list and a version that changes with any byte of the app.
//
// Each package's `snippets/` (wasm-bindgen's JS snippets: the sync loop)
// is copied beside its glue. The one change made to the packages' JS: wasm-bindgen's glue names its
// .wasm with `new URL(…, import.meta.url)`, which is ES2020 syntax; the app
// always passes the .wasm URL to init(), so that default becomes
// `self.location.href` and every shipped script parses as ES2017
// (tests/syntax.test.mjs checks it).
//
// Every shipped script is minified by terser (comments dropped, local names
// shortened, whitespace gone; output held to ES2017, which
// tests/syntax.test.mjs checks): src/ is for readers, and what a handheld
// downloads on first load is about a third smaller (web/README.md).
//
// Usage: node tools/build.mjs [--connect-src "<CSP sources>"]
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { minify } from "terser";
import { icon } from "./icons.mjs";

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const root = path.resolve(web, "..");
const src = path.join(web, "src");
const dist = path.join(web, "dist");

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
/** Where the app may fetch from besides itself: the backends a rep can choose. */
const connectSrc = arg("--connect-src", process.env.SATCHEL_CONNECT_SRC || "http://127.0.0.1:* http://localhost:*");

export const CSP = [
  "default-src 'self'",
  // 'wasm-unsafe-eval': compiling WebAssembly, nothing else (no eval, no inline script).
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  `connect-src 'self' ${connectSrc}`,
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
cpSync(src, dist, { recursive: true });

for (const [name, dir] of [["web", "pkg-web"], ["legacy", "pkg-legacy"]]) {
  const from = path.join(root, "wasm", dir);
  if (!existsSync(path.join(from, "satchel_wasm_bg.wasm"))) {
    console.error(`web build: ${from} is missing; run \`cargo xtask wasm\` first`);
    process.exit(1);
  }
  const to = path.join(dist, "pkg", name);
  mkdirSync(to, { recursive: true });
  cpSync(path.join(from, "satchel_wasm_bg.wasm"), path.join(to, "satchel_wasm_bg.wasm"));
  const glue = readFileSync(path.join(from, "satchel_wasm.js"), "utf8");
  const patched = glue.split("import.meta.url").join("self.location.href");
  writeFileSync(path.join(to, "satchel_wasm.js"), patched);
  // engine.js inserts this as a module script: the page downloads one build.
  writeFileSync(path.join(to, "entry.js"), [
    "// Hands this build's package to the app (engine.js): only the build the",
    "// browser runs is downloaded. Written by web/tools/build.mjs.",
    'import init, * as pkg from "./satchel_wasm.js";',
    'self.dispatchEvent(new CustomEvent("satchel-pkg", { detail: { init: init, pkg: pkg } }));',
    "",
  ].join("\n"));
  // wasm-bindgen's JS snippets (the sync loop), imported by the glue.
  if (existsSync(path.join(from, "snippets"))) cpSync(path.join(from, "snippets"), path.join(to, "snippets"), { recursive: true });
}

writeFileSync(path.join(dist, "rules.json"), readFileSync(path.join(root, "fixtures/rules/field-rep.json")));
mkdirSync(path.join(dist, "icons"), { recursive: true });
writeFileSync(path.join(dist, "icons/icon-192.png"), icon(192, false));
writeFileSync(path.join(dist, "icons/icon-512.png"), icon(512, false));
writeFileSync(path.join(dist, "icons/maskable-512.png"), icon(512, true));

const html = path.join(dist, "index.html");
writeFileSync(html, readFileSync(html, "utf8").replace("__CSP__", CSP));

/**
 * `code` minified: compressed and mangled, ES2017 out, no comments. Module
 * scripts keep their exports' names (other modules import them).
 */
async function shrink(code, sourceType) {
  const module = sourceType === "module";
  const out = await minify(code, {
    ecma: 2017,
    module,
    compress: { ecma: 2017, passes: 2 },
    mangle: true,
    format: { comments: false, ecma: 2017 },
  });
  return out.code + "\n";
}

const scripts = [];
const findScripts = (dir) => {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) findScripts(full);
    else if (name.endsWith(".js")) scripts.push(full);
  }
};
findScripts(dist);
// The service worker is a classic script; everything else is a module.
for (const f of scripts) {
  writeFileSync(f, await shrink(readFileSync(f, "utf8"), f === path.join(dist, "sw.js") ? "script" : "module"));
}

// Every file but the worker itself and the two builds (pkg/) is precached
// (the worker adds the build this browser runs); the version hashes them all.
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) walk(full);
    else files.push(path.relative(dist, full).split(path.sep).join("/"));
  }
};
walk(dist);
// A build is every file under its pkg/ directory (entry, glue, snippets, .wasm).
const build = (name) => files.filter((f) => f.startsWith(`pkg/${name}/`));
const WASM = { web: build("web"), legacy: build("legacy") };
const hashed = files.filter((f) => f !== "sw.js");
const precache = hashed.filter((f) => !f.startsWith("pkg/"));
const hash = createHash("sha256");
for (const f of hashed) hash.update(f).update(readFileSync(path.join(dist, f)));
const version = hash.digest("hex").slice(0, 12);
const sw = path.join(dist, "sw.js");
writeFileSync(sw, readFileSync(sw, "utf8")
  .replace("__VERSION__", version)
  // The shell once, as "./": "index.html" too would download it again.
  .replace("__PRECACHE__", JSON.stringify(["./", ...precache.filter((f) => f !== "index.html")]))
  .replace("__WASM__", JSON.stringify(WASM)));
writeFileSync(path.join(dist, "csp.txt"), CSP + "\n");
console.log(`web/dist: ${files.length} files, version ${version}`);
