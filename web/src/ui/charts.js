// Small inline SVG charts: no library, no canvas, text as SVG text nodes.
import { s } from "./dom.js";

/**
 * Grouped bars: `groups` = [{ label, values: [n, …] }], `series` = [{ name, color }].
 */
export function groupedBars(groups, series, title) {
  const W = 320, H = 150, pad = 22, top = 16;
  const max = Math.max(1, Math.max.apply(null, groups.map(function (g) { return Math.max.apply(null, g.values); })));
  const gw = (W - pad) / groups.length;
  const bw = Math.min(28, (gw - 12) / series.length);
  const svg = s("svg", { viewBox: "0 0 " + W + " " + H, className: "chart", role: "img", "aria-label": title });
  svg.appendChild(s("title", null, title));
  groups.forEach(function (g, gi) {
    const x0 = pad + gi * gw + (gw - bw * series.length) / 2;
    g.values.forEach(function (v, si) {
      const h = Math.round((H - pad - top) * v / max);
      const x = x0 + si * bw;
      svg.appendChild(s("rect", { x: x + 1, y: H - pad - h, width: bw - 2, height: Math.max(h, 1), fill: series[si].color, rx: 2 },
        s("title", null, series[si].name + ": " + v)));
      svg.appendChild(s("text", { x: x + bw / 2, y: H - pad - h - 3, "text-anchor": "middle" }, String(v)));
    });
    svg.appendChild(s("text", { x: pad + gi * gw + gw / 2, y: H - 6, "text-anchor": "middle" }, g.label));
  });
  svg.appendChild(s("line", { x1: pad, x2: W, y1: H - pad, y2: H - pad, stroke: "#d9dee4" }));
  let lx = pad;
  series.forEach(function (se) {
    svg.appendChild(s("rect", { x: lx, y: 2, width: 9, height: 9, fill: se.color }));
    svg.appendChild(s("text", { x: lx + 12, y: 10 }, se.name));
    lx += 14 + se.name.length * 6.5;
  });
  return svg;
}

/** Horizontal bars: `rows` = [{ label, value, note }]. */
export function hbars(rows, title, color) {
  const W = 360, rh = 22, lw = 88;
  const H = Math.max(rh, rows.length * rh) + 4;
  const max = Math.max(1, Math.max.apply(null, rows.map(function (r) { return r.value; })));
  const svg = s("svg", { viewBox: "0 0 " + W + " " + H, className: "chart", role: "img", "aria-label": title });
  svg.appendChild(s("title", null, title));
  rows.forEach(function (r, i) {
    const y = i * rh + 2;
    const w = Math.round((W - lw - 150) * r.value / max);
    svg.appendChild(s("text", { x: 0, y: y + 14 }, r.label));
    svg.appendChild(s("rect", { x: lw, y: y + 3, width: Math.max(w, 1), height: rh - 8, fill: color || "#1f4e79", rx: 2 }));
    svg.appendChild(s("text", { x: lw + w + 4, y: y + 14 }, r.note || String(r.value)));
  });
  return svg;
}

/** Stacked monthly bars of an account's activity (from `store.trend`). */
export function trendChart(months, kinds) {
  const W = 320, H = 110, pad = 16;
  const totals = months.map(function (m) { return kinds.reduce(function (n, k) { return n + m.counts[k.kind]; }, 0); });
  const max = Math.max(1, Math.max.apply(null, totals));
  const bw = (W - 4) / months.length;
  const svg = s("svg", { viewBox: "0 0 " + W + " " + H, className: "chart", role: "img", "aria-label": "activities per month" });
  svg.appendChild(s("title", null, "Activities per month, last " + months.length + " months"));
  months.forEach(function (m, i) {
    let y = H - pad;
    kinds.forEach(function (k) {
      const n = m.counts[k.kind];
      if (!n) return;
      const h = (H - pad - 12) * n / max;
      y -= h;
      svg.appendChild(s("rect", { x: 2 + i * bw + 2, y: y, width: bw - 4, height: h, fill: k.color },
        s("title", null, m.year + "-" + m.month + " " + k.kind + ": " + n)));
    });
    if (i % 3 === 0 || i === months.length - 1) {
      svg.appendChild(s("text", { x: 2 + i * bw + bw / 2, y: H - 3, "text-anchor": "middle" }, String(m.month) + "/" + String(m.year).slice(2)));
    }
  });
  return svg;
}
