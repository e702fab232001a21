// A tiny static server for web/dist on 127.0.0.1 (the demo and the tests):
// right MIME types (application/wasm for streaming compilation, the
// manifest's), the Content-Security-Policy as a header too, gzip (-9, once
// per file) for clients that accept it, ETags so that a revalidation (the
// service worker's precache, a reload) costs a 304 rather than the file
// again, and no caching of the service worker so that updates are seen at
// once. `--stats` adds `GET /__bytes`: the requests served and the body
// bytes sent, for the tests' first-load figure.
//
// Usage: node tools/serve.mjs [--port 8080] [--dir web/dist] [--stats]
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const dir = path.resolve(arg("--dir", path.join(web, "dist")));
const port = Number(arg("--port", "8080"));
const csp = readFileSync(path.join(dir, "csp.txt"), "utf8").trim() + "; frame-ancestors 'none'";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".txt": "text/plain; charset=utf-8",
};

const stats = process.argv.includes("--stats") ? { requests: 0, bytes: 0 } : null;

/** Each file once: its bytes, gzip -9 bytes and ETag (dist does not change while served). */
const files = new Map();
async function load(file) {
  if (!files.has(file)) {
    const body = await readFile(file);
    files.set(file, {
      body,
      gzip: gzipSync(body, { level: 9 }),
      etag: `"${createHash("sha256").update(body).digest("hex").slice(0, 16)}"`,
    });
  }
  return files.get(file);
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, "http://localhost");
  if (stats && url.pathname === "/__bytes") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(stats));
    return;
  }
  let rel = decodeURIComponent(url.pathname);
  if (rel.endsWith("/")) rel += "index.html";
  const file = path.join(dir, path.normalize(rel));
  if (!file.startsWith(dir + path.sep)) {
    res.writeHead(403).end();
    return;
  }
  try {
    const f = await load(file);
    const headers = {
      "content-type": TYPES[path.extname(file)] || "application/octet-stream",
      "content-security-policy": csp,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": rel.endsWith("sw.js") || rel.endsWith(".html") ? "no-cache" : "max-age=0, must-revalidate",
      etag: f.etag,
      vary: "accept-encoding",
    };
    if (stats) stats.requests += 1;
    if (req.headers["if-none-match"] === f.etag) {
      res.writeHead(304, headers).end();
      return;
    }
    const gzip = /\bgzip\b/.test(req.headers["accept-encoding"] || "");
    const body = gzip ? f.gzip : f.body;
    if (gzip) headers["content-encoding"] = "gzip";
    headers["content-length"] = body.length;
    if (stats && req.method !== "HEAD") stats.bytes += body.length;
    res.writeHead(200, headers);
    res.end(req.method === "HEAD" ? undefined : body);
  } catch {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  }
});
server.listen(port, "127.0.0.1", () => {
  console.log(`app on http://127.0.0.1:${server.address().port}/`);
});
