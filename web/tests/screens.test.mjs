// The app as a rep sees it, in Debian's Chromium against the real reference
// backend on loopback: hostile data renders as inert text, every main screen
// is photographed at 320 px and 1280 px (target/screenshots/, for a person
// to look at), and the first load's bytes on the wire are counted.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { start, stop, sample, connect, search, root, TOKEN } from "./harness.mjs";

/**
 * The first load's budget (issue 8): HTML, JS, CSS, manifest, icons and
 * .wasm, gzip, as sent: at most 300 KB, and the test fails above it. Met by
 * the third wasm size pass (the .wasm 339.5 -> 266.9 KB gzip, see
 * wasm/scripts/sizes.mjs), terser-minified scripts, indexed PNG icons and
 * the service worker caching the shell once: 298,973 bytes (the legacy
 * path, no service worker, 296,057). History: 413,918 with contacts, deals
 * and price lists; 418,121 after the batch paths; 377,460 after the second
 * size pass.
 */
const TARGET_BYTES = 300_000;
const GUARD_BYTES = TARGET_BYTES;
const SHOTS = path.join(root, "target/screenshots");
const HOSTILE_NAME = "<img src=x onerror=alert(1)>";
const HOSTILE_URL = "javascript:alert(document.domain)";

let env, api, site, chromium, hostile;
const figures = {};

async function admin(method, route, body) {
  const res = await fetch(`${api.url}${route}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(res.ok, `${method} ${route}: ${res.status} ${await res.clone().text()}`);
  return res.json();
}

before(async () => {
  env = await start(["--stats"]);
  ({ api, site, chromium } = env);
  // A customer whose name is markup and whose website is a script URL, owned
  // by the rep who connects below (so the plan keeps it on the device).
  const [template] = await sample(api.url, "limit=1&include_deleted=false");
  const account = Object.assign({}, template, {
    id: "",
    name: HOSTILE_NAME,
    company: "Hostile Data AB",
    owner: "rep-0003",
    custom: { website: { text: HOSTILE_URL } },
    activities: [],
    // Markup in a contact and a deal too (the card's contacts and deals sections).
    contacts: [{ id: "C-hostile", name: HOSTILE_NAME, role: HOSTILE_URL, email: "x@hostile.example", phone: "+46 8 123 45 67" }],
    deals: [{ id: "D-hostile", title: HOSTILE_NAME, stage: "proposal", value: 12500000, currency: "SEK", close_date: 1791000000 }],
  });
  hostile = await admin("POST", "/v1/accounts", account);
});

after(async () => {
  await stop(env);
  console.log("# figures " + JSON.stringify(figures));
});

/** The static server's count of requests and body bytes sent so far. */
async function served() {
  return (await fetch(`${site.url}__bytes`)).json();
}

test("the first load stays under its guard (target 300 KB gzip) and fetches only the build the browser runs", { timeout: 120000 }, async () => {
  for (const legacy of [false, true]) {
    // A fresh profile: nothing cached, a service worker to install (blocked
    // for the legacy path, as on old handhelds).
    const context = await chromium.newContext({ serviceWorkers: legacy ? "block" : "allow" });
    const page = await context.newPage();
    const wasm = [];
    page.on("request", (r) => { if (r.url().includes("/pkg/")) wasm.push(new URL(r.url()).pathname); });
    const before = await served();
    await page.goto(site.url + (legacy ? "?legacy=1" : ""));
    await page.waitForSelector("body[data-ready]", { timeout: 30000 });
    if (!legacy) {
      // Until the worker has precached, the first load is not over.
      await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
      await page.waitForFunction(() => navigator.serviceWorker.ready.then((r) => r.active && r.active.state === "activated"), null, { timeout: 30000 });
    }
    await page.waitForLoadState("networkidle");
    const after = await served();
    const bytes = after.bytes - before.bytes;
    figures[legacy ? "firstLoadLegacyBytes" : "firstLoadBytes"] = bytes;
    figures[legacy ? "firstLoadLegacyRequests" : "firstLoadRequests"] = after.requests - before.requests;
    const other = legacy ? "/pkg/web/" : "/pkg/legacy/";
    assert.deepEqual(wasm.filter((p) => p.startsWith(other)), [], `the page fetched the other build: ${wasm}`);
    console.log(`# first load${legacy ? " (legacy)" : ""}: ${bytes} bytes gzip; target ${TARGET_BYTES}: ${bytes <= TARGET_BYTES ? "met" : "NOT MET"}; guard ${GUARD_BYTES}`);
    assert.ok(bytes <= GUARD_BYTES, `first load ${legacy ? "(legacy) " : ""}sent ${bytes} bytes (guard ${GUARD_BYTES}, target ${TARGET_BYTES})`);
    await context.close();
  }
});

test("markup in a name and a javascript: URL render as inert text; every screen at 320 and 1280 px", { timeout: 240000 }, async () => {
  mkdirSync(SHOTS, { recursive: true });
  for (const width of [320, 1280]) {
    const context = await chromium.newContext({ viewport: { width, height: width < 600 ? 640 : 800 } });
    const page = await context.newPage();
    const dialogs = [];
    page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
    const requests = [];
    page.on("request", (r) => requests.push(r.url()));
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const shot = (name) => page.screenshot({ path: path.join(SHOTS, `${width}-${name}.png`), fullPage: true });

    await page.goto(site.url);
    await page.waitForSelector("#connect", { timeout: 30000 });
    await shot("connect");
    await connect(page, api.url);
    await shot("customers");

    // The hostile customer, found by searching: its name is shown as typed.
    const ids = await search(page, "hostile");
    assert.ok(ids.includes(hostile.id), `search finds the hostile customer (${ids})`);
    await shot("search");
    const row = page.locator(`#list .row[data-id="${hostile.id}"] .name`);
    assert.equal(await row.textContent(), HOSTILE_NAME);

    await page.goto(`${site.url}#card/${encodeURIComponent(hostile.id)}`);
    await page.waitForSelector("#card-name", { timeout: 10000 });
    assert.equal(await page.textContent("#card-name"), HOSTILE_NAME);
    assert.match(await page.textContent("#card"), /javascript:alert\(document\.domain\)/);
    // Contacts and deals as typed; the price list section says there is none on the device.
    assert.equal(await page.textContent("#contacts li strong"), HOSTILE_NAME);
    assert.match(await page.textContent("#contacts"), /javascript:alert\(document\.domain\)/);
    assert.equal(await page.textContent("#deals li strong"), HOSTILE_NAME);
    assert.match(await page.textContent("#view"), /Price list/);
    await shot("card");
    // Inert: no element came from the data, no script URL is a link, nothing ran or was fetched.
    assert.equal(await page.$$eval("img, [onerror], [onload]", (x) => x.length), 0, "no element from the name");
    assert.equal(await page.$$eval("a[href^='javascript'], [src^='javascript']", (x) => x.length), 0, "no script URL in a link");

    for (const screen of ["day", "sync", "device"]) {
      await page.goto(`${site.url}#${screen}`);
      await page.waitForFunction((s) => document.querySelector("#view").dataset.screen === s, screen, { timeout: 10000 });
      await page.waitForTimeout(200);
      await shot(screen);
    }
    // Layout: nothing wider than the screen (no sideways scrolling at 320 px).
    for (const screen of ["customers", "day", "sync", "device", `card/${encodeURIComponent(hostile.id)}`]) {
      await page.goto(`${site.url}#${screen}`);
      await page.waitForTimeout(150);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `#${screen} at ${width} px is ${overflow} px wider than the screen`);
    }

    // The lock screen, after a reload.
    await page.reload();
    await page.waitForSelector("#unlock-pin", { timeout: 30000 });
    await shot("lock");
    const lockOverflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(lockOverflow <= 0, `the lock screen at ${width} px is ${lockOverflow} px wider than the screen`);

    assert.deepEqual(dialogs, [], "no dialog opened");
    const strays = requests.filter((u) => !u.startsWith(site.url) && !u.startsWith(api.url));
    assert.deepEqual(strays, [], "nothing fetched from elsewhere");
    assert.deepEqual(requests.filter((u) => /\/x$/.test(new URL(u).pathname)), [], "the name's <img src=x> was never fetched");
    assert.deepEqual(errors, []);
    await context.close();
  }
  figures.screenshots = SHOTS;
});
