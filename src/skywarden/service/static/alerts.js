// The alert panel: newest first; acknowledge (raised) and resolve (raised or acknowledged),
// offered to operators and admins only (the server checks again). A newly raised alert beeps.
import { fmt } from './format.js';
import { esc } from './table.js';

export class AlertPanel {
  constructor(list, counter, view, onError, session, sound) {
    this.session = session;
    this.sound = sound;
    this.seen = null;          // alert ids already known (null until the first picture)
    this.last = [];
    this.list = list;
    this.counter = counter;
    this.view = view;
    this.onError = onError;
    list.addEventListener('click', (ev) => this.click(ev));
    this.whyOpen = new Set();  // alert ids whose explanation is unfolded (kept across redraws)
    list.addEventListener('toggle', (ev) => {
      const d = ev.target;
      if (d.dataset && d.dataset.why) d.open ? this.whyOpen.add(d.dataset.why) : this.whyOpen.delete(d.dataset.why);
    }, true);
  }
  update(alerts) {
    const fresh = alerts.filter((a) => a.state === 'raised' && this.seen && !this.seen.has(a.id));
    if (fresh.length) this.sound.beep(fresh.some((a) => a.level === 'alert') ? 'alert' : 'warning');
    this.seen = new Set([...(this.seen || []), ...alerts.map((a) => a.id)]);
    this.last = alerts;
    const open = alerts.filter((a) => a.state !== 'resolved');
    this.counter.textContent = String(open.length);
    this.counter.style.background = open.some((a) => a.state === 'raised') ? 'var(--alert)' : '';
    const order = { raised: 0, acknowledged: 1, resolved: 2 };
    const rows = [...alerts].sort((a, b) => order[a.state] - order[b.state] || b.raised_t - a.raised_t);
    this.list.innerHTML = rows.map((a) => this.item(a)).join('')
      || '<li class="muted">No alerts.</li>';
  }
  item(a) {
    const buttons = [];
    if (!this.session.can('operator')) return this.row(a, buttons);
    if (a.state === 'raised') buttons.push(`<button data-act="ack" data-id="${esc(a.id)}">Acknowledge</button>`);
    if (a.state !== 'resolved') buttons.push(`<button data-act="resolve" data-id="${esc(a.id)}">Resolve</button>`);
    return this.row(a, buttons);
  }
  row(a, buttons) {
    const by = a.acknowledged_by ? ` · ack by ${esc(a.acknowledged_by)}` : '';
    return `<li class="${a.level} ${a.state}" data-alert="${esc(a.id)}" data-track="${esc(a.track_id)}">`
      + `<b>${a.level.toUpperCase()}</b> ${esc(a.id)} · track ${esc(a.track_id)} · ${esc(a.zone_id)}`
      + `<div class="muted">${fmt.clock(a.raised_t)} · ${a.state}${by} · ${esc(a.object_class)}`
      + ` · ${fmt.secs(a.time_to_enter_s)}</div>`
      + `<div>${esc(a.reasons.join('; '))}</div>${this.why(a)}<div>${buttons.join('')}</div></li>`;
  }
  // The alert's explanation: the evidence behind its latest level, then one line per raise,
  // change of level or class, and the resolution (issue 19).
  why(a) {
    const e = a.evidence;
    const lines = (a.explanation || []).map((l) => `<li>${esc(l)}</li>`).join('');
    if (!e && !lines) return '';
    const probs = e ? Object.entries(e.class_probs).map(([k, p]) => `${k} ${Math.round(p * 100)}%`).join(', ') : '';
    const ev = e ? `<div class="evidence">rule ${esc(e.rule)} · ${esc(probs)} · sensors ${esc(e.sensors.join(', ') || '-')}`
      + ` · ${Math.round(e.range_m)} m · to zone ${fmt.secs(e.time_to_zone_s)}`
      + ` · closest ${e.closest_approach_m == null ? '-' : Math.round(e.closest_approach_m) + ' m'}`
      + ` · identity ${esc(e.identity || 'none')} (${esc(e.identity_status)})</div>` : '';
    return `<details class="why" data-why="${esc(a.id)}"${this.whyOpen.has(a.id) ? ' open' : ''}><summary>Why</summary>${ev}<ol>${lines}</ol></details>`;
  }
  async click(ev) {
    const btn = ev.target.closest('button');
    if (btn) {
      ev.stopPropagation();
      btn.disabled = true;
      const r = await this.session.api(
        `/api/alerts/${encodeURIComponent(btn.dataset.id)}/${btn.dataset.act}`,
        { method: 'POST', json: {} });
      if (!r.ok) this.onError(`${btn.dataset.act} ${btn.dataset.id}: ${(await r.json()).detail}`);
      return;
    }
    const li = ev.target.closest('li[data-track]');
    if (li) this.view.select(li.dataset.track);
  }
}
