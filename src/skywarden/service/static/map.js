// The map: the site's own basemap tiles (or a plain grid), range rings, sensor coverage and
// health, zones, bearing lines, launch estimates, trails and 2525-style track symbols, with
// decluttered labels, edge markers for off-screen threats, a scale bar and a lat/lon + MGRS
// readout under the cursor. Everything is drawn from this server's data; nothing is fetched
// from the internet.
import { fmt } from './format.js';
import { fmtLatLon, LocalFrame, mgrs } from './geo.js';
import { BEARING_HOLD_S, drawBearing, drawEdgeMarkers, drawImpact, drawLaunch, drawScaleBar, placeLabels } from './overlays.js';
import { AFFILIATION, affColour, affiliation, drawIcon, framePath, LEVEL_CUE, shownLevel, ZONE_STYLE } from './style.js';

const NICE = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000];
const LEADER_S = 30; // velocity leader length, seconds of flight
const HEALTH_COLOUR = { ok: '#3ecf8e', late: '#ffb020', lost: '#ff4d4f', unknown: '#9fb3c8' };

export class MapView {
  constructor(canvas, view) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.view = view;
    this.site = null;
    this.frame = null;
    this.basemap = null;
    this.hillshade = null;
    this.tracks = [];
    this.trails = new Map();
    this.bearings = [];          // {hit, rx}: held BEARING_HOLD_S after they arrive
    this.health = new Map();     // sensor id -> /api/sensors row
    this.edges = [];
    this.labels = [];
    this.onCursor = null;
    this.bindInput();
    this.pending = false;
    new ResizeObserver(() => this.draw()).observe(canvas);
  }
  setSite(site) {
    this.site = site;
    this.frame = new LocalFrame(site.origin.lat, site.origin.lon);
  }
  addBearings(hits, nowMs) {
    for (const h of hits) this.bearings.push({ hit: h, rx: nowMs });
    this.bearings = this.bearings.filter((b) => nowMs - b.rx <= BEARING_HOLD_S * 1000).slice(-200);
  }
  // The bearing lines worth drawing: every report with no track (no position yet), the newest
  // of those a sensor made within 3 degrees of each other; a track's own only when selected.
  shownBearings() {
    const kept = [];
    for (let i = this.bearings.length - 1; i >= 0; i--) {
      const b = this.bearings[i], h = b.hit;
      if (h.track_id !== null && h.track_id !== this.view.selected) continue;
      const same = kept.some((k) => k.hit.sensor_id === h.sensor_id && k.hit.track_id === h.track_id
        && Math.abs(((k.hit.azimuth_deg - h.azimuth_deg + 540) % 360) - 180) < 3);
      if (!same) kept.push(b);
    }
    return kept;
  }
  requestDraw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }
  get scale() { return (this.canvas.clientWidth / 2) / this.view.range; }
  toScreen(e, n) {
    const [cx, cy] = this.view.center;
    return [this.canvas.clientWidth / 2 + (e - cx) * this.scale,
            this.canvas.clientHeight / 2 - (n - cy) * this.scale];
  }
  fromScreen(x, y) {
    const [cx, cy] = this.view.center;
    return [cx + (x - this.canvas.clientWidth / 2) / this.scale, cy - (y - this.canvas.clientHeight / 2) / this.scale];
  }
  bindInput() {
    const c = this.canvas;
    let drag = null;
    c.addEventListener('mousedown', (ev) => { drag = { x: ev.clientX, y: ev.clientY, moved: false }; });
    window.addEventListener('mouseup', (ev) => {
      if (drag && !drag.moved && ev.target === c) this.pick(ev);
      drag = null;
    });
    c.addEventListener('mousemove', (ev) => {
      this.cursor(ev);
      if (!drag) return;
      const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) < 3 && !drag.moved) return;
      drag.moved = true; drag.x = ev.clientX; drag.y = ev.clientY;
      this.view.pan(-dx / this.scale, dy / this.scale);
    });
    c.addEventListener('wheel', (ev) => { ev.preventDefault(); this.view.zoom(ev.deltaY > 0 ? 1.25 : 0.8); },
      { passive: false });
  }
  cursor(ev) {
    if (!this.frame || !this.onCursor) return;
    const r = this.canvas.getBoundingClientRect();
    const [e, n] = this.fromScreen(ev.clientX - r.left, ev.clientY - r.top);
    const [lat, lon] = this.frame.toLatLon(e, n);
    this.onCursor(`${fmtLatLon(lat, lon)} · MGRS ${mgrs(lat, lon) || '—'} · ${fmt.dist(Math.hypot(e, n))} from site`);
  }
  pick(ev) {
    const r = this.canvas.getBoundingClientRect();
    const x = ev.clientX - r.left, y = ev.clientY - r.top;
    for (const m of this.edges) if (Math.hypot(m.x - x, m.y - y) < 18) { this.view.focus(m.id, this.tracks); return; }
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
    ctx.fillStyle = '#0b0f13'; ctx.fillRect(0, 0, w, h);
    this.labels = [];
    let tiles = 0;
    const ts = (e, n) => this.toScreen(e, n), fs = (x, y) => this.fromScreen(x, y);
    if (this.basemap) {
      tiles = this.basemap.draw(ctx, w, h, this.scale, ts, fs);
      ctx.fillStyle = 'rgba(11,15,19,0.25)'; ctx.fillRect(0, 0, w, h);  // mute it under the symbols
    }
    const shaded = this.hillshade ? this.hillshade.draw(ctx, w, h, this.scale, ts, fs) : 0;
    if (!tiles) this.drawGrid(w, h);
    this.drawRings(w, h);
    if (this.site) { this.drawZones(); this.drawSensors(); }
    const now = performance.now();
    const rangeOf = (id) => (this.site.sensors.find((s) => s.id === id) || {}).max_range_m || 3000;
    let bearingsDrawn = 0;
    if (this.site) {
      for (const b of this.shownBearings()) {
        drawBearing(ctx, this, b.hit, rangeOf(b.hit.sensor_id), (now - b.rx) / 1000);
        bearingsDrawn++;
      }
    }
    let launches = 0;
    for (const t of this.tracks) {   // a friend's or a bird's launch point only when asked for
      const a = affiliation(t);
      if ((a !== 'friend' && a !== 'neutral') || t.id === this.view.selected) launches += drawLaunch(ctx, this, t);
    }
    let impacts = 0;
    for (const t of this.tracks) impacts += drawImpact(ctx, this, t);
    this.drawTrails();
    const order = { none: 0, watch: 1, warning: 2, alert: 3 };
    const sorted = [...this.tracks].sort((a, b) => order[shownLevel(a)] - order[shownLevel(b)]);
    const drawn = sorted.map((t) => this.drawTrack(t));
    const symbols = drawn.map((d) => [d.x - d.r - 1, d.y - d.r - 4, d.x + d.r + 1, d.y + d.r]);
    const labels = placeLabels(ctx, this.labels, w, h, symbols);
    this.edges = drawEdgeMarkers(ctx, this, w, h);
    drawScaleBar(ctx, this, w, h);
    ctx.fillStyle = '#dde3ea'; ctx.font = 'bold 12px system-ui'; ctx.fillText('N ↑', w - 34, 18);
    // for tests and the curious: what this frame drew
    Object.assign(c.dataset, {
      tracksDrawn: String(this.tracks.length), tilesDrawn: String(tiles), launchesDrawn: String(launches),
      impactsDrawn: String(impacts),
      hillshadeDrawn: String(shaded),
      bearingsDrawn: String(bearingsDrawn), labelsPlaced: String(labels), labelsWanted: String(this.labels.length),
      edgeMarkers: this.edges.map((m) => m.id).join(','),
    });
    this.drawnSymbols = drawn.filter(Boolean);
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
  }
  drawRings(w, h) {
    const ctx = this.ctx, ring = NICE.find((s) => s * this.scale >= 110) || 50000;
    const [cx, cy] = this.view.center, halfW = w / 2 / this.scale, halfH = h / 2 / this.scale;
    ctx.strokeStyle = 'rgba(160,180,200,0.35)'; ctx.lineWidth = 1; ctx.font = '11px system-ui';
    const [ox, oy] = this.toScreen(0, 0);
    const far = Math.hypot(Math.abs(cx) + halfW, Math.abs(cy) + halfH);
    for (let r = ring; r <= far; r += ring) {
      ctx.beginPath(); ctx.arc(ox, oy, r * this.scale, 0, 2 * Math.PI); ctx.stroke();
      this.labels.push({ text: r >= 1000 ? r / 1000 + ' km' : r + ' m', x: ox, y: oy - r * this.scale, prio: 5, colour: '#9fb3c8' });
    }
  }
  drawZones() {
    const ctx = this.ctx;
    for (const f of this.site.zones.features) {
      const p = f.properties, st = ZONE_STYLE[p.kind] || ZONE_STYLE.warning;
      ctx.beginPath();
      let top;
      if (p.center_enu && p.radius_m) {
        const [x, y] = this.toScreen(p.center_enu[0], p.center_enu[1]);
        ctx.arc(x, y, p.radius_m * this.scale, 0, 2 * Math.PI);
        top = [x, y - p.radius_m * this.scale];
      } else if (p.polygon_enu) {
        p.polygon_enu.forEach(([e, n], i) => {
          const [x, y] = this.toScreen(e, n);
          if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
          if (!top || y < top[1]) top = [x, y];
        });
        ctx.closePath();
      }
      ctx.fillStyle = st.fill; ctx.fill();
      ctx.strokeStyle = st.stroke; ctx.lineWidth = 1.5; ctx.stroke();
      if (top) this.labels.push({ text: p.id, x: top[0], y: top[1], prio: 4, colour: st.stroke });
    }
  }
  drawSensors() {
    const ctx = this.ctx, groups = [];
    for (const s of this.site.sensors) {
      const [x, y] = this.toScreen(s.enu[0], s.enu[1]);
      if (s.max_range_m) {
        ctx.setLineDash([2, 6]); ctx.strokeStyle = 'rgba(150,170,190,0.3)';
        ctx.beginPath(); ctx.arc(x, y, s.max_range_m * this.scale, 0, 2 * Math.PI); ctx.stroke();
        ctx.setLineDash([]);
      }
      const g = groups.find((gr) => Math.hypot(gr.x - x, gr.y - y) < 16);
      if (g) g.members.push(s); else groups.push({ x, y, members: [s] });
    }
    for (const g of groups) {   // sensors closer than 16 px share one symbol and one label
      const worst = ['lost', 'late', 'unknown', 'ok'].find((k) => g.members.some((s) => (this.health.get(s.id) || {}).status === k)) || 'unknown';
      const { x, y } = g;
      ctx.fillStyle = HEALTH_COLOUR[worst]; ctx.strokeStyle = '#0b0f13'; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(x, y - 7); ctx.lineTo(x + 6, y - 1); ctx.lineTo(x + 6, y + 5);
      ctx.lineTo(x - 6, y + 5); ctx.lineTo(x - 6, y - 1); ctx.closePath(); ctx.fill(); ctx.stroke();
      const text = g.members.length === 1 ? g.members[0].id : `${g.members[0].id} +${g.members.length - 1}`;
      this.labels.push({ text, x, y, prio: 4, colour: '#9fb3c8' });
    }
  }
  drawTrails() {
    const ctx = this.ctx, byId = new Map(this.tracks.map((t) => [t.id, t]));
    ctx.lineWidth = 1.5;
    for (const [id, pts] of this.trails) {
      const t = byId.get(id);
      if (!t || pts.length < 2) continue;
      ctx.strokeStyle = affColour(t);
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
    const aff = affiliation(t), st = AFFILIATION[aff], lvl = shownLevel(t), cue = LEVEL_CUE[lvl];
    const r = t.confirmed ? 11 : 7;
    const [lx, ly] = this.toScreen(t.enu[0] + t.velocity_enu[0] * LEADER_S, t.enu[1] + t.velocity_enu[1] * LEADER_S);
    ctx.strokeStyle = st.stroke; ctx.lineWidth = 1.5;
    ctx.setLineDash(t.coasting ? [3, 3] : []);
    ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(lx, ly); ctx.stroke();
    if (cue) {   // threat cue: a thick ring in the level's colour, and a badge
      ctx.setLineDash([]); ctx.strokeStyle = cue.colour; ctx.lineWidth = cue.width;
      ctx.beginPath(); ctx.arc(x, y, r + 7, 0, 2 * Math.PI); ctx.stroke();
      ctx.fillStyle = cue.colour; ctx.beginPath(); ctx.arc(x + r + 6, y - r - 6, 7, 0, 2 * Math.PI); ctx.fill();
      ctx.fillStyle = '#000'; ctx.font = 'bold 11px system-ui'; ctx.textAlign = 'center';
      ctx.fillText(cue.badge, x + r + 6, y - r - 2); ctx.textAlign = 'start';
    }
    framePath(ctx, aff, x, y, r);
    ctx.globalAlpha = t.confirmed ? 1 : 0.5;
    ctx.fillStyle = st.fill; ctx.fill();
    ctx.setLineDash(st.dashed || t.coasting ? [3, 2] : []); ctx.strokeStyle = '#000'; ctx.lineWidth = 1.5; ctx.stroke();
    ctx.setLineDash([]);
    drawIcon(ctx, t.object_class, x, y, r);
    ctx.globalAlpha = 1;
    if (t.id === this.view.selected) {
      ctx.strokeStyle = '#ffffff'; ctx.lineWidth = 2;
      ctx.strokeRect(x - r - 11, y - r - 11, 2 * r + 22, 2 * r + 22);
    }
    if (t.confirmed) {
      const alt = `${fmt.alt(t.enu[2])} AGL`;
      const text = cue || t.id === this.view.selected ? `${t.id} ${t.object_class.replace(/_/g, ' ')} ${alt}` : t.id;
      this.labels.push({ text, x: x + r, y, prio: cue ? 0 : aff === 'neutral' ? 3 : 1, colour: cue ? cue.colour : '#dde3ea' });
    }
    return { id: t.id, aff, fill: st.fill, x, y, r };
  }
}
