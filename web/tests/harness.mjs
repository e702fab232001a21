// Starts what the browser tests need on loopback: the reference backend
// (real binary, generated org) and the static server of web/dist; launches
// Debian's Chromium through playwright-core. Every wait is bounded.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const root = path.resolve(web, "..");
export const ACCOUNTS = Number(process.env.SATCHEL_WEB_ACCOUNTS || 20000);
export const TOKEN = "satchel-demo-token";

/** Spawns `cmd` and resolves with the first stdout match of `pattern`. */
function started(cmd, args, pattern, what) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => { child.kill(); reject(new Error(`${what}: not up after 60 s`)); }, 60000);
    const read = (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) { clearTimeout(timer); resolve({ child, url: m[1] }); }
    };
    // The backend reports on stderr, the static server on stdout.
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`${what} exited ${code}`)); });
  });
}

export async function backend(accounts = ACCOUNTS) {
  const bin = process.env.SATCHEL_FIXTURES_BIN || path.join(root, "target/release/satchel-fixtures");
  if (!existsSync(bin)) throw new Error(`${bin} is missing: cargo build --release -p satchel-fixtures`);
  // The org is generated around today (as the demo's), so "this week" has data.
  const now = String(Math.floor(Date.now() / 1000));
  return started(bin, ["serve", "--accounts", String(accounts), "--seed", "1", "--now", now, "--port", "0"],
    /serving on (http:\/\/127\.0\.0\.1:\d+)/, "backend");
}

/** The static server of web/dist (`extra`: more of its flags, e.g. `--stats`). */
export async function app(extra = []) {
  return started(process.execPath, [path.join(web, "tools/serve.mjs"), "--port", "0", ...extra],
    /app on (http:\/\/127\.0\.0\.1:\d+\/)/, "static server");
}

export const LAUNCH = {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
  timeout: 60000,
};

/**
 * What every browser test file needs: the backend, the static server
 * (`appArgs`: more of its flags) and a browser. `stop(env)` undoes it; a
 * half-started env (one of them failed) is stopped too.
 */
export async function start(appArgs = [], accounts = ACCOUNTS) {
  const up = await Promise.allSettled([backend(accounts), app(appArgs)]);
  const [api, site] = up.map((r) => (r.status === "fulfilled" ? r.value : null));
  const failed = up.find((r) => r.status === "rejected");
  if (failed) {
    await stop({ api, site });
    throw failed.reason;
  }
  return { api, site, chromium: await browser() };
}

export async function stop(env) {
  if (!env) return;
  if (env.chromium) await env.chromium.close();
  for (const p of [env.api, env.site]) if (p) p.child.kill();
}

/**
 * Debian's Chromium as a child process of this test on the profile in
 * `dir` (so the test can SIGKILL it), driven over CDP: `{ child, browser,
 * context }` (the profile's own context, on disk).
 */
export async function ownBrowser(dir) {
  const child = spawn(LAUNCH.executablePath, ["--headless", ...LAUNCH.args, `--user-data-dir=${dir}`,
    "--remote-debugging-port=0", "about:blank"], { stdio: ["ignore", "ignore", "pipe"] });
  const ws = await new Promise((resolve, reject) => {
    let err = "";
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error("chromium: no DevTools endpoint after 60 s")); }, 60000);
    child.stderr.on("data", (d) => {
      err += d;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`chromium exited ${code}: ${err.slice(-500)}`)); });
  });
  const browser = await chromium.connectOverCDP(ws, { timeout: 60000 });
  return { child, browser, context: browser.contexts()[0] };
}

/** A browser whose contexts are incognito-like (fresh each). */
export async function browser() {
  return chromium.launch(LAUNCH);
}

/** A browser context on a fresh profile directory: installability is judged outside incognito. */
export async function profile(options) {
  return chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), "satchel-chromium-")), Object.assign({}, LAUNCH, options));
}

/** A page of the backend's feed (Node fetch, the server token). */
export async function sample(base, query) {
  const res = await fetch(`${base}/v1/accounts?${query}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  return (await res.json()).items;
}

/** As a rep types it: no diacritics, lower case. */
export const plain = (s) => s.normalize("NFKD").replace(/\p{M}/gu, "").replace(/ø/g, "o").toLowerCase();

/** The PIN the tests set on first run. */
export const PIN = "2468";

/**
 * Connects the page to `base` as `user` (setting `pin` as the device's PIN
 * on first run) and waits for the load; returns the load time (ms).
 */
export async function connect(page, base, user = "rep-0003", pin = PIN) {
  await page.waitForSelector("#connect", { timeout: 30000 });
  await page.fill("#base", base);
  await page.fill("#user", user);
  if (await page.$("#pin")) {
    await page.fill("#pin", pin);
    await page.fill("#pin-again", pin);
  }
  await page.click("#connect");
  // Read through the element handle: the screen moves on to the list 0.6 s
  // after a good load, and a busy machine may read later than that.
  const status = await page.waitForSelector("#load-status.good, #load-status.error", { timeout: 120000 });
  const [failed, text, ms] = await status.evaluate((e) => [e.classList.contains("error"), e.textContent, Number(e.dataset.ms)]);
  if (failed) throw new Error(text);
  await page.waitForSelector("#list .row", { timeout: 30000 });
  return ms;
}

/** Types a search and waits for the list to settle; returns the ids of the rows in view. */
export async function search(page, text) {
  await page.fill("#q", text);
  await page.waitForFunction((t) => document.querySelector("#q").value === t && !!document.querySelector("#count"), text, { timeout: 10000 });
  await page.waitForTimeout(150);
  return page.$$eval("#list .row:not([hidden])", (rows) => rows.map((r) => r.dataset.id));
}

/**
 * After a reload: the lock screen, then `pin`; waits until the screen
 * behind it is drawn (or, for a wrong PIN, the refusal). Returns the status
 * text when the PIN was refused, else null.
 */
export async function unlock(page, pin = PIN) {
  await page.waitForSelector("#unlock-pin", { timeout: 30000 });
  await page.fill("#unlock-pin", pin);
  await page.click("#unlock");
  await page.waitForFunction(() => !document.querySelector("#unlock-pin") ||
    (document.querySelector("#unlock-status").className === "error"), null, { timeout: 30000 });
  const refused = await page.$("#unlock-status.error");
  return refused ? refused.textContent() : null;
}
