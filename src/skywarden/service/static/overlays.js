// Map overlays that say where a threat came from and where it is when off-screen: the launch
// estimate with its 95 % ellipse, the Remote ID operator position, bearing lines of
// bearing-only (RF, acoustic) reports, edge markers pointing at off-screen threats, and the
// scale bar.
import { fmt } from './format.js';
import { LEVEL_CUE, shownLevel } from './style.js';

const NICE = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000];
export const BEARING_HOLD_S = 10;   // a bearing line stays this long after its report
const BEARING_COLOUR = '#d07cff', LAUNCH_COLOUR = '#ff9f40', OPERATOR_COLOUR = '#80e0ff';
const IMPACT_COLOUR = '#ff4040';

export function drawLaunch(ctx, m, t) {
  const L = t.launch;
  if (!L || L.method === 'ballistic') return 0;   // a round's origin is drawn by drawImpact
  const [x, y] = m.toScreen(L.enu_m[0], L.enu_m[1]), [tx, ty] = m.toScreen(t.enu[0], t.enu[1]);
  const el = L.ellipse, rot = (el.orientation_deg - 90) * Math.PI / 180;
  ctx.save();
  ctx.strokeStyle = LAUNCH_COLOUR; ctx.fillStyle = 'rgba(255,159,64,0.15)'; ctx.lineWidth = 1.5;
  ctx.beginPath();
  ctx.ellipse(x, y, Math.max(2, el.semi_major_m * m.scale), Math.max(2, el.semi_minor_m * m.scale), rot, 0, 2 * Math.PI);
  ctx.fill(); ctx.stroke();
  ctx.beginPath(); ctx.moveTo(x - 5, y - 5); ctx.lineTo(x + 5, y + 5); ctx.moveTo(x + 5, y - 5); ctx.lineTo(x - 5, y + 5); ctx.stroke();
  ctx.setLineDash([5, 5]); ctx.globalAlpha = 0.7;
  ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(tx, ty); ctx.stroke();
  ctx.restore();
  m.labels.push({ text: `launch? ${t.id}`, x, y, prio: 2, colour: LAUNCH_COLOUR });
  if (L.operator_enu_m) {
    const [ox, oy] = m.toScreen(L.operator_enu_m[0], L.operator_enu_m[1]);
    ctx.save(); ctx.strokeStyle = OPERATOR_COLOUR; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(ox, oy, 6, 0, 2 * Math.PI); ctx.moveTo(ox - 9, oy); ctx.lineTo(ox + 9, oy);
    ctx.moveTo(ox, oy - 9); ctx.lineTo(ox, oy + 9); ctx.stroke();
    ctx.setLineDash([2, 4]); ctx.beginPath(); ctx.moveTo(ox, oy); ctx.lineTo(tx, ty); ctx.stroke();
    ctx.restore();
    m.labels.push({ text: `operator ${t.id}`, x: ox, y: oy, prio: 2, colour: OPERATOR_COLOUR });
  }
  return 1;
}

// A ballistic round (rocket, mortar bomb): its predicted impact with the 95 % ellipse, a dashed
// line from the round to it, a countdown label ("impact R3 12 s"), and its point of origin
// (a triangle). Fields as /api/tracks carries them (impact_enu_m, impact_t, impact_ellipse_m
// [semi-major, semi-minor, deg from north], and launch: the API's one launch object, method
// 'ballistic' for a round's origin); returns 1 when drawn.
export function drawImpact(ctx, m, t) {
  if (!t.impact_enu_m) return 0;
  const [x, y] = m.toScreen(t.impact_enu_m[0], t.impact_enu_m[1]), [tx, ty] = m.toScreen(t.enu[0], t.enu[1]);
  const el = t.impact_ellipse_m || [0, 0, 0], rot = (el[2] - 90) * Math.PI / 180;
  ctx.save();
  ctx.strokeStyle = IMPACT_COLOUR; ctx.fillStyle = 'rgba(255,64,64,0.2)'; ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.ellipse(x, y, Math.max(4, el[0] * m.scale), Math.max(4, el[1] * m.scale), rot, 0, 2 * Math.PI);
  ctx.fill(); ctx.stroke();
  ctx.beginPath(); ctx.moveTo(x - 8, y); ctx.lineTo(x + 8, y); ctx.moveTo(x, y - 8); ctx.lineTo(x, y + 8); ctx.stroke();
  ctx.setLineDash([6, 4]); ctx.beginPath(); ctx.moveTo(tx, ty); ctx.lineTo(x, y); ctx.stroke();
  ctx.restore();
  const left = t.impact_t != null ? Math.max(0, t.impact_t - t.t) : null;
  m.labels.push({ text: `impact ${t.id}${left != null ? ' ' + left.toFixed(0) + ' s' : ''}`, x, y, prio: 0, colour: IMPACT_COLOUR });
  if (t.launch && t.launch.method === 'ballistic') {   // a drone's is drawn by drawLaunch
    const [ox, oy] = m.toScreen(t.launch.enu_m[0], t.launch.enu_m[1]);
    ctx.save(); ctx.strokeStyle = IMPACT_COLOUR; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(ox, oy - 8); ctx.lineTo(ox + 7, oy + 5); ctx.lineTo(ox - 7, oy + 5); ctx.closePath(); ctx.stroke();
    ctx.setLineDash([2, 4]); ctx.beginPath(); ctx.moveTo(ox, oy); ctx.lineTo(tx, ty); ctx.stroke();
    ctx.restore();
    m.labels.push({ text: `origin ${t.id}`, x: ox, y: oy, prio: 2, colour: IMPACT_COLOUR });
  }
  return 1;
}

// One bearing line: from the sensor along the azimuth, with its 1-sigma wedge; dashed when it
// belongs to no track (no position yet), solid and fainter when it supports a track.
export function drawBearing(ctx, m, b, range, ageS) {
  const [sx, sy] = m.toScreen(b.sensor_enu[0], b.sensor_enu[1]);
  const az = b.azimuth_deg * Math.PI / 180, sg = Math.max(b.sigma_deg, 0.2) * Math.PI / 180;
  const R = range * m.scale;
  const end = (a) => [sx + R * Math.sin(a), sy - R * Math.cos(a)];
  ctx.save();
  ctx.globalAlpha = Math.max(0.25, 1 - ageS / BEARING_HOLD_S) * (b.track_id ? 0.5 : 1);
  ctx.fillStyle = 'rgba(208,124,255,0.12)';
  ctx.beginPath(); ctx.moveTo(sx, sy); ctx.lineTo(...end(az - sg)); ctx.lineTo(...end(az + sg)); ctx.closePath(); ctx.fill();
  ctx.strokeStyle = BEARING_COLOUR; ctx.lineWidth = 1.5; ctx.setLineDash(b.track_id ? [] : [8, 5]);
  ctx.beginPath(); ctx.moveTo(sx, sy); ctx.lineTo(...end(az)); ctx.stroke();
  ctx.restore();
  const [lx, ly] = [sx + Math.min(R, 160) * Math.sin(az), sy - Math.min(R, 160) * Math.cos(az)];
  m.labels.push({ text: `${b.sensor_id} ${Math.round(b.azimuth_deg)}°${b.track_id ? ' → ' + b.track_id : ''}`, x: lx, y: ly, prio: 3, colour: BEARING_COLOUR });
}

// Threats (warning, alert) outside the view: an arrow at the edge, with id and distance.
export function drawEdgeMarkers(ctx, m, w, h) {
  const out = [], pad = 22, cx = w / 2, cy = h / 2;
  for (const t of m.tracks) {
    const lvl = shownLevel(t);
    if (!LEVEL_CUE[lvl] || !t.confirmed) continue;
    const [x, y] = m.toScreen(t.enu[0], t.enu[1]);
    if (x >= 0 && x <= w && y >= 0 && y <= h) continue;
    const dx = x - cx, dy = y - cy;
    const k = Math.min((cx - pad) / Math.abs(dx || 1e-9), (cy - pad) / Math.abs(dy || 1e-9));
    const ex = cx + dx * k, ey = cy + dy * k, a = Math.atan2(dy, dx);
    ctx.save(); ctx.translate(ex, ey); ctx.rotate(a);
    ctx.fillStyle = LEVEL_CUE[lvl].colour; ctx.strokeStyle = '#000'; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(14, 0); ctx.lineTo(-8, -10); ctx.lineTo(-8, 10); ctx.closePath(); ctx.fill(); ctx.stroke();
    ctx.restore();
    const dist = Math.hypot(t.enu[0] - m.view.center[0], t.enu[1] - m.view.center[1]);
    const text = `${t.id} ${fmt.dist(dist)}`;
    ctx.font = 'bold 12px system-ui';
    const tw = ctx.measureText(text).width;
    const lx = Math.min(Math.max(ex - tw / 2, 4), w - tw - 4), ly = Math.min(Math.max(ey + (dy > 0 ? -16 : 24), 14), h - 4);
    ctx.fillStyle = 'rgba(0,0,0,0.7)'; ctx.fillRect(lx - 3, ly - 12, tw + 6, 16);
    ctx.fillStyle = LEVEL_CUE[lvl].colour; ctx.fillText(text, lx, ly);
    out.push({ id: t.id, x: ex, y: ey, level: lvl });
  }
  return out;
}

export function drawScaleBar(ctx, m, w, h) {
  const len = NICE.find((s) => s * m.scale >= 80) || 50000, px = len * m.scale;
  const x = w - px - 16, y = h - 16;
  ctx.save();
  ctx.fillStyle = 'rgba(0,0,0,0.6)'; ctx.fillRect(x - 6, y - 18, px + 12, 24);
  ctx.strokeStyle = '#fff'; ctx.lineWidth = 2;
  ctx.beginPath(); ctx.moveTo(x, y - 5); ctx.lineTo(x, y); ctx.lineTo(x + px, y); ctx.lineTo(x + px, y - 5); ctx.stroke();
  ctx.fillStyle = '#fff'; ctx.font = '11px system-ui'; ctx.textAlign = 'center';
  ctx.fillText(len >= 1000 ? `${len / 1000} km` : `${len} m`, x + px / 2, y - 6);
  ctx.restore();
  return len;
}

// Greedy label placement: highest priority first (lower prio number), each label tries eight
// spots around its anchor and is left out when all collide with a symbol or a label already
// placed (obstacles: [x0, y0, x1, y1] boxes of the symbols).
export function placeLabels(ctx, labels, w, h, obstacles = []) {
  const placed = [], boxes = [...obstacles];
  ctx.font = '11px system-ui';
  const spots = [[8, -6], [8, 12], [-8, -6], [-8, 12], [0, -14], [0, 22], [14, 3], [-14, 3]];
  for (const l of [...labels].sort((a, b) => a.prio - b.prio)) {
    const tw = ctx.measureText(l.text).width, th = 12;
    for (const [dx, dy] of spots) {
      const x = dx >= 0 ? l.x + dx : l.x + dx - tw, y = l.y + dy;
      const box = [x - 2, y - th, x + tw + 2, y + 3];
      if (box[0] < 0 || box[2] > w || box[1] < 0 || box[3] > h) continue;
      if (boxes.some((b) => box[0] < b[2] && box[2] > b[0] && box[1] < b[3] && box[3] > b[1])) continue;
      boxes.push(box); placed.push({ ...l, px: x, py: y });
      break;
    }
  }
  for (const l of placed) {
    ctx.fillStyle = 'rgba(10,14,18,0.72)'; ctx.fillRect(l.px - 2, l.py - 11, ctx.measureText(l.text).width + 4, 14);
    ctx.fillStyle = l.colour; ctx.fillText(l.text, l.px, l.py);
  }
  return placed.length;
}
