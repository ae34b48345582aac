// Symbology: affiliation by frame shape and fill colour (MIL-STD-2525 / APP-6 air frames:
// friend a dome, hostile a peaked roof, neutral a box, unknown a cloverleaf), the object class
// as the icon inside the frame, the threat level as a ring and a badge that cannot be missed,
// and the legend that explains all of it.
export const AFFILIATION = {
  friend: { fill: '#80e0ff', stroke: '#00a8dc', label: 'friendly (whitelisted)' },
  hostile: { fill: '#ff8080', stroke: '#ff3030', label: 'hostile (alert)' },
  suspect: { fill: '#ff8080', stroke: '#ff3030', label: 'suspect (warning)', dashed: true },
  neutral: { fill: '#aaffaa', stroke: '#3ecf5e', label: 'neutral (bird, aircraft)' },
  unknown: { fill: '#ffff80', stroke: '#e0c000', label: 'unknown' },
};
export const LEVEL_CUE = {
  alert: { colour: '#ff3030', width: 3, badge: '!' },
  warning: { colour: '#ffb020', width: 2.5, badge: '!' },
};
export const CLASS_ICONS = { drone: 'drone', drone_fixed_wing: 'fixed wing', bird: 'bird', aircraft: 'aircraft', unknown: '?' };
export const ZONE_STYLE = {
  protected: { stroke: '#ff4d4f', fill: 'rgba(255,77,79,0.12)' },
  warning: { stroke: '#ffb020', fill: 'rgba(255,176,32,0.05)' },
};
const NEUTRAL_CLASSES = new Set(['bird', 'aircraft']);

export function threatLevel(track) { return track.threat ? track.threat.level : 'none'; }

// Same rule as the CoT output (runtime.outputs_peers.affiliation): whitelisted -> friend,
// alert -> hostile, warning -> suspect, a confident bird or aircraft -> neutral, else unknown.
export function affiliation(t) {
  const th = t.threat;
  if (th && th.friendly) return 'friend';
  if (th && th.level === 'alert') return 'hostile';
  if (th && th.level === 'warning') return 'suspect';
  if (NEUTRAL_CLASSES.has(t.object_class) && (t.class_probs[t.object_class] || 0) >= 0.6) return 'neutral';
  return 'unknown';
}
export function affColour(t) { return AFFILIATION[affiliation(t)].stroke; }
// The level worth showing: a friend's or a neutral's "watch" is not a threat to act on.
export function shownLevel(t) {
  const a = affiliation(t), lvl = threatLevel(t);
  return a === 'friend' || a === 'neutral' ? 'none' : lvl;
}

// Frame path centred on (x, y), half-size r.
export function framePath(ctx, aff, x, y, r) {
  ctx.beginPath();
  const base = y + r * 0.55;
  if (aff === 'friend') {
    ctx.moveTo(x - r, base); ctx.lineTo(x - r, y); ctx.arc(x, y, r, Math.PI, 0); ctx.lineTo(x + r, base);
    ctx.closePath();
  } else if (aff === 'hostile' || aff === 'suspect') {
    ctx.moveTo(x - r, base); ctx.lineTo(x - r, y - r * 0.1); ctx.lineTo(x, y - r * 1.2);
    ctx.lineTo(x + r, y - r * 0.1); ctx.lineTo(x + r, base); ctx.closePath();
  } else if (aff === 'neutral') {
    ctx.rect(x - r, y - r, 2 * r, r + r * 0.55);
  } else {
    const q = r / 2;
    ctx.moveTo(x - r, base); ctx.lineTo(x - r, y);
    ctx.arc(x - q, y, q, Math.PI, 1.5 * Math.PI);
    ctx.arc(x, y - q * 0.9, q, 1.15 * Math.PI, 1.85 * Math.PI);
    ctx.arc(x + q, y, q, 1.5 * Math.PI, 0);
    ctx.lineTo(x + r, base); ctx.closePath();
  }
}

// Class icon inside the frame, in black (2525 icons are drawn black on the frame fill).
export function drawIcon(ctx, cls, x, y, r) {
  ctx.save();
  ctx.strokeStyle = '#000'; ctx.fillStyle = '#000'; ctx.lineWidth = 1.3;
  const s = r * 0.45, cy = y - r * 0.1;
  ctx.beginPath();
  if (cls === 'drone') {           // quadcopter: an X with four rotors
    for (const [dx, dy] of [[-1, -1], [1, -1], [1, 1], [-1, 1]]) {
      ctx.moveTo(x, cy); ctx.lineTo(x + dx * s, cy + dy * s);
    }
    ctx.stroke();
    for (const [dx, dy] of [[-1, -1], [1, -1], [1, 1], [-1, 1]]) {
      ctx.beginPath(); ctx.arc(x + dx * s, cy + dy * s, s * 0.38, 0, 2 * Math.PI); ctx.stroke();
    }
  } else if (cls === 'drone_fixed_wing' || cls === 'aircraft') {   // wing and tail
    ctx.moveTo(x - s * 1.4, cy); ctx.lineTo(x + s * 1.4, cy);
    ctx.moveTo(x, cy - s); ctx.lineTo(x, cy + s);
    ctx.moveTo(x - s * 0.6, cy + s); ctx.lineTo(x + s * 0.6, cy + s);
    ctx.stroke();
    if (cls === 'drone_fixed_wing') { ctx.font = `bold ${Math.round(r * 0.55)}px system-ui`; ctx.fillText('U', x + s * 0.5, cy - s * 0.3); }
  } else if (cls === 'bird') {     // wings
    ctx.moveTo(x - s * 1.4, cy - s * 0.4); ctx.quadraticCurveTo(x - s * 0.6, cy - s, x, cy + s * 0.3);
    ctx.quadraticCurveTo(x + s * 0.6, cy - s, x + s * 1.4, cy - s * 0.4);
    ctx.stroke();
  } else {
    ctx.font = `bold ${Math.round(r)}px system-ui`; ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
    ctx.fillText('?', x, cy + 1);
  }
  ctx.restore();
}

export function renderLegend(el) {
  const rows = ['<div class="legend-head" title="click to fold">Legend ▾</div>', '<b>Affiliation (frame, colour)</b>'];
  for (const [k, a] of Object.entries(AFFILIATION)) {
    rows.push(`<div data-aff="${k}"><i style="background:${a.fill};border:2px ${a.dashed ? 'dashed' : 'solid'} ${a.stroke}"></i>${a.label}</div>`);
  }
  rows.push('<b>Icon = class</b>');
  rows.push('<div>drone ✕ · fixed-wing drone ✈U · bird ⌒ · aircraft ✈ · ? unknown</div>');
  rows.push('<b>Threat</b>');
  rows.push('<div><i class="sym" style="color:#ff3030">◉</i>alert: red ring, "!"</div>');
  rows.push('<div><i class="sym" style="color:#ffb020">◉</i>warning: amber ring</div>');
  rows.push('<b>Where it came from</b>');
  rows.push('<div><i class="sym" style="color:#ff9f40">⬭</i>launch estimate, 95 %</div>');
  rows.push('<div><i class="sym" style="color:#ff4040">⊕</i>rocket/mortar impact, 95 %, countdown; △ origin</div>');
  rows.push('<div><i class="sym" style="color:#d07cff">⟋</i>bearing-only report</div>');
  rows.push('<div><i class="sym" style="color:#80e0ff">✚</i>Remote ID operator</div>');
  rows.push('<div><i class="sym">┅</i>coasting (no recent detection)</div>');
  rows.push('<div><i class="sym">⌂</i>sensor (coverage dotted)</div>');
  el.innerHTML = rows.join('');
  el.querySelector('.legend-head').addEventListener('click', () => el.classList.toggle('folded'));
}
