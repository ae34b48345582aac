// The alert panel: newest first; acknowledge (raised) and resolve (raised or acknowledged),
// offered to operators and admins only (the server checks again). A newly raised alert beeps.
// Clicking an alert centres and highlights its track on the map. Resolving asks why (false
// alarm: bird / friendly / other, exercise, real attack); the reason is journaled.
import { fmt } from './format.js';
import { esc } from './table.js';

export const RESOLVE_REASONS = {
  false_alarm_bird: 'False alarm: bird',
  false_alarm_friendly: 'False alarm: friendly',
  false_alarm_other: 'False alarm: other',
  exercise: 'Exercise',
  real_attack: 'Real attack',
};

export class AlertPanel {
  constructor(list, counter, view, onError, session, sound, tracks = () => []) {
    this.session = session;
    this.sound = sound;
    this.seen = null;          // alert ids already known (null until the first picture)
    this.last = [];
    this.list = list;
    this.counter = counter;
    this.view = view;
    this.onError = onError;
    this.tracks = tracks;
    this.resolving = null;     // alert id whose reason chooser is open
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
    if (this.resolving && this.list.querySelector('.resolve-why')) return;  // keep the open chooser
    const order = { raised: 0, acknowledged: 1, resolved: 2 };
    const rows = [...alerts].sort((a, b) => order[a.state] - order[b.state] || b.raised_t - a.raised_t);
    this.list.innerHTML = rows.map((a) => this.item(a)).join('')
      || '<li class="muted">No alerts.</li>';
  }
  item(a) {
    const buttons = [];
    if (!this.session.can('operator')) return this.row(a, buttons);
    if (a.state === 'raised') buttons.push(`<button data-act="ack" data-id="${esc(a.id)}">Acknowledge</button>`);
    if (a.state !== 'resolved') buttons.push(`<button data-act="resolve" data-id="${esc(a.id)}">Resolve…</button>`);
    return this.row(a, buttons);
  }
  row(a, buttons) {
    const by = a.acknowledged_by ? ` · ack by ${esc(a.acknowledged_by)}` : '';
    const sel = a.track_id === this.view.selected ? ' selected' : '';
    return `<li class="${a.level} ${a.state}${sel}" data-alert="${esc(a.id)}" data-track="${esc(a.track_id)}">`
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
  chooser(id) {
    const opts = Object.entries(RESOLVE_REASONS).map(([k, v]) => `<option value="${k}">${v}</option>`).join('');
    return `<div class="resolve-why" data-id="${esc(id)}"><label>Why? <select name="reason">`
      + `<option value="">choose…</option>${opts}</select></label>`
      + `<input name="note" maxlength="200" placeholder="note (optional)">`
      + `<button data-act="resolve-confirm" data-id="${esc(id)}" disabled>Resolve</button>`
      + `<button data-act="resolve-cancel" data-id="${esc(id)}">Cancel</button></div>`;
  }
  async click(ev) {
    const btn = ev.target.closest('button');
    if (ev.target.closest('.resolve-why') && !btn) return;
    if (btn) {
      ev.stopPropagation();
      const act = btn.dataset.act, id = btn.dataset.id;
      if (act === 'resolve') {
        this.resolving = id;
        btn.parentElement.innerHTML = this.chooser(id);
        const box = this.list.querySelector('.resolve-why select');
        box.addEventListener('change', () => {
          this.list.querySelector('[data-act=resolve-confirm]').disabled = !box.value;
        });
        return;
      }
      if (act === 'resolve-cancel') { this.resolving = null; this.update(this.last); return; }
      const body = {};
      if (act === 'resolve-confirm') {
        const box = btn.closest('.resolve-why');
        body.reason = box.querySelector('select').value;
        body.note = box.querySelector('input').value || null;
      }
      btn.disabled = true;
      const path = act === 'ack' ? 'ack' : 'resolve';
      const r = await this.session.api(`/api/alerts/${encodeURIComponent(id)}/${path}`, { method: 'POST', json: body });
      if (act === 'resolve-confirm') { this.resolving = null; this.update(this.last); }
      if (!r.ok) this.onError(`${path} ${id}: ${(await r.json()).detail}`);
      return;
    }
    const li = ev.target.closest('li[data-track]');
    if (li) this.view.focus(li.dataset.track, this.tracks());
  }
}
