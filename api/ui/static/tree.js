// The search tree of one job, laid out by d3-hierarchy and drawn on a canvas: SVG slows down
// at the tens of thousands of elements a 10,000-node tree needs, a canvas does not.
// Keyboard: arrows move between parent, children and siblings; Enter or Space expands or
// collapses; + and - zoom; 0 fits the tree in view.
"use strict";

const NODE_COLOURS = {
  proved: "#1a7f37", failed: "#c62828", merged: "#9aa0a6", expanded: "#0b57d0", open: "#ffffff",
};
/** A number with `digits` decimals, or a dash where there is none (a tree read back from JSON
 * may hold null where the search had an infinite log-probability). */
function fixed(value, digits = 3) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
}

const DX = 18;   // between siblings, pixels at zoom 1
const DY = 56;   // between depths

class TreeView {
  /** nodes: the job's TreeNode list (id, parent, tactic, score, status, ...); onSelect(node). */
  constructor(canvas, nodes, onSelect) {
    this.canvas = canvas;
    this.onSelect = onSelect;
    this.byId = new Map(nodes.map((n) => [n.id, n]));
    if (this.byId.size !== nodes.length) throw new Error("two nodes share an id");
    this.full = d3.stratify().id((n) => String(n.id)).parentId(
      (n) => (n.parent === null || n.parent === undefined ? null : String(n.parent)))(nodes);
    this.fullById = new Map();
    this.full.each((d) => this.fullById.set(d.data.id, d));
    this.proofPath = new Set();
    const proved = nodes.find((n) => n.status === "proved");
    for (let n = proved; n; n = this.byId.get(n.parent)) this.proofPath.add(n.id);
    this.collapsed = new Set();
    this.view = { x: 0, y: 0, k: 1 };
    this.selected = this.full;
    this.layout();
    this.fit();
    this.bind();
  }

  /** Lay out the visible part (collapsed subtrees hidden); timed for the render benchmark. */
  layout() {
    const started = performance.now();
    const visible = d3.hierarchy(this.full, (d) =>
      this.collapsed.has(d.data.id) ? null : d.children);
    d3.tree().nodeSize([DX, DY])(visible);
    this.visible = visible.descendants();
    this.links = visible.links();
    this.layoutMs = performance.now() - started;
    this.shown = new Map(this.visible.map((d) => [d.data.data.id, d]));
  }

  fit() {
    const rect = this.canvas.getBoundingClientRect();
    let minX = Infinity, maxX = -Infinity, maxY = 0;
    for (const d of this.visible) {
      minX = Math.min(minX, d.x); maxX = Math.max(maxX, d.x); maxY = Math.max(maxY, d.y);
    }
    // Room above the root for its label, and at the sides for the widest level's.
    const k = Math.min(1.5, (rect.width - 80) / Math.max(1, maxX - minX),
      (rect.height - 60) / Math.max(1, maxY));
    this.view = { k, x: 40 - minX * k + Math.max(0, (rect.width - 80 - (maxX - minX) * k) / 2),
      y: 30 };
    this.draw();
  }

  draw() {
    const started = performance.now();
    const ratio = window.devicePixelRatio || 1;
    const rect = this.canvas.getBoundingClientRect();
    this.canvas.width = Math.round(rect.width * ratio);
    this.canvas.height = Math.round(rect.height * ratio);
    const ctx = this.canvas.getContext("2d");
    const { x, y, k } = this.view;
    ctx.setTransform(ratio * k, 0, 0, ratio * k, ratio * x, ratio * y);
    ctx.clearRect(-x / k, -y / k, rect.width / k, rect.height / k);
    // Edges: the proof path thick, the rest thin; one path per kind keeps 10k edges fast.
    for (const onPath of [false, true]) {
      ctx.beginPath();
      for (const { source, target } of this.links) {
        if (this.proofPath.has(target.data.data.id) !== onPath) continue;
        ctx.moveTo(source.x, source.y);
        ctx.lineTo(target.x, target.y);
      }
      ctx.strokeStyle = onPath ? "#1a7f37" : "#b8bec6";
      ctx.lineWidth = (onPath ? 4 : 1) / Math.max(k, 0.2);
      ctx.stroke();
    }
    const radius = 5;
    for (const d of this.visible) {
      const node = d.data.data;
      ctx.beginPath();
      ctx.arc(d.x, d.y, radius, 0, 2 * Math.PI);
      ctx.fillStyle = NODE_COLOURS[node.status] || "#ffffff";
      ctx.fill();
      ctx.lineWidth = 1 / Math.max(k, 0.2);
      ctx.strokeStyle = this.collapsed.has(node.id) ? "#000" : "#5b6470";
      ctx.stroke();
      if (this.collapsed.has(node.id)) {
        ctx.fillStyle = "#000";
        ctx.fillRect(d.x - 3, d.y - 0.6, 6, 1.2);
        ctx.fillRect(d.x - 0.6, d.y - 3, 1.2, 6);
      }
    }
    if (this.selected && this.shown.has(this.selected.data.id)) {
      const d = this.shown.get(this.selected.data.id);
      ctx.beginPath();
      ctx.arc(d.x, d.y, radius + 4, 0, 2 * Math.PI);
      ctx.lineWidth = 2.5 / Math.max(k, 0.2);
      ctx.strokeStyle = "#0b57d0";
      ctx.stroke();
    }
    // Labels only when they can be read, and only those in view.
    if (k >= 0.9) {
      ctx.font = "11px ui-monospace, monospace";
      ctx.fillStyle = "#1b1f24";
      const left = -x / k, right = (rect.width - x) / k, top = -y / k, bottom = (rect.height - y) / k;
      for (const d of this.visible) {
        if (d.x < left || d.x > right || d.y < top || d.y > bottom) continue;
        const node = d.data.data;
        const label = `${truncate(node.tactic || "(root)", 24)}  ${fixed(node.score, 2)}`;
        ctx.fillText(label, d.x + 8, d.y - 6);
      }
    }
    this.drawMs = performance.now() - started;
    this.canvas.dataset.visibleNodes = String(this.visible.length);
    this.canvas.dataset.renderMs = (this.layoutMs + this.drawMs).toFixed(1);
  }

  toggle(id) {
    const d = this.fullById.get(id);
    if (!d || !d.children) return;
    if (this.collapsed.has(id)) this.collapsed.delete(id); else this.collapsed.add(id);
    this.layout();
    this.draw();
  }

  collapseOffPath() {
    this.collapsed = new Set();
    this.full.each((d) => {
      if (d.children && !this.proofPath.has(d.data.id) && d.depth >= 1) this.collapsed.add(d.data.id);
    });
    this.layout();
    this.fit();
  }

  expandAll() {
    this.collapsed = new Set();
    this.layout();
    this.fit();
  }

  select(d) {
    if (!d) return;
    this.selected = d;
    const shown = this.shown.get(d.data.id);
    if (shown) {  // keep the selection in view
      const rect = this.canvas.getBoundingClientRect();
      const sx = shown.x * this.view.k + this.view.x, sy = shown.y * this.view.k + this.view.y;
      if (sx < 10 || sx > rect.width - 10) this.view.x += rect.width / 2 - sx;
      if (sy < 10 || sy > rect.height - 10) this.view.y += rect.height / 2 - sy;
    }
    this.draw();
    this.onSelect(d.data);
  }

  zoom(factor, cx, cy) {
    const { x, y, k } = this.view;
    const nk = Math.min(8, Math.max(0.02, k * factor));
    this.view = { k: nk, x: cx - ((cx - x) * nk) / k, y: cy - ((cy - y) * nk) / k };
    this.draw();
  }

  hit(px, py) {
    const { x, y, k } = this.view;
    const tx = (px - x) / k, ty = (py - y) / k;
    const r2 = Math.max(8 / k, 6) ** 2;
    let best = null, bestD = r2;
    for (const d of this.visible) {
      const dd = (d.x - tx) ** 2 + (d.y - ty) ** 2;
      if (dd <= bestD) { best = d; bestD = dd; }
    }
    return best;
  }

  bind() {
    const c = this.canvas;
    let drag = null;
    c.addEventListener("pointerdown", (e) => {
      drag = { x: e.clientX, y: e.clientY, vx: this.view.x, vy: this.view.y, moved: false };
      c.setPointerCapture(e.pointerId);
    });
    c.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (drag.moved) { this.view.x = drag.vx + dx; this.view.y = drag.vy + dy; this.draw(); }
    });
    c.addEventListener("pointerup", (e) => {
      const wasDrag = drag && drag.moved;
      drag = null;
      if (wasDrag) return;
      const rect = c.getBoundingClientRect();
      const d = this.hit(e.clientX - rect.left, e.clientY - rect.top);
      if (!d) return;
      const full = this.fullById.get(d.data.data.id);
      if (this.selected === full) this.toggle(full.data.id); else this.select(full);
    });
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      const rect = c.getBoundingClientRect();
      this.zoom(e.deltaY < 0 ? 1.2 : 1 / 1.2, e.clientX - rect.left, e.clientY - rect.top);
    }, { passive: false });
    c.addEventListener("keydown", (e) => {
      const d = this.selected;
      const visibleChildren = d && !this.collapsed.has(d.data.id) ? d.children || [] : [];
      const siblings = d && d.parent ? d.parent.children : [d];
      const at = siblings.indexOf(d);
      const rect = c.getBoundingClientRect();
      const moves = {
        ArrowUp: () => this.select(d.parent),
        ArrowDown: () => this.select(visibleChildren[0]),
        ArrowLeft: () => this.select(siblings[at - 1]),
        ArrowRight: () => this.select(siblings[at + 1]),
        Enter: () => this.toggle(d.data.id),
        " ": () => this.toggle(d.data.id),
        "+": () => this.zoom(1.25, rect.width / 2, rect.height / 2),
        "=": () => this.zoom(1.25, rect.width / 2, rect.height / 2),
        "-": () => this.zoom(0.8, rect.width / 2, rect.height / 2),
        0: () => this.fit(),
      };
      const move = moves[e.key];
      if (move && d) { e.preventDefault(); move(); }
    });
  }
}

function truncate(text, n) {
  const line = text.replace(/\s+/g, " ");
  return line.length > n ? line.slice(0, n - 1) + "…" : line;
}

window.TreeView = TreeView;
