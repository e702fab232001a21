// The app in Debian's Chromium against the real reference backend on
// loopback: installable, works offline after the first load (reload, search,
// a logged visit kept across reloads), the legacy build without a service
// worker, and a virtualized list of 500,000 rows.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start, stop, profile, sample, plain, connect, unlock, search, ACCOUNTS } from "./harness.mjs";

let env, api, site, chromium;
const figures = {};

before(async () => {
  env = await start();
  ({ api, site, chromium } = env);
});

after(async () => {
  await stop(env);
  console.log("# figures " + JSON.stringify(figures));
});

test("installable, offline after the first load, edits survive reloads", { timeout: 240000 }, async () => {
  const context = await profile({ viewport: { width: 360, height: 740 } });
  const page = context.pages()[0] || await context.newPage();
  const origins = new Set();
  page.on("request", (r) => origins.add(new URL(r.url()).origin));
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));

  const t0 = Date.now();
  await page.goto(site.url);
  await page.waitForSelector("body[data-ready]", { timeout: 30000 });
  figures.shellMs = Date.now() - t0;

  // Installability, as Chromium judges it (manifest, icons, service worker).
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  const cdp = await context.newCDPSession(page);
  const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
  assert.deepEqual(installabilityErrors, []);
  const manifest = await cdp.send("Page.getAppManifest");
  assert.deepEqual(manifest.errors, []);

  figures.loadMs = await connect(page, api.url);
  figures.accounts = ACCOUNTS;
  assert.equal(await page.textContent("#count"), `${ACCOUNTS.toLocaleString("en-US")} customers on this device`);
  assert.deepEqual([...origins].sort(), [api.url, new URL(site.url).origin].sort(), "nothing from another origin");

  // Names to look for, from the backend (on the device: the whole org fits).
  const org = await sample(api.url, "limit=1000&include_deleted=false");
  const swedes = org.filter((a) => /[åäöÅÄÖ]/.test(a.name) && a.name === a.name.trim() && a.address.country === "SE");
  const chinese = org.filter((a) => /^[\u4e00-\u9fff]{8,}$/.test(a.company));
  const htmlish = org.find((a) => /<\w+>/.test(a.company));
  assert.ok(swedes.length > 3 && chinese.length > 3);

  // Offline: the network is cut, the app reloads from the service worker and IndexedDB.
  await context.setOffline(true);
  await page.reload();
  assert.equal(await unlock(page), null, "the PIN opens the store offline");
  await page.waitForSelector("#list .row", { timeout: 30000 });
  assert.equal(await page.textContent("#net"), "offline");

  let found = null;
  for (const a of swedes.slice(0, 8)) {
    const typed = plain(a.name);
    assert.notEqual(typed, a.name.toLowerCase());
    const ids = await search(page, typed);
    if (ids.includes(a.id)) { found = a; break; }
  }
  assert.ok(found, "a Swedish name typed without diacritics is found");
  const marks = await page.$$eval(`#list .row[data-id="${found.id}"] .name mark`, (m) => m.map((x) => x.textContent));
  assert.ok(marks.length >= 1 && marks.every((m) => found.name.includes(m)), `highlights ${marks}`);

  let cn = null;
  for (const a of chinese.slice(0, 8)) {
    const piece = [...a.company].slice(2, 5).join("");
    const ids = await search(page, piece);
    const hl = await page.$$eval("#list .row:not([hidden]) .sub mark", (m) => m.map((x) => x.textContent));
    assert.ok(hl.length > 0 && hl.every((m) => m === piece), `Chinese highlights ${hl} for ${piece}`);
    if (ids.includes(a.id)) { cn = a; break; }
  }
  assert.ok(cn, "a Chinese substring finds its company");

  if (htmlish) {
    await search(page, plain(htmlish.name));
    assert.equal(await page.$$eval("#list b, #list script, #list ltd, #list old", (x) => x.length), 0, "markup in data stays text");
  }

  // A visit logged offline goes to the outbox and survives a reload.
  await page.goto(`${site.url}#card/${encodeURIComponent(found.id)}`);
  await page.waitForSelector("#card-name", { timeout: 10000 });
  assert.equal(await page.textContent("#card-name"), found.name);
  await page.selectOption("#log-kind", "visit");
  await page.fill("#log-text", "Besök offline <b>ok</b>");
  await page.click("#log");
  await page.waitForFunction(() => document.querySelector("#outbox-badge").textContent === "1", null, { timeout: 10000 });
  await page.waitForTimeout(300); // the journal chunk is written after the edit
  await page.reload();
  await page.waitForSelector("body[data-ready]", { timeout: 30000 });
  assert.equal(await unlock(page), null);
  await page.goto(`${site.url}#sync`);
  await page.waitForSelector("#outbox-count", { timeout: 10000 });
  assert.equal(await page.textContent("#outbox-count"), "1");
  assert.match(await page.textContent("#outbox"), /visit logged/);
  await page.goto(`${site.url}#card/${encodeURIComponent(found.id)}`);
  await page.waitForSelector("#activities", { timeout: 10000 });
  assert.match(await page.textContent("#activities"), /Besök offline <b>ok<\/b>/);
  assert.equal(await page.$$eval("#activities b", (x) => x.length), 0);

  // My day and Device draw offline too.
  await page.goto(`${site.url}#day`);
  await page.waitForSelector("#weeks svg rect", { timeout: 10000 });
  await page.goto(`${site.url}#device`);
  await page.waitForSelector("#storage", { timeout: 10000 });
  await page.screenshot({ path: "/tmp/satchel-device.png" });

  // Back online: the interim push sends the visit (PATCH + If-Match + Idempotency-Key).
  await context.setOffline(false);
  await page.goto(`${site.url}#sync`);
  await page.waitForSelector("#sync-now:not([disabled])", { timeout: 10000 });
  await page.click("#sync-now");
  await page.waitForSelector("#sync-status.good, #sync-status.error", { timeout: 60000 });
  assert.match(await page.textContent("#sync-status"), /^Sent 1, 0 conflicts/, await page.textContent("#sync-status"));
  const back = await (await fetch(`${api.url}/v1/accounts/${encodeURIComponent(found.id)}`, { headers: { Authorization: "Bearer satchel-demo-token" } })).json();
  assert.equal(back.activities.at(-1).text, "Besök offline <b>ok</b>");
  assert.deepEqual(errors, []);
  await context.close();
});

test("the legacy build loads with service workers blocked", { timeout: 240000 }, async () => {
  const context = await chromium.newContext({ serviceWorkers: "block", viewport: { width: 320, height: 640 } });
  const page = await context.newPage();
  const wasm = [];
  page.on("request", (r) => { if (r.url().endsWith(".wasm")) wasm.push(new URL(r.url()).pathname); });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${site.url}?legacy=1`);
  figures.legacyLoadMs = await connect(page, api.url, "rep-0007");
  assert.deepEqual(wasm, ["/pkg/legacy/satchel_wasm_bg.wasm"]);
  assert.equal(await page.evaluate(() => navigator.serviceWorker ? navigator.serviceWorker.controller : null), null);
  const ids = await search(page, "strom");
  assert.ok(ids.length > 0);
  await page.goto(`${site.url}?legacy=1#device`);
  await page.waitForSelector("#storage", { timeout: 10000 });
  assert.match(await page.textContent("#storage"), /legacy WebAssembly \(MVP\)/);
  // Without a service worker, a reload (online) opens the saved store.
  await page.reload();
  assert.equal(await unlock(page), null);
  await page.waitForSelector("#storage", { timeout: 30000 });
  assert.deepEqual(errors, []);
  await context.close();
});

test("a virtualized list of 500,000 rows keeps a few dozen in the DOM and scrolls fast", { timeout: 120000 }, async () => {
  const context = await chromium.newContext({ viewport: { width: 390, height: 800 } });
  const page = await context.newPage();
  await page.goto(site.url);
  await page.waitForSelector("body[data-ready]", { timeout: 30000 });
  const result = await page.evaluate(async () => {
    const { VirtualList } = await import("./ui/vlist.js");
    const box = document.createElement("div");
    box.className = "vlist";
    box.style.position = "fixed";
    box.style.inset = "0";
    document.body.appendChild(box);
    const N = 500000;
    const list = new VirtualList(box, { rowHeight: 56, renderRow: (el, row) => { el.textContent = row.name; } });
    list.setSource(N, (i) => ({ name: "Row " + i }));
    const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
    const times = [];
    const seen = [];
    const max = box.scrollHeight - box.clientHeight;
    for (let k = 0; k <= 200; k++) {
      box.scrollTop = k === 200 ? max : (k / 200) * max;
      const t = performance.now();
      list.render();
      times.push(performance.now() - t);
      await frame();
    }
    const rows = [...box.querySelectorAll(".row:not([hidden])")];
    seen.push(...rows.map((r) => r.textContent));
    times.sort((a, b) => a - b);
    return { rows: rows.length, last: seen.includes("Row " + (N - 1)), p95: times[Math.floor(times.length * 0.95)], max: times[times.length - 1] };
  });
  assert.ok(result.rows > 5 && result.rows < 40, `${result.rows} rows in the DOM`);
  assert.ok(result.last, "the last row is reachable");
  // Render time is a figure, not a pass mark (tests check correctness, not the clock).
  figures.vlist500kP95Ms = Math.round(result.p95 * 100) / 100;
  await context.close();
});
