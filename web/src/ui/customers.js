// Customers: search as you type (any language, no diacritics needed),
// filters, and a virtualized list of every account on the device.
import { state } from "../engine.js";
import { h, clear, highlighted } from "./dom.js";
import { VirtualList } from "./vlist.js";

const ROW = 56;
const DAY = 86400;
/** What the rep last asked for, kept when a card is opened and closed. */
const last = { text: "", territory: "", stage: "", due: false };

function tags(row) {
  const out = [];
  if (!row.onDevice) out.push(h("span", { className: "tag stub" }, "not on device"));
  else if (state.store.isDirty(row.id)) out.push(h("span", { className: "tag dirty" }, "edited"));
  return out;
}

/** Draws one row: every string goes in as text, highlights as <mark>. */
export function drawRow(el, row) {
  clear(el);
  if (!row) {
    el.appendChild(h("span", { className: "name" }, "…"));
    return;
  }
  el.dataset.id = row.id;
  const name = h("span", { className: "name" });
  name.appendChild(highlighted(row.name || row.id, row.spans ? row.spans.name : []));
  tags(row).forEach(function (t) { name.appendChild(t); });
  const sub = h("span", { className: "sub" });
  if (row.company) sub.appendChild(highlighted(row.company, row.spans ? row.spans.company : []));
  if (row.city) sub.appendChild(document.createTextNode((row.company ? " · " : "") + row.city));
  if (!row.onDevice) sub.appendChild(document.createTextNode("Open it while online to fetch it"));
  el.appendChild(name);
  el.appendChild(sub);
}

function option(value, label, selected) {
  return h("option", { value: value, selected: selected }, label);
}

export function render(view, _arg, app) {
  view.className = "fill";
  const store = state.store;
  const facets = (state.session && state.session.facets) || { territories: [], stages: [] };
  const text = h("input", { id: "q", type: "search", className: "search", placeholder: "Search name, company, city, phone…",
    value: last.text, autocomplete: "off", spellcheck: "false", "aria-label": "Search customers" });
  const territory = h("select", { id: "f-territory", "aria-label": "Territory" }, option("", "All territories", false),
    facets.territories.map(function (t) { return option(t, t, t === last.territory); }));
  const stage = h("select", { id: "f-stage", "aria-label": "Stage" }, option("", "All stages", false),
    facets.stages.map(function (t) { return option(t, t, t === last.stage); }));
  const due = h("input", { id: "f-due", type: "checkbox", checked: last.due });
  const count = h("p", { className: "count", id: "count", role: "status" });
  const box = h("div", { className: "vlist", id: "list" });

  view.appendChild(text);
  view.appendChild(h("div", { className: "filters" }, territory, stage,
    h("label", { className: "check", for: "f-due" }, due, "Visits due in 14 days")));
  view.appendChild(count);
  view.appendChild(box);

  let rows = [];
  const list = new VirtualList(box, {
    rowHeight: ROW,
    renderRow: function (el, row) { drawRow(el, row); },
    onPick: function (i) {
      const row = rows.length ? rows[i] : null;
      const id = row ? row.id : box.querySelector('.row[data-index="' + i + '"]').dataset.id;
      if (id) app.go("#card/" + encodeURIComponent(id));
    },
  });

  function update() {
    last.text = text.value;
    last.territory = territory.value;
    last.stage = stage.value;
    last.due = due.checked;
    const q = text.value.trim();
    if (!q && !territory.value && !stage.value && !due.checked) {
      // Browse: every account on the device, by local id, read as it scrolls.
      rows = [];
      const ids = store.localIds();
      const cache = new Map();
      count.textContent = ids.length.toLocaleString() + " customers on this device";
      list.setSource(ids.length, function (i) {
        let r = cache.get(i);
        if (!r) {
          const a = store.getLocal(ids[i]);
          r = a ? { id: a.id, name: a.name, company: a.company, city: a.address.city, onDevice: true } : null;
          if (cache.size > 400) cache.clear();
          cache.set(i, r);
        }
        return r;
      });
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    // Every hit is read from its block (about 0.12 ms each in Node, ten
    // times that on a legacy handheld), and typing searches on each key:
    // text asks for the best 200, a filter alone lists up to 1,000.
    const limit = q ? 200 : 1000;
    const query = {
      text: q,
      territory: territory.value ? [territory.value] : [],
      stage: stage.value ? [stage.value] : [],
      next_visit: due.checked ? { from: now, to: now + 14 * DAY } : null,
      limit: limit,
    };
    try {
      rows = store.search(query);
      count.textContent = rows.length === limit
        ? limit.toLocaleString() + "+ matches (best first" + (q ? "; type more to narrow)" : ")")
        : rows.length.toLocaleString() + " matches";
      count.className = "count";
    } catch (e) {
      rows = [];
      count.textContent = e.code === "INVALID_QUERY" ? e.message : (e.code || "") + " " + e.message;
      count.className = "count error";
    }
    list.setSource(rows.length, function (i) { return rows[i]; });
  }

  let pending = 0;
  text.addEventListener("input", function () {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(update);
  });
  [territory, stage, due].forEach(function (el) { el.addEventListener("change", update); });
  update();
  if (!matchMedia("(pointer: coarse)").matches) text.focus();
}
