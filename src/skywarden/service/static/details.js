// The selected track: class probabilities, identity, threat and time to zone, sensors.
import { fmt, rangeOf } from './format.js';
import { threatLevel } from './style.js';
import { esc } from './table.js';

export function renderDetails(el, track, selectedId) {
  if (!selectedId) { el.innerHTML = '<p class="muted">Click a track on the map or in the table.</p>'; return; }
  if (!track) { el.innerHTML = `<p class="muted">Track ${esc(selectedId)} is no longer in the picture.</p>`; return; }
  const th = track.threat;
  const probs = Object.entries(track.class_probs).sort((a, b) => b[1] - a[1])
    .map(([c, p]) => `<div>${esc(c.replace(/_/g, ' '))} <span class="bar" style="width:${Math.round(p * 120)}px"></span> ${fmt.pct(p)}</div>`)
    .join('');
  const row = (k, v) => `<tr><td>${k}</td><td>${v}</td></tr>`;
  el.innerHTML = `<table data-track="${esc(track.id)}">`
    + row('Track', `<b>${esc(track.id)}</b> (${track.status})`)
    + row('Class', `<b>${esc(track.object_class)}</b>${probs}`)
    + row('Identity', esc(track.identity || 'none (non-cooperative)'))
    + row('Threat', th ? `<span class="lvl-${threatLevel(track)}">${th.level}</span> (score ${th.score.toFixed(2)})${th.friendly ? ' · friendly' : ''}` : 'not assessed (tentative)')
    + row('Time to zone', th ? `${fmt.secs(th.time_to_enter_s)}${th.zone_id ? ' · ' + esc(th.zone_id) : ''}` : '—')
    + row('Reasons', th && th.reasons.length ? esc(th.reasons.join('; ')) : '—')
    + row('Range / alt', `${fmt.dist(rangeOf(track))} / ${fmt.alt(track.enu[2])}`)
    + row('Speed / heading', `${fmt.speed(track.speed_mps)} / ${fmt.heading(track.heading_deg)}`)
    + row('Position', fmt.latlon(track.position))
    + row('Uncertainty', `${fmt.dist(track.sigma_m)} (1σ)`)
    + row('Sensors', esc(track.sensors.join(', ') || '—'))
    + row('Updates', `${track.hits} since ${fmt.clock(track.first_t)}`)
    + '</table>';
}
