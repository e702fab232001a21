// The customer card: fields, contacts, deals, recent activities, a trend
// chart, the territory's price list, and the rep's edits and logged calls,
// visits and notes, all offline, into the outbox. Every value is inert text
// (dom.js `h`), never markup.
import { state, journal } from "../engine.js";
import { fetchOne } from "../backend.js";
import { h, toast, day, when, money } from "./dom.js";
import { trendChart } from "./charts.js";

const KINDS = [
  { kind: "visit", color: "#1f4e79" }, { kind: "call", color: "#4f8fc0" }, { kind: "meeting", color: "#8cb8de" },
  { kind: "email", color: "#f2c14e" }, { kind: "note", color: "#c9ced6" }, { kind: "task", color: "#9aa3ad" },
];
const STAGES = ["lead", "qualified", "proposal", "negotiation", "won", "lost"];
const now = function () { return Math.floor(Date.now() / 1000); };

function customText(v) {
  const k = Object.keys(v)[0];
  const x = v[k];
  if (k === "decimal") return String(x.value / Math.pow(10, x.scale));
  if (k === "money") return money(x.minor, x.currency);
  if (k === "date") return day(x);
  return String(x);
}

function stubCard(view, id, app) {
  const stub = state.store.stub(id);
  const msg = h("p", { id: "stub-status" }, "This customer is not on the device (the plan made room for others).");
  const fetchIt = h("button", { type: "button", id: "fetch" }, "Fetch from the backend");
  fetchIt.disabled = !navigator.onLine || !(state.session && state.session.token);
  if (fetchIt.disabled) msg.textContent += " Connect (Sync tab) while online to fetch it.";
  fetchIt.addEventListener("click", async function () {
    try {
      const a = await fetchOne(id);
      state.store.upsert(a);
      state.store.pin(id);
      await journal();
      app.go("#card/" + encodeURIComponent(id));
    } catch (e) {
      msg.textContent = (e.code ? e.code + ": " : "") + e.message;
    }
  });
  view.appendChild(h("div", { className: "panel" },
    h("h1", null, stub ? stub.name : id), h("span", { className: "tag stub" }, "not on device"), msg,
    h("div", { className: "row-actions" }, fetchIt,
      h("button", { type: "button", className: "secondary", onclick: function () { history.back(); } }, "Back"))));
}

function saved(store, app, id, what) {
  journal();
  app.refreshBadge();
  toast(what + " saved on this device; " + store.outboxLength + " waiting for sync.");
  app.go("#card/" + encodeURIComponent(id));
}

export function render(view, id, app) {
  const store = state.store;
  const a = store.get(id);
  if (!a) return stubCard(view, id, app);
  try { store.recordUse(id, "open"); } catch (e) { /* a full store still shows the card */ }
  const me = (state.session && state.session.user) || a.owner;
  const dirty = store.isDirty(id);

  const fields = h("dl", { className: "fields" });
  const field = function (label, value) {
    fields.appendChild(h("dt", null, label));
    fields.appendChild(h("dd", null, value === "" || value === null || value === undefined ? "—" : value));
  };
  field("Company", a.company);
  field("Phone", a.phone);
  field("E-mail", a.email);
  field("Address", [a.address.street, [a.address.postcode, a.address.city].filter(Boolean).join(" "), a.address.country].filter(Boolean).join(", "));
  field("Territory", a.territory);
  field("Owner", a.owner);
  field("Stage", a.stage);
  field("Deal value", money(a.deal_value, a.currency));
  field("Next visit", day(a.next_visit));
  field("Last contact", day(a.last_contact));
  field("Tags", a.tags.join(", "));
  Object.keys(a.custom).sort().forEach(function (k) { field(k, customText(a.custom[k])); });

  const recent = a.activities.slice().sort(function (x, y) { return y.at - x.at; }).slice(0, 8);
  const acts = h("ul", { className: "plain", id: "activities" }, recent.map(function (act) {
    return h("li", null, h("strong", null, act.kind), " ", h("span", { className: "meta" }, when(act.at) + " · " + act.by),
      act.text ? h("div", null, act.text) : null);
  }));
  if (!recent.length) acts.appendChild(h("li", { className: "meta" }, "No activities yet."));

  const months = store.trend(id, 12, now(), -new Date().getTimezoneOffset() * 60) || [];

  // Contacts and deals ride in the account (absent when there are none).
  const contacts = h("ul", { className: "plain", id: "contacts" }, (a.contacts || []).map(function (c) {
    return h("li", null, h("strong", null, c.name), c.role ? " · " + c.role : "",
      h("div", { className: "meta" }, [c.phone, c.email].filter(Boolean).join(" · ")));
  }));
  if (!(a.contacts || []).length) contacts.appendChild(h("li", { className: "meta" }, "No contacts on the device."));
  const deals = h("ul", { className: "plain", id: "deals" }, (a.deals || []).map(function (d) {
    return h("li", null, h("strong", null, d.title), " ", h("span", { className: "tag" }, d.stage),
      h("div", { className: "meta" }, money(d.value, d.currency) + (d.close_date ? " · closes " + day(d.close_date) : "")));
  }));
  if (!(a.deals || []).length) deals.appendChild(h("li", { className: "meta" }, "No deals on the device."));

  // The territory's price list: the longest prefix of the territory.
  const list = a.territory ? store.priceListFor(a.territory) : undefined;
  const prices = h("table", { id: "price-list" }, h("tbody", null, (list ? list.items : []).map(function (item) {
    return h("tr", null, h("td", null, item.sku), h("td", null, item.name), h("td", { className: "num" }, money(item.unit_price, list.currency)));
  })));
  const pricePanel = h("div", { className: "panel" }, h("h2", null, "Price list" + (list ? " (" + list.territory_prefix + ")" : "")),
    list ? prices : h("p", { className: "meta" }, "No price list for " + (a.territory || "this territory") + " on the device."));

  // Log a call, a visit or a note.
  const kind = h("select", { id: "log-kind", "aria-label": "Kind" },
    h("option", { value: "visit" }, "Visit"), h("option", { value: "call" }, "Call"), h("option", { value: "note" }, "Note"));
  const text = h("textarea", { id: "log-text", rows: 2, placeholder: "What happened?", maxlength: 2000 });
  const logForm = h("form", { className: "panel", id: "log-form" }, h("h2", null, "Log"), kind,
    h("label", { for: "log-text" }, "Text"), text,
    h("div", { className: "row-actions" }, h("button", { type: "submit", id: "log" }, "Log it")));
  logForm.addEventListener("submit", function (e) {
    e.preventDefault();
    const t = now();
    const patch = { log: [{ kind: kind.value, at: t, by: me, text: text.value }], set: [] };
    if (kind.value !== "note") patch.set.push({ last_contact: t });
    try {
      store.edit(id, patch, t);
      saved(store, app, id, kind.options[kind.selectedIndex].text);
    } catch (err) {
      toast((err.code || "") + " " + err.message);
    }
  });

  // Edit fields.
  const phone = h("input", { id: "e-phone", value: a.phone, type: "tel" });
  const email = h("input", { id: "e-email", value: a.email, type: "email" });
  const stage = h("select", { id: "e-stage" }, STAGES.concat(STAGES.indexOf(a.stage) < 0 ? [a.stage] : []).map(function (st) {
    return h("option", { value: st, selected: st === a.stage }, st);
  }));
  const next = h("input", { id: "e-next", type: "date", value: a.next_visit ? day(a.next_visit) : "" });
  const value = h("input", { id: "e-value", type: "number", step: "1", min: "0", value: String(Math.round(a.deal_value / 100)) });
  const editForm = h("form", { className: "panel", id: "edit-form" }, h("h2", null, "Edit"),
    h("label", { for: "e-phone" }, "Phone"), phone,
    h("label", { for: "e-email" }, "E-mail"), email,
    h("label", { for: "e-stage" }, "Stage"), stage,
    h("label", { for: "e-next" }, "Next visit"), next,
    h("label", { for: "e-value" }, "Deal value (" + a.currency + ")"), value,
    h("div", { className: "row-actions" }, h("button", { type: "submit", id: "save" }, "Save")));
  editForm.addEventListener("submit", function (e) {
    e.preventDefault();
    const set = [];
    if (phone.value !== a.phone) set.push({ phone: phone.value });
    if (email.value !== a.email) set.push({ email: email.value });
    if (stage.value !== a.stage) set.push({ stage: stage.value });
    const nv = next.value ? Math.floor(Date.parse(next.value + "T09:00:00Z") / 1000) : null;
    if ((nv === null) !== (a.next_visit === null) || (nv !== null && day(nv) !== day(a.next_visit))) set.push({ next_visit: nv });
    const dv = Math.round(Number(value.value) * 100);
    if (isFinite(dv) && dv !== a.deal_value) set.push({ deal_value: dv });
    if (!set.length) return toast("Nothing changed.");
    try {
      store.edit(id, { set: set }, now());
      saved(store, app, id, "Changes");
    } catch (err) {
      toast((err.code || "") + " " + err.message);
    }
  });

  view.appendChild(h("div", { className: "panel", id: "card" },
    h("h1", { id: "card-name" }, a.name || a.id),
    dirty ? h("span", { className: "tag dirty" }, "edited, waiting for sync") : null,
    h("p", { className: "meta" }, a.id + " · version " + a.version),
    fields,
    h("div", { className: "row-actions" },
      h("button", { type: "button", className: "secondary", onclick: function () { history.back(); } }, "Back"),
      a.phone ? h("a", { href: "tel:" + a.phone.replace(/[^+\d]/g, "") }, "Call") : null)));
  view.appendChild(h("div", { className: "grid2" },
    h("div", { className: "panel" }, h("h2", null, "Activity, last 12 months"), trendChart(months, KINDS)),
    h("div", { className: "panel" }, h("h2", null, "Recent activities"), acts)));
  view.appendChild(h("div", { className: "grid2" },
    h("div", { className: "panel" }, h("h2", null, "Contacts"), contacts),
    h("div", { className: "panel" }, h("h2", null, "Deals"), deals)));
  view.appendChild(pricePanel);
  view.appendChild(h("div", { className: "grid2" }, logForm, editForm));
}
