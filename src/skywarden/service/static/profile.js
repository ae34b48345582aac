// Height at a glance: an altitude profile of the confirmed tracks near the site. Horizontal
// axis: ground range from the site origin (out to the map's view), vertical: height above the
// site's ground (AGL). Protected zones are drawn as boxes to their ceiling, so a drone under
// or over a zone's ceiling is plain to see.
import { affiliation, AFFILIATION, shownLevel, LEVEL_CUE } from './style.js';

export class AltitudeProfile {
  constructor(canvas) { this.canvas = canvas; this.ctx = canvas.getContext('2d'); }
  draw(tracks, site, view) {
    const c = this.canvas, ctx = this.ctx, dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth, h = c.clientHeight;
    if (!w || !h) return;
    if (c.width !== Math.round(w * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = 'rgba(15,20,25,0.88)'; ctx.fillRect(0, 0, w, h);
    const conf = tracks.filter((t) => t.confirmed);
    const maxR = Math.max(view.range, 100) * 1.2;
    const maxU = Math.max(150, ...conf.map((t) => t.enu[2] * 1.25));
    const L = 34, B = 16, T = 14;
    const X = (r) => L + (w - L - 8) * Math.min(r, maxR) / maxR, Y = (u) => h - B - (h - B - T) * Math.max(0, u) / maxU;
    ctx.strokeStyle = '#3c4b59'; ctx.lineWidth = 1; ctx.beginPath();
    ctx.moveTo(L, T); ctx.lineTo(L, h - B); ctx.lineTo(w - 4, h - B); ctx.stroke();
    ctx.fillStyle = '#8796a5'; ctx.font = '10px system-ui';
    ctx.fillText(`${Math.round(maxU)} m`, 2, T + 4); ctx.fillText('0', L - 10, h - B);
    ctx.fillText('height AGL vs range from site', L + 4, T - 2);
    ctx.fillText(maxR >= 1000 ? `${(maxR / 1000).toFixed(1)} km` : `${Math.round(maxR)} m`, w - 44, h - 3);
    for (const f of (site ? site.zones.features : [])) {
      const p = f.properties;
      if (p.kind !== 'protected' || !p.radius_m) continue;
      const r0 = Math.max(0, Math.hypot(...p.center_enu) - p.radius_m), r1 = Math.hypot(...p.center_enu) + p.radius_m;
      const top = p.ceiling_m == null ? maxU : p.ceiling_m, bot = p.floor_m || 0;
      ctx.fillStyle = 'rgba(255,77,79,0.15)'; ctx.strokeStyle = '#ff4d4f';
      ctx.fillRect(X(r0), Y(top), X(r1) - X(r0), Y(bot) - Y(top)); ctx.strokeRect(X(r0), Y(top), X(r1) - X(r0), Y(bot) - Y(top));
    }
    let n = 0;
    for (const t of conf) {
      const r = Math.hypot(t.enu[0], t.enu[1]);
      if (r > maxR) continue;
      const x = X(r), y = Y(t.enu[2]), a = AFFILIATION[affiliation(t)], cue = LEVEL_CUE[shownLevel(t)];
      ctx.fillStyle = a.fill; ctx.strokeStyle = cue ? cue.colour : '#000'; ctx.lineWidth = cue ? 2.5 : 1;
      ctx.beginPath(); ctx.arc(x, y, t.id === view.selected ? 6 : 4, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
      if (cue || t.id === view.selected) { ctx.fillStyle = '#dde3ea'; ctx.fillText(`${t.id} ${Math.round(t.enu[2])} m`, x + 7, y - 4); }
      n++;
    }
    c.dataset.tracksDrawn = String(n);
  }
}
