// The selected track: class probabilities, identity, affiliation, threat and time to zone,
// altitude stated as AGL and as height above the WGS-84 ellipsoid, launch estimate, sensors,
// and the image chip of a camera cued to it (GET /api/tracks/{id}/chip; fetched at most every
// CHIP_EVERY_MS per track and kept as an object URL, so a re-render each picture costs nothing).
import { fmt, rangeOf } from './format.js';
import { fmtLatLon, mgrs } from './geo.js';
import { AFFILIATION, affiliation, threatLevel } from './style.js';
import { esc } from './table.js';

const CHIP_EVERY_MS = 3000;
const chips = new Map(); // track id -> { url, meta, at, pending }

function chipOf(id, rerender) {
  let c = chips.get(id);
  const now = Date.now();
  if (!c) { c = { url: null, meta: null, at: 0, pending: false }; chips.set(id, c); }
  if (!c.pending && now - c.at >= CHIP_EVERY_MS) {
    c.pending = true; c.at = now;
    fetch(`/api/tracks/${encodeURIComponent(id)}/chip`, { credentials: 'same-origin' })
      .then(async (r) => {
        if (!r.ok) return;
        const h = r.headers;
        const meta = { camera: h.get('X-Chip-Camera'), t: Number(h.get('X-Chip-Time')), label: h.get('X-Chip-Label'),
          confidence: Number(h.get('X-Chip-Confidence')), synthetic: h.get('X-Chip-Synthetic') === 'true' };
        const blob = await r.blob();
        if (c.url) URL.revokeObjectURL(c.url);
        c.url = URL.createObjectURL(blob); c.meta = meta;
        rerender();
      })
      .catch(() => {})
      .finally(() => { c.pending = false; });
  }
  return c;
}

function chipRow(c) {
  if (!c.url) return '';
  const m = c.meta;
  const what = `${esc(m.label)} ${fmt.pct(m.confidence)} · ${esc(m.camera)} at ${fmt.clock(m.t)}`
    + (m.synthetic ? ' · <i>synthetic (simulated camera)</i>' : '');
  return `<tr><td>Camera</td><td><img class="chip" alt="camera chip" src="${c.url}" width="128" height="128"><br>${what}</td></tr>`;
}

export function renderDetails(el, track, selectedId) {
  if (!selectedId) { el.innerHTML = '<p class="muted">Click a track on the map or in the table.</p>'; return; }
  if (!track) { el.innerHTML = `<p class="muted">Track ${esc(selectedId)} is no longer in the picture.</p>`; return; }
  const th = track.threat, aff = affiliation(track), L = track.launch;
  const probs = Object.entries(track.class_probs).sort((a, b) => b[1] - a[1])
    .map(([c, p]) => `<div>${esc(c.replace(/_/g, ' '))} <span class="bar" style="width:${Math.round(p * 120)}px"></span> ${fmt.pct(p)}</div>`)
    .join('');
  const row = (k, v) => `<tr><td>${k}</td><td>${v}</td></tr>`;
  const p = track.position;
  el.innerHTML = `<table data-track="${esc(track.id)}">`
    + row('Track', `<b>${esc(track.id)}</b> (${track.status})`)
    + row('Affiliation', `<span class="aff aff-${aff}"></span>${AFFILIATION[aff].label}`)
    + row('Class', `<b>${esc(track.object_class)}</b>${probs}`)
    + row('Identity', esc(track.identity || 'none (non-cooperative)'))
    + row('Threat', th ? `<span class="lvl-${threatLevel(track)}">${th.level}</span> (score ${th.score.toFixed(2)})${th.friendly ? ' · friendly' : ''}` : 'not assessed (tentative)')
    + row('Time to zone', th ? `${fmt.secs(th.time_to_enter_s)}${th.zone_id ? ' · ' + esc(th.zone_id) : ''}` : '—')
    + row('Reasons', th && th.reasons.length ? esc(th.reasons.join('; ')) : '—')
    + row('Range', fmt.dist(rangeOf(track)))
    + row('Altitude', `${fmt.alt(track.enu[2])} AGL (above the site's ground) · ${p.alt_m.toFixed(1)} m HAE (WGS-84 ellipsoid)`)
    + row('Speed / heading', `${fmt.speed(track.speed_mps)} / ${fmt.heading(track.heading_deg)}`)
    + row('Position', `${fmtLatLon(p.lat, p.lon)}<br>MGRS ${mgrs(p.lat, p.lon) || '—'}`)
    + row('Uncertainty', `${fmt.dist(track.sigma_m)} (1σ)`)
    + row('Launch estimate', L ? `${fmt.dist(Math.hypot(...L.enu_m))} from site (${esc(L.method)}), 95 % ellipse ${Math.round(L.ellipse.semi_major_m)} × ${Math.round(L.ellipse.semi_minor_m)} m`
      + (L.operator_position ? `<br>Remote ID operator at ${fmtLatLon(L.operator_position.lat, L.operator_position.lon)}` : '') : '—')
    + row('Sensors', esc(track.sensors.join(', ') || '—'))
    + row('Updates', `${track.hits} since ${fmt.clock(track.first_t)}`)
    + chipRow(chipOf(track.id, () => {
      const shown = el.querySelector('table');
      if (shown && shown.dataset.track === track.id) renderDetails(el, track, selectedId);
    }))
    + '</table>';
}
