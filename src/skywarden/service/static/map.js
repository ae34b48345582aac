// The map: a plain ENU grid about the site origin (no tiles, no internet), range rings, zones,
// sensors with coverage, trails (dashed while coasting) and track symbols.
import { classColour, threatSymbol, ZONE_STYLE } from './style.js';

const NICE = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000];
const LEADER_S = 30; // velocity leader length, seconds of flight

export class MapView {
  constructor(canvas, view) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.view = view;
    this.site = null;
    this.tracks = [];
    this.trails = new Map();
    this.bindInput();
    new ResizeObserver(() => this.draw()).observe(canvas);
  }
  get scale() { return (this.canvas.clientWidth / 2) / this.view.range; }
  toScreen(e, n) {
    const [cx, cy] = this.view.center;
    return [this.canvas.clientWidth / 2 + (e - cx) * this.scale,
            this.canvas.clientHeight / 2 - (n - cy) * this.scale];
  }
  bindInput() {
    const c = this.canvas;
    let drag = null;
    c.addEventListener('mousedown', (ev) => { drag = { x: ev.clientX, y: ev.clientY, moved: false }; });
    window.addEventListener('mouseup', (ev) => {
      if (drag && !drag.moved) this.pick(ev);
      drag = null;
    });
    c.addEventListener('mousemove', (ev) => {
      if (!drag) return;
      const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) < 3 && !drag.moved) return;
      drag.moved = true; drag.x = ev.clientX; drag.y = ev.clientY;
      this.view.pan(-dx / this.scale, dy / this.scale);
    });
    c.addEventListener('wheel', (ev) => { ev.preventDefault(); this.view.zoom(ev.deltaY > 0 ? 1.25 : 0.8); },
      { passive: false });
  }
  pick(ev) {
    const r = this.canvas.getBoundingClientRect();
    const x = ev.clientX - r.left, y = ev.clientY - r.top;
    let best = null, bestD = 14;
    for (const t of this.tracks) {
      const [sx, sy] = this.toScreen(t.enu[0], t.enu[1]);
      const d = Math.hypot(sx - x, sy - y);
      if (d < bestD) { best = t; bestD = d; }
    }
    if (best) this.view.select(best.id);
  }
  draw() {
    const c = this.canvas, ctx = this.ctx, dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth, h = c.clientHeight;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr); c.height = Math.round(h * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    this.drawGrid(w, h);
    if (this.site) { this.drawZones(); this.drawSensors(); }
    this.drawTrails();
    for (const t of this.tracks) this.drawTrack(t);
    c.dataset.tracksDrawn = String(this.tracks.length); // for tests and the curious
  }
  drawGrid(w, h) {
    const ctx = this.ctx, step = NICE.find((s) => s * this.scale >= 70) || 50000;
    const [cx, cy] = this.view.center, halfW = w / 2 / this.scale, halfH = h / 2 / this.scale;
    ctx.strokeStyle = '#17212b'; ctx.lineWidth = 1; ctx.beginPath();
    for (let e = Math.floor((cx - halfW) / step) * step; e <= cx + halfW; e += step) {
      const [x] = this.toScreen(e, 0); ctx.moveTo(x, 0); ctx.lineTo(x, h);
    }
    for (let n = Math.floor((cy - halfH) / step) * step; n <= cy + halfH; n += step) {
      const [, y] = this.toScreen(0, n); ctx.moveTo(0, y); ctx.lineTo(w, y);
    }
    ctx.stroke();
    // range rings about the site origin, labelled
    const ring = NICE.find((s) => s * this.scale >= 110) || 50000;
    ctx.strokeStyle = '#2c3b4a'; ctx.fillStyle = '#6d7f90'; ctx.font = '11px system-ui';
    const [ox, oy] = this.toScreen(0, 0);
    const far = Math.hypot(Math.abs(cx) + halfW, Math.abs(cy) + halfH);
    for (let r = ring; r <= far; r += ring) {
      ctx.beginPath(); ctx.arc(ox, oy, r * this.scale, 0, 2 * Math.PI); ctx.stroke();
      ctx.fillText(r >= 1000 ? r / 1000 + ' km' : r + ' m', ox + 3, oy - r * this.scale - 3);
    }
    ctx.fillText('N ↑', w - 34, 18);
  }
  drawZones() {
    const ctx = this.ctx;
    for (const f of this.site.zones.features) {
      const p = f.properties, st = ZONE_STYLE[p.kind] || ZONE_STYLE.warning;
      ctx.beginPath();
      if (p.center_enu && p.radius_m) {
        const [x, y] = this.toScreen(p.center_enu[0], p.center_enu[1]);
        ctx.arc(x, y, p.radius_m * this.scale, 0, 2 * Math.PI);
      } else if (p.polygon_enu) {
        p.polygon_enu.forEach(([e, n], i) => {
          const [x, y] = this.toScreen(e, n);
          if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
        });
        ctx.closePath();
      }
      ctx.fillStyle = st.fill; ctx.fill();
      ctx.strokeStyle = st.stroke; ctx.lineWidth = 1.5; ctx.stroke();
      const [lx, ly] = this.toScreen(...(p.center_enu || p.polygon_enu[0]));
      ctx.fillStyle = st.stroke; ctx.fillText(p.id, lx + 4, ly + 12);
    }
  }
  drawSensors() {
    const ctx = this.ctx;
    for (const s of this.site.sensors) {
      const [x, y] = this.toScreen(s.enu[0], s.enu[1]);
      if (s.max_range_m) {
        ctx.setLineDash([2, 6]); ctx.strokeStyle = 'rgba(150,170,190,0.25)';
        ctx.beginPath(); ctx.arc(x, y, s.max_range_m * this.scale, 0, 2 * Math.PI); ctx.stroke();
        ctx.setLineDash([]);
      }
      ctx.fillStyle = '#9fb3c8'; ctx.strokeStyle = '#0b0f13';
      ctx.beginPath(); ctx.moveTo(x, y - 7); ctx.lineTo(x + 6, y - 1); ctx.lineTo(x + 6, y + 5);
      ctx.lineTo(x - 6, y + 5); ctx.lineTo(x - 6, y - 1); ctx.closePath(); ctx.fill(); ctx.stroke();
      ctx.fillText(s.id, x + 8, y + 4);
    }
  }
  drawTrails() {
    const ctx = this.ctx, byId = new Map(this.tracks.map((t) => [t.id, t]));
    ctx.lineWidth = 1.5;
    for (const [id, pts] of this.trails) {
      const t = byId.get(id);
      if (!t || pts.length < 2) continue;
      ctx.strokeStyle = classColour(t.object_class);
      for (let i = 1; i < pts.length; i++) {
        const a = this.toScreen(pts[i - 1].e, pts[i - 1].n), b = this.toScreen(pts[i].e, pts[i].n);
        ctx.globalAlpha = 0.25 + 0.6 * (i / pts.length);
        ctx.setLineDash(pts[i].coasting ? [4, 4] : []);
        ctx.beginPath(); ctx.moveTo(...a); ctx.lineTo(...b); ctx.stroke();
      }
    }
    ctx.globalAlpha = 1; ctx.setLineDash([]);
  }
  drawTrack(t) {
    const ctx = this.ctx, [x, y] = this.toScreen(t.enu[0], t.enu[1]);
    const colour = classColour(t.object_class), r = t.confirmed ? 6 : 4;
    const [lx, ly] = this.toScreen(t.enu[0] + t.velocity_enu[0] * LEADER_S,
                                   t.enu[1] + t.velocity_enu[1] * LEADER_S);
    ctx.strokeStyle = colour; ctx.lineWidth = 1;
    ctx.setLineDash(t.coasting ? [3, 3] : []);
    ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(lx, ly); ctx.stroke();
    symbolPath(ctx, threatSymbol(t), x, y, r);
    ctx.globalAlpha = t.confirmed ? 1 : 0.45;
    if (t.coasting) { ctx.lineWidth = 2; ctx.stroke(); } else { ctx.fillStyle = colour; ctx.fill(); }
    ctx.globalAlpha = 1; ctx.setLineDash([]);
    if (t.id === this.view.selected) {
      ctx.strokeStyle = '#ffffff'; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.arc(x, y, r + 6, 0, 2 * Math.PI); ctx.stroke();
    }
    if (t.confirmed) { ctx.fillStyle = '#dde3ea'; ctx.fillText(t.id, x + r + 3, y - r); }
  }
}

function symbolPath(ctx, sym, x, y, r) {
  ctx.beginPath();
  if (sym === 'square') ctx.rect(x - r, y - r, 2 * r, 2 * r);
  else if (sym === 'triangle') { ctx.moveTo(x, y - r - 2); ctx.lineTo(x + r + 1, y + r); ctx.lineTo(x - r - 1, y + r); ctx.closePath(); }
  else if (sym === 'diamond') { ctx.moveTo(x, y - r - 3); ctx.lineTo(x + r + 2, y); ctx.lineTo(x, y + r + 3); ctx.lineTo(x - r - 2, y); ctx.closePath(); }
  else ctx.arc(x, y, r, 0, 2 * Math.PI);
}
