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
      + `<div>${esc(a.reasons.join('; '))}</div><div>${buttons.join('')}</div></li>`;
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
