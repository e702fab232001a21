// The reference backend for the sync tests: the real `satchel-fixtures
// serve` binary (built by `cargo xtask wasm`) on a free loopback port, with
// a generated org. Every wait is bounded.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { root } from "./helpers.mjs";

export const SERVER_TOKEN = "satchel-demo-token";
export const bin = process.env.SATCHEL_FIXTURES_BIN || path.join(root, "target/release/satchel-fixtures");

/**
 * Starts a backend with `accounts` generated accounts (seed 1, now =
 * 1790000000); resolves `{ url, stop, admin, login, get }` once it listens.
 */
export function startBackend(accounts, extra = []) {
  if (!existsSync(bin)) {
    return Promise.reject(new Error(`${bin} is missing: cargo build --release -p satchel-fixtures (cargo xtask wasm does)`));
  }
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["serve", "--accounts", String(accounts), "--seed", "1", "--port", "0", ...extra], {
      cwd: root,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let out = "";
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`backend not up after 60 s: ${out}`));
    }, 60000);
    child.stderr.on("data", (d) => {
      out += d;
      const m = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(api(m[1], child));
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`backend exited ${code}: ${out}`));
    });
  });
}

function api(url, child) {
  // The backend may close an idle keep-alive connection when others wait
  // for a worker (BACKEND.md): a request that fails before any response is
  // tried again, at most three times.
  const call = async (method, p, body, token = SERVER_TOKEN, headers = {}) => {
    for (let attempt = 1; ; attempt++) {
      let res;
      try {
        res = await fetch(url + p, {
          method,
          headers: { Authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(20000),
        });
      } catch (e) {
        if (attempt < 3) continue;
        throw e;
      }
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
    }
  };
  return {
    url,
    call,
    stop: () => child.kill(),
    /** `GET /v1/admin/stats`. */
    stats: async () => (await call("GET", "/v1/admin/stats")).body,
    /** Sets the faults in force (`{}`: none). */
    faults: async (f) => call("POST", "/v1/admin/faults", f),
    /** `POST /v1/login` for `device`: a login token. */
    login: async (device, user = "rep-0003") =>
      (await call("POST", "/v1/login", { user, password: "satchel", device }, "")).body.token,
    /** The account as the backend has it (server token). */
    get: async (id) => (await call("GET", `/v1/accounts/${encodeURIComponent(id)}`)).body,
  };
}

/** The reference backend's feeds beside the accounts. */
const RELATED_FEEDS = ["/v1/contacts", "/v1/deals", "/v1/price_lists"];

/** `fetch` that counts requests by method and listing pages, and can be bounded. */
export function countingFetch(max = 10000) {
  // `pages` counts accounts page requests, `pageUrls` the distinct accounts
  // pages asked for (a request retried after a dropped connection on a
  // loaded machine asks for the same page again), `relatedUrls` the distinct
  // pages of the contacts, deals and price lists feeds.
  const seen = {
    total: 0, GET: 0, PATCH: 0, PUT: 0, POST: 0, DELETE: 0,
    pages: 0, pageUrls: new Set(), relatedUrls: new Set(),
  };
  const f = (url, init) => {
    seen.total += 1;
    seen[init.method] = (seen[init.method] || 0) + 1;
    const path = new URL(url).pathname;
    if (init.method === "GET" && path === "/v1/accounts") {
      seen.pages += 1;
      seen.pageUrls.add(url);
    }
    if (init.method === "GET" && RELATED_FEEDS.includes(path)) seen.relatedUrls.add(url);
    if (seen.total > max) return Promise.reject(new Error(`more than ${max} requests`));
    return fetch(url, init);
  };
  return { fetch: f, seen };
}
