// Sensor health: polls /api/sensors and shows a banner naming every sensor reported lost
// (per sensor, with the age of its last report), a compact status list in the top bar, and a
// table of every sensor (status, last report, rate, rejects by reason) in the side panel. The
// map colours each sensor symbol by its status.
import { fmt } from './format.js';
import { esc } from './table.js';

export class SensorWatch {
  constructor(session, banner, summary, list = null, onHealth = () => {}, periodMs = 5000) {
    this.session = session;
    this.banner = banner;
    this.summary = summary;
    this.list = list;
    this.onHealth = onHealth;
    this.periodMs = periodMs;
    this.sensors = [];
  }
  start() {
    this.poll();
    setInterval(() => this.poll(), this.periodMs);
  }
  async poll() {
    try {
      const r = await this.session.api('/api/sensors');
      if (!r.ok) return;
      this.sensors = await r.json();
    } catch (e) {
      return; // the feed banner already says the server is unreachable
    }
    this.render();
    this.onHealth(this.sensors);
  }
  render() {
    const lost = this.sensors.filter((s) => s.status === 'lost');
    if (lost.length) {
      this.banner.innerHTML = lost.map((s) => {
        const since = s.age_s == null ? 'no report yet' : `last report ${fmt.age(s.age_s)} ago`;
        return `<span data-sensor="${esc(s.id)}">Sensor ${esc(s.id)} (${esc(s.kind)}) lost: ${since}</span>`;
      }).join(' · ');
      this.banner.classList.remove('hidden');
    } else {
      this.banner.classList.add('hidden');
    }
    const counts = {};
    for (const s of this.sensors) counts[s.status] = (counts[s.status] || 0) + 1;
    this.summary.textContent = `sensors: ${Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ')}`;
    if (!this.list) return;
    this.list.innerHTML = this.sensors.map((s) => {
      const rej = Object.entries(s.rejected || {}).map(([k, n]) => `${esc(k)} ${n}`).join(', ');
      return `<tr data-sensor="${esc(s.id)}" class="st-${s.status}"><td><span class="dot"></span>${esc(s.id)}</td>`
        + `<td>${esc(s.kind)}</td><td>${s.status}</td>`
        + `<td>${s.age_s == null ? '—' : fmt.age(s.age_s) + ' ago'}</td>`
        + `<td>${s.rate_hz == null ? '—' : s.rate_hz.toFixed(2) + '/s'}</td>`
        + `<td>${rej || '0'}</td></tr>`;
    }).join('');
  }
}
