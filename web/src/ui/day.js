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

  // Pipeline by stage: accounts, and the value in the stage's most used
  // currency (amounts in different currencies are never added up) with how
  // many other currencies the stage holds.
  const stages = {};
  k.pipeline.forEach(function (p) {
    const st = stages[p.stage] || (stages[p.stage] = { accounts: 0, values: [] });
    st.accounts += p.accounts;
    st.values.push(p);
  });
  const pipeline = hbars(Object.keys(stages).map(function (name) {
    const st = stages[name];
    const values = st.values.slice().sort(function (a, b) { return b.accounts - a.accounts; });
    const others = values.length - 1;
    const more = others ? " + " + others + (others === 1 ? " other currency" : " other currencies") : "";
    return { label: name, value: st.accounts, note: st.accounts + " · " + money(values[0].value_minor, values[0].currency) + more };
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
