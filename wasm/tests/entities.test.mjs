// Contacts, deals and regional price lists through the package (issue 6):
// real wasm, real Node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { nodePackage, throwsCode } from "./helpers.mjs";

const { Store } = nodePackage();

const list = (id, prefix, items = 3) => ({
  id,
  territory_prefix: prefix,
  currency: "SEK",
  items: Array.from({ length: items }, (_, k) => ({ sku: `P-${k}`, name: `Pump ${k}`, unit_price: 4990 * (k + 1) })),
  updated_at: 1790000000,
});

test("get returns contacts and deals; accounts without them have neither key", () => {
  const s = new Store({ budget: "4MiB" });
  const contacts = [{ id: "C1", name: "Åsa Ström", role: "Inköpare", email: "asa@x.se", phone: "070-123 45 67" }];
  const deals = [{ id: "D1", title: "Pumpar", stage: "proposal", value: 12500000, currency: "SEK", close_date: 1791000000 }];
  s.upsert({ id: "A1", name: "Kund", company: "Bolag AB", contacts, deals });
  s.upsert({ id: "A2", name: "Utan", company: "Inga AB" });
  const a = s.get("A1");
  assert.deepEqual(a.contacts, contacts);
  assert.deepEqual(a.deals, deals);
  assert.equal("contacts" in s.get("A2"), false);
  // They survive a snapshot.
  const again = Store.load(s.snapshot(), null, { budget: "4MiB" });
  assert.deepEqual(again.get("A1").deals, deals);
});

test("priceListFor picks the longest dash-separated prefix, survives a reload", () => {
  const s = new Store({ budget: "4MiB" });
  s.putPriceList(list("PL-SE", "SE"));
  s.putPriceList(JSON.stringify(list("PL-SE-N", "SE-N", 2)));
  assert.equal(s.priceListFor("SE-N-03").id, "PL-SE-N");
  assert.equal(s.priceListFor("SE-NO-1").id, "PL-SE");
  assert.equal(s.priceListFor("DE-BY-01"), undefined);
  assert.deepEqual(s.priceListFor("SE-S").items[2], { sku: "P-2", name: "Pump 2", unit_price: 14970 });
  const again = Store.load(s.snapshot(), null, { budget: "4MiB" });
  assert.equal(again.priceListFor("SE-N").items.length, 2);
});

test("a price list the budget cannot hold is refused and changes nothing", () => {
  const s = new Store({ budget: "64KiB" });
  s.putPriceList(list("PL-SE", "SE"));
  const before = s.usedBytes;
  throwsCode(assert, () => s.putPriceList(list("PL-DE", "DE", 5000)), "BUDGET_EXCEEDED");
  throwsCode(assert, () => s.putPriceList({ ...list("", "SE") }), "EMPTY_ID");
  throwsCode(assert, () => s.putPriceList({ id: "x", surprise: 1 }), "INVALID_RECORD");
  throwsCode(assert, () => s.priceListFor(42), "INVALID_ARGUMENT");
  assert.equal(s.usedBytes, before);
  assert.equal(s.priceListFor("DE"), undefined);
});
