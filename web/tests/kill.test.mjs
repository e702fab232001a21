// Issue 7's kill test, against real IndexedDB in Debian's Chromium: the
// browser is killed (SIGKILL of the whole process) between every pair of
// IndexedDB writes of a save, and the store reopens to exactly the old or
// the new state.
//
// How the kill lands between two writes: db.js calls `faults.beforeWrite`
// before it issues each write request. The hook lets the first k writes of
// the save through; before write k it tells this test (a CDP binding) and
// then holds the page's thread, so the transaction in flight can neither
// issue more requests nor commit; the test kills Chromium meanwhile. Then
// Chromium starts again on the same profile directory, the app is unlocked
// with the PIN, and its store is compared with the states before and after
// the change: outbox, the edited account, the number of accounts.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { start, stop, ownBrowser, connect, unlock } from "./harness.mjs";

let env, api, site;
const ACCOUNTS = 2000;
const outcomes = [];

before(async () => {
  // No shared browser: this file runs its own, to kill it.
  env = await start([], ACCOUNTS);
  await env.chromium.close();
  env.chromium = null;
  ({ api, site } = env);
});

// The Chromium this file runs now (killed in after() if a test failed midway).
let running = null;

after(async () => {
  if (running && running.child.exitCode === null) running.child.kill("SIGKILL");
  await stop(env);
  console.log("# kill outcomes " + JSON.stringify(outcomes));
});

/** What the store holds that a save must keep: compared exactly. */
const STATE = `(e, id) => JSON.stringify({
  length: e.state.store.length,
  outbox: e.state.store.outbox(),
  account: e.state.store.get(id),
  gen: e.state.gen,
})`;

async function opened(dir) {
  const own = await ownBrowser(dir);
  running = own;
  const page = await own.context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(site.url);
  return { own, page, errors };
}

async function kill(own) {
  const gone = new Promise((resolve) => own.child.once("exit", resolve));
  own.child.kill("SIGKILL");
  await gone;
}

test("a browser killed between any two IndexedDB writes of a save reopens to the old or the new state", { timeout: 600000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "satchel-kill-"));
  let { own, page } = await opened(dir);
  await connect(page, api.url, "rep-0002");
  const id = await page.$eval("#list .row", (r) => r.dataset.id);
  let round = 0;

  // A save of each kind the app makes: a journal chunk after an edit, and
  // a checkpoint (new snapshot generation + pointer flip) holding an edit
  // that no chunk has. For each k: kill before write k, until a save
  // finishes with fewer than k + 1 writes (then killed after it finished).
  for (const save of ["journal", "checkpoint"]) {
    let writes = null;
    for (let k = 0; writes === null; k++) {
      assert.ok(k < 16, "a save of more than 16 writes");
      round += 1;
      const before = await page.evaluate(`import("./engine.js").then((e) => (${STATE})(e, ${JSON.stringify(id)}))`);
      let killedAt = null;
      let after = null;
      let killed;
      const reached = new Promise((resolve) => { killed = resolve; });
      await page.exposeBinding(`satchelKill${round}`, (_src, label) => { killedAt = label; killed("killed"); });
      await page.exposeBinding(`satchelAfter${round}`, (_src, json) => { after = json; });
      // The change and its save, in the page; not awaited (it may never end).
      const run = page.evaluate(`Promise.all([import("./engine.js"), import("./db.js")]).then(([e, db]) => {
        const id = ${JSON.stringify(id)};
        e.state.store.edit(id, { set: [], log: [{ kind: "note", at: 1700000000 + ${round}, by: "rep-0002", text: "kill round ${round}" }] }, 1700000000 + ${round});
        return window.satchelAfter${round}((${STATE})(e, id)).then(() => {
          let n = 0;
          db.faults.beforeWrite = (label) => {
            if (n++ < ${k}) return;
            window.satchelKill${round}(label);
            // Hold the thread until the kill (bounded: if it never comes,
            // the save goes on and the test sees writes beyond k).
            const until = Date.now() + 30000;
            while (Date.now() < until) { /* held */ }
          };
          return ${save === "journal" ? "e.journal()" : "e.checkpoint()"};
        }).then(() => { db.faults.beforeWrite = null; return "saved"; });
      })`);
      const first = await Promise.race([reached, run]);
      if (first === "killed") run.catch(() => {}); // the page dies under it
      else writes = k; // the save ended before write k: it has k writes
      await kill(own); // after a finished save too: its state must be there
      ({ own, page } = await opened(dir));
      assert.equal(await unlock(page), null, `round ${round}: the PIN opens the store after the kill`);
      await page.waitForSelector("#count", { timeout: 30000 });
      const now = await page.evaluate(`import("./engine.js").then((e) => (${STATE})(e, ${JSON.stringify(id)}))`);
      // The generation number is where the pointer is, not content.
      const content = (s) => { const o = JSON.parse(s); delete o.gen; return o; };
      assert.ok(after, "the new state was reported before the save");
      assert.notDeepEqual(content(after), content(before), "the round changes the store");
      const reopened = JSON.stringify(content(now)) === JSON.stringify(content(before)) ? "old"
        : JSON.stringify(content(now)) === JSON.stringify(content(after)) ? "new" : null;
      const where = first === "killed" ? `killed before write ${k} (${killedAt})` : "after the save";
      assert.ok(reopened, `round ${round} (${save}, ${where}): neither the old nor the new state: ${now}`);
      if (first !== "killed") assert.equal(reopened, "new", `round ${round} (${save}): a finished save must be kept`);
      outcomes.push({ save, k, at: first === "killed" ? killedAt : "finished", reopened });
    }
    console.log(`# ${save}: ${writes} IndexedDB writes, killed before each of them`);
    assert.ok(writes >= 1);
  }
  // Every kill left a store that opens, and each save's whole run reached the new state.
  assert.ok(outcomes.some((o) => o.save === "checkpoint" && o.k >= 2), "kills inside the pointer transaction were tried");
  await kill(own);
});
