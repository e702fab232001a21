// A virtualized list: only the rows in view (plus a few) exist in the DOM,
// whatever the row count (tested with 500,000). Rows are a pool of
// absolutely positioned elements reused as the list scrolls; their content
// comes from `getRow(i)` and is drawn by `renderRow(el, row, i)`.
//
// Browsers cap an element's height (Chromium ~33.5M px, Firefox ~17.9M px),
// so past MAX_PX the scroll range is scaled: the scroll position is a
// fraction of the list, and rows are laid out around the first visible one.
const MAX_PX = 8000000;
const OVERSCAN = 4;

export class VirtualList {
  constructor(el, options) {
    this.el = el;
    this.rowHeight = options.rowHeight;
    this.renderRow = options.renderRow;
    this.onPick = options.onPick;
    this.count = 0;
    this.getRow = function () { return null; };
    this.pool = [];
    this.frame = 0;
    this.sizer = document.createElement("div");
    this.sizer.className = "sizer";
    el.appendChild(this.sizer);
    el.setAttribute("role", "list");
    const self = this;
    el.addEventListener("scroll", function () { self.schedule(); }, { passive: true });
    el.addEventListener("click", function (e) {
      const row = e.target.closest(".row");
      if (row && self.onPick && row.dataset.index) self.onPick(Number(row.dataset.index));
    });
    el.addEventListener("keydown", function (e) {
      const row = e.target.closest(".row");
      if (row && e.key === "Enter" && self.onPick) self.onPick(Number(row.dataset.index));
    });
    if (typeof ResizeObserver !== "undefined") new ResizeObserver(function () { self.schedule(); }).observe(el);
    else window.addEventListener("resize", function () { self.schedule(); });
  }

  /** A new source: `count` rows, `getRow(i)` for each. Scrolls to the top. */
  setSource(count, getRow) {
    this.count = count;
    this.getRow = getRow;
    this.total = count * this.rowHeight;
    this.sizer.style.height = Math.min(this.total, MAX_PX) + "px";
    this.el.scrollTop = 0;
    this.dirty = true;
    this.render();
  }

  schedule() {
    if (this.frame) return;
    const self = this;
    this.frame = requestAnimationFrame(function () { self.frame = 0; self.render(); });
  }

  /** The first row in view and its pixel offset inside the scroller. */
  anchor() {
    const view = this.el.clientHeight;
    const top = this.el.scrollTop;
    if (this.total <= MAX_PX) return { first: Math.floor(top / this.rowHeight), y: Math.floor(top / this.rowHeight) * this.rowHeight };
    const range = MAX_PX - view;
    const rows = this.count - Math.floor(view / this.rowHeight);
    const exact = range > 0 ? (top / range) * Math.max(rows, 0) : 0;
    const first = Math.floor(exact);
    return { first: first, y: top - (exact - first) * this.rowHeight };
  }

  render() {
    const view = this.el.clientHeight || 600;
    const a = this.anchor();
    const visible = Math.ceil(view / this.rowHeight) + 1;
    const start = Math.max(0, a.first - OVERSCAN);
    const end = Math.min(this.count, a.first + visible + OVERSCAN);
    const need = end - start;
    while (this.pool.length < need) {
      const row = document.createElement("div");
      row.className = "row";
      row.tabIndex = 0;
      row.setAttribute("role", "listitem");
      this.el.appendChild(row);
      this.pool.push(row);
    }
    for (let k = 0; k < this.pool.length; k++) {
      const row = this.pool[k];
      const i = start + k;
      if (k >= need) {
        row.hidden = true;
        row.dataset.index = "";
        continue;
      }
      row.hidden = false;
      row.style.transform = "translateY(" + (a.y + (i - a.first) * this.rowHeight) + "px)";
      if (row.dataset.index !== String(i) || this.dirty) {
        row.dataset.index = String(i);
        this.renderRow(row, this.getRow(i), i);
      }
    }
    this.dirty = false;
  }
}

/** Redraws the rows in view (after data changed under the same indices). */
VirtualList.prototype.refresh = function () {
  this.dirty = true;
  this.render();
};
