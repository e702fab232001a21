// Sync in the app, in Debian's Chromium against the real reference backend
// on loopback: a tab killed during the first load reopens with what was
// saved and its sync continues where it stopped (only the missing pages are
// read); Sync shows progress; a conflict shows both values side by side and
// the rep's choice reaches the backend, also after a reload in between (the
// conflicts ledger is saved, sealed, with the store). Every wait is bounded.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start, stop, unlock, PIN, TOKEN, ACCOUNTS } from "./harness.mjs";

let env, api, site, chromium;

before(async () => {
  env = await start();
  ({ api, site, chromium } = env);
});

after(async () => {
  await stop(env);
});

const admin = (method, p, body) => fetch(api.url + p, {
  method,
  headers: { Authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
  body: body === undefined ? undefined : JSON.stringify(body),
  signal: AbortSignal.timeout(20000),
}).then((r) => r.json());

/** Feed pages the page asks for (GET /v1/accounts). */
function countPages(page) {
  const seen = { pages: 0 };
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.origin === api.url && u.pathname === "/v1/accounts" && r.method() === "GET") seen.pages += 1;
  });
  return seen;
}

async function syncNow(page) {
  await page.goto(`${site.url}#sync`);
  await page.waitForSelector("#sync-now:not([disabled])", { timeout: 10000 });
  await page.click("#sync-now");
  await page.waitForSelector("#sync-status.good, #sync-status.error", { timeout: 120000 });
  return page.textContent("#sync-status");
}

test("a tab killed during the first load reopens and its sync continues where it stopped", { timeout: 240000 }, async () => {
  const total = Math.ceil(ACCOUNTS / 500);
  // Slow pages, so that the load is still running when the tab dies.
  await admin("POST", "/v1/admin/faults", { latency_ms: 60 });
  const context = await chromium.newContext({ viewport: { width: 390, height: 800 } });
  try {
    let page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const first = countPages(page);
    await page.goto(site.url);
    await page.waitForSelector("#connect", { timeout: 30000 });
    await page.fill("#base", api.url);
    await page.fill("#pin", PIN);
    await page.fill("#pin-again", PIN);
    await page.click("#connect");
    // The app saves the store with its sync position every 16 pages; wait
    // until the first save is behind us (the status shows page 17's records).
    await page.waitForFunction(() => {
      const m = /Loaded ([\d,]+) records/.exec(document.querySelector("#load-status").textContent);
      return m && Number(m[1].replace(/,/g, "")) >= 8500;
    }, null, { timeout: 120000 });
    await page.close({ runBeforeUnload: false });
    assert.ok(first.pages >= 17 && first.pages < total, `${first.pages} pages before the kill`);
    await admin("POST", "/v1/admin/faults", {});

    page = await context.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    const second = countPages(page);
    await page.goto(site.url);
    await page.waitForSelector("body[data-ready]", { timeout: 30000 });
    assert.equal(await unlock(page), null);
    await page.goto(`${site.url}#sync`);
    await page.waitForSelector("#sync-resume", { timeout: 10000 });
    const status = await syncNow(page);
    assert.match(status, /^Sent 0, 0 conflicts; received \d+ changes/, status);
    const received = Number(/received (\d+)/.exec(status)[1]);
    assert.ok(received > 0 && received <= ACCOUNTS - 8000, `received ${received}`);
    assert.ok(second.pages <= total - 16 + 1, `${second.pages} pages after reopening (of ${total})`);
    assert.match(await page.textContent("#sync-progress"), /records received [\d,]+ · \d+ pages/);
    await page.goto(`${site.url}#customers`);
    await page.waitForSelector("#list .row", { timeout: 30000 });
    assert.equal(await page.textContent("#count"), `${ACCOUNTS.toLocaleString("en-US")} customers on this device`);
    assert.deepEqual(errors, []);
  } finally {
    await admin("POST", "/v1/admin/faults", {});
    await context.close();
  }
});

test("a conflict shows both values side by side; the rep's choice reaches the backend", { timeout: 240000 }, async () => {
  const context = await chromium.newContext({ viewport: { width: 390, height: 800 } });
  try {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(site.url);
    await page.waitForSelector("#connect", { timeout: 30000 });
    await page.fill("#base", api.url);
    await page.fill("#user", "rep-0005");
    await page.fill("#pin", PIN);
    await page.fill("#pin-again", PIN);
    await page.click("#connect");
    await page.waitForSelector("#load-status.good", { timeout: 120000 });
    await page.waitForSelector("#list .row", { timeout: 30000 });
    const id = await page.$eval("#list .row", (r) => r.dataset.id);

    // The rep changes the phone offline…
    await page.goto(`${site.url}#card/${encodeURIComponent(id)}`);
    await page.waitForSelector("#e-phone", { timeout: 10000 });
    await page.fill("#e-phone", "+46 8 111 22 33");
    await page.click("#save");
    await page.waitForFunction(() => document.querySelector("#outbox-badge").textContent === "1", null, { timeout: 10000 });
    // …while the office changes it at the backend.
    const office = await fetch(`${api.url}/v1/accounts/${encodeURIComponent(id)}`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ phone: "+46 8 999 00 00" }),
    });
    assert.equal(office.status, 200);

    assert.match(await syncNow(page), /^Sent 0, 1 conflicts/);
    await page.goto(`${site.url}#sync`);
    await page.waitForSelector("#conflicts .conflict", { timeout: 10000 });
    assert.equal(await page.textContent('#conflicts tr[data-field="phone"] .local'), "+46 8 111 22 33");
    assert.equal(await page.textContent('#conflicts tr[data-field="phone"] .server'), "+46 8 999 00 00");
    assert.equal(await page.textContent("#outbox-count"), "1", "the edit stays until the rep chooses");

    // A reload in between: the conflict is still there, both values as before.
    await page.reload();
    assert.equal(await unlock(page), null);
    await page.goto(`${site.url}#sync`);
    await page.waitForSelector("#conflicts .conflict", { timeout: 10000 });
    assert.equal(await page.textContent('#conflicts tr[data-field="phone"] .local'), "+46 8 111 22 33");
    assert.equal(await page.textContent('#conflicts tr[data-field="phone"] .server'), "+46 8 999 00 00");
    assert.equal(await page.textContent("#outbox-count"), "1");

    await page.click("#conflicts .keep-mine");
    await page.waitForSelector("#conflicts .conflict .meta:has-text('Chosen: yours')", { timeout: 10000 });
    // The choice too is kept across a reload (the ledger rides with its journal chunk).
    await page.evaluate(() => import("./engine.js").then((e) => e.flushed()));
    await page.reload();
    assert.equal(await unlock(page), null);
    await page.goto(`${site.url}#sync`);
    await page.waitForSelector("#conflicts .conflict .meta:has-text('Chosen: yours')", { timeout: 10000 });
    assert.match(await syncNow(page), /^Sent 1, 0 conflicts/);
    const back = await (await fetch(`${api.url}/v1/accounts/${encodeURIComponent(id)}`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
    assert.equal(back.phone, "+46 8 111 22 33");
    // The screen redraws itself 1.5 s after a sync.
    await page.waitForFunction(() => {
      const n = document.querySelector("#outbox-count");
      return n && n.textContent === "0";
    }, null, { timeout: 10000 });
    assert.equal(await page.$$eval("#conflicts", (x) => x.length), 0);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
