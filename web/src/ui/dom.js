// Building the DOM without HTML strings: every piece of data becomes a text
// node (names and notes may contain `<script>`; they stay text).
const SVG = "http://www.w3.org/2000/svg";

function fill(el, props, children) {
  if (props) {
    Object.keys(props).forEach(function (k) {
      const v = props[k];
      if (v === undefined || v === null || v === false) return;
      if (k.indexOf("on") === 0 && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else if (k === "value") el.value = v;
      else if (k === "checked") el.checked = !!v;
      else el.setAttribute(k === "className" ? "class" : k, v === true ? "" : String(v));
    });
  }
  append(el, children);
  return el;
}

function append(el, children) {
  children.forEach(function (c) {
    if (c === undefined || c === null || c === false) return;
    if (Array.isArray(c)) append(el, c);
    else if (typeof c === "string" || typeof c === "number") el.appendChild(document.createTextNode(String(c)));
    else el.appendChild(c);
  });
}

/** An HTML element: `h("p", { className: "x" }, "text", child)`. */
export function h(tag, props) {
  const children = Array.prototype.slice.call(arguments, 2);
  return fill(document.createElement(tag), props, children);
}

/** An SVG element. */
export function s(tag, props) {
  const children = Array.prototype.slice.call(arguments, 2);
  return fill(document.createElementNS(SVG, tag), props, children);
}

/** `text` with `spans` ([start, end) UTF-16 indices) wrapped in <mark>. */
export function highlighted(text, spans) {
  const frag = document.createDocumentFragment();
  let at = 0;
  (spans || []).slice().sort(function (a, b) { return a[0] - b[0]; }).forEach(function (span) {
    const a = Math.max(span[0], at), b = Math.min(span[1], text.length);
    if (b <= a) return;
    if (a > at) frag.appendChild(document.createTextNode(text.slice(at, a)));
    const m = document.createElement("mark");
    m.textContent = text.slice(a, b);
    frag.appendChild(m);
    at = b;
  });
  if (at < text.length) frag.appendChild(document.createTextNode(text.slice(at)));
  return frag;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let toastTimer = 0;
/** A short message; `action` = { label, run } adds a button. */
export function toast(message, action) {
  const el = document.getElementById("toast");
  clear(el);
  el.appendChild(document.createTextNode(message));
  if (action) el.appendChild(h("button", { type: "button", onclick: function () { el.hidden = true; action.run(); } }, action.label));
  el.hidden = false;
  clearTimeout(toastTimer);
  if (!action) toastTimer = setTimeout(function () { el.hidden = true; }, 3500);
}

export function day(t) {
  if (t === null || t === undefined) return "—";
  return new Date(t * 1000).toISOString().slice(0, 10);
}

export function when(t) {
  if (t === null || t === undefined) return "—";
  return new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ");
}

export function bytes(n) {
  if (n >= 1048576) return (n / 1048576).toFixed(1) + " MiB";
  if (n >= 1024) return (n / 1024).toFixed(0) + " KiB";
  return n + " B";
}

export function money(minor, currency) {
  const major = minor / 100;
  try {
    const big = Math.abs(major) >= 1e6;
    return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "EUR",
      maximumFractionDigits: big ? 1 : 0, notation: big ? "compact" : "standard" }).format(major);
  } catch (e) {
    return Math.round(major) + " " + (currency || "");
  }
}
