// Sensor health: polls /api/sensors and shows a banner naming every sensor reported lost
// (per sensor, with the age of its last report), plus a compact status list in the top bar.
import { fmt } from './format.js';
import { esc } from './table.js';

export class SensorWatch {
  constructor(session, banner, summary, periodMs = 5000) {
    this.session = session;
    this.banner = banner;
    this.summary = summary;
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
  }
}
