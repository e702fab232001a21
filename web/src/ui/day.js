// My day: the rep's numbers, computed on the device (works offline).
import { state } from "../engine.js";
import { h, day, money } from "./dom.js";
import { groupedBars, hbars } from "./charts.js";

export function render(view, _arg, app) {
  const k = state.store.insights({ utcOffsetSeconds: -new Date().getTimezoneOffset() * 60, overdueLimit: 8 });
  const weeks = groupedBars([
    { label: "Visits", values: [k.last_week.visits, k.this_week.visits] },
    { label: "Calls", values: [k.last_week.calls, k.this_week.calls] },
    { label: "Meetings", values: [k.last_week.meetings, k.this_week.meetings] },
  ], [{ name: "last week", color: "#c9ced6" }, { name: "this week", color: "#1f4e79" }], "This week against last week");

  // Pipeline by stage: accounts, with the value in the stage's main currency.
  const stages = {};
  k.pipeline.forEach(function (p) {
    const st = stages[p.stage] || (stages[p.stage] = { accounts: 0, best: null });
    st.accounts += p.accounts;
    if (!st.best || p.value_minor > st.best.value_minor) st.best = p;
  });
  const pipeline = hbars(Object.keys(stages).map(function (name) {
    const st = stages[name];
    return { label: name, value: st.accounts, note: st.accounts + " · " + money(st.best.value_minor, st.best.currency) };
  }), "Pipeline by stage");

  const overdue = h("ul", { className: "plain", id: "overdue" }, k.overdue.map(function (o) {
    return h("li", null, h("a", { href: "#card/" + encodeURIComponent(o.id) }, o.name),
      h("span", { className: "meta" }, " planned " + day(o.next_visit) + ", " + o.days_overdue + " days overdue"));
  }));
  const top = h("ul", { className: "plain" }, k.top.map(function (t) {
    return h("li", null, h("a", { href: "#card/" + encodeURIComponent(t.id) }, t.name), h("span", { className: "meta" }, " score " + t.score));
  }));
  view.appendChild(h("h1", null, "My day"));
  view.appendChild(h("p", { className: "meta" }, "From the " + k.records.toLocaleString() + " accounts on this device; week from " + day(k.week_start) + "."));
  view.appendChild(h("div", { className: "grid2" },
    h("div", { className: "panel", id: "weeks" }, h("h2", null, "Visits this week vs last"), weeks),
    h("div", { className: "panel" }, h("h2", null, "Overdue follow-ups: " + k.overdue_total), overdue),
    h("div", { className: "panel", id: "pipeline" }, h("h2", null, "Pipeline by stage"), pipeline),
    h("div", { className: "panel" }, h("h2", null, "Your top accounts"), top)));
}
