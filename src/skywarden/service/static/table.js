// The sortable track table: click a header to sort (again to reverse), a row to select.
import { fmt, rangeOf } from './format.js';
import { affiliation, shownLevel } from './style.js';

const LEVEL_RANK = { none: 0, watch: 1, warning: 2, alert: 3 };
const SORT_VALUE = {
  id: (t) => Number(t.id) || t.id,
  object_class: (t) => t.object_class,
  threat: (t) => LEVEL_RANK[shownLevel(t)],
  tte: (t) => (shownLevel(t) !== 'none' && t.threat.time_to_enter_s != null ? t.threat.time_to_enter_s : Infinity),
  range: rangeOf,
  alt: (t) => t.enu[2],
  speed: (t) => t.speed_mps,
  heading: (t) => t.heading_deg,
  identity: (t) => t.identity || '',
  status: (t) => t.status,
  sensors: (t) => t.sensors.length,
};

export class TrackTable {
  constructor(table, view) {
    this.table = table;
    this.body = table.querySelector('tbody');
    this.view = view;
    this.key = 'threat';
    this.desc = true;
    this.tracks = [];
    table.querySelectorAll('th').forEach((th) => th.addEventListener('click', () => {
      const k = th.dataset.key;
      this.desc = this.key === k ? !this.desc : k === 'threat';
      this.key = k;
      this.render();
    }));
    this.body.addEventListener('click', (ev) => {
      const tr = ev.target.closest('tr');
      if (tr) this.view.select(tr.dataset.id);
    });
  }
  update(tracks) { this.tracks = tracks.filter((t) => t.confirmed); this.render(); }
  render() {
    const f = SORT_VALUE[this.key], sign = this.desc ? -1 : 1;
    const rows = [...this.tracks].sort((a, b) => {
      const va = f(a), vb = f(b);
      return va < vb ? -sign : va > vb ? sign : String(a.id).localeCompare(String(b.id));
    });
    this.table.querySelectorAll('th').forEach((th) => {
      th.classList.toggle('sorted-asc', th.dataset.key === this.key && !this.desc);
      this.key === th.dataset.key && this.desc ? th.classList.add('sorted-desc') : th.classList.remove('sorted-desc');
    });
    this.body.innerHTML = rows.map((t) => this.row(t)).join('');
  }
  row(t) {
    const lvl = shownLevel(t), aff = affiliation(t);
    const tte = lvl !== 'none' && t.threat ? t.threat.time_to_enter_s : null;
    const cls = [t.id === this.view.selected ? 'selected' : '', t.coasting ? 'coasting' : ''].join(' ');
    return `<tr data-id="${esc(t.id)}" class="${cls}"><td>${esc(t.id)}</td>`
      + `<td><span class="aff aff-${aff}" title="${aff}"></span>${esc(t.object_class.replace(/_/g, ' '))}</td>`
      + `<td class="lvl-${lvl}">${lvl === 'none' && aff !== 'unknown' ? aff : lvl}</td>`
      + `<td>${fmt.secs(tte)}</td>`
      + `<td>${fmt.dist(rangeOf(t))}</td><td>${fmt.alt(t.enu[2])}</td>`
      + `<td>${fmt.speed(t.speed_mps)}</td><td>${fmt.heading(t.heading_deg)}</td>`
      + `<td>${esc(t.identity || '')}</td><td>${t.status}</td><td>${esc(t.sensors.join(', '))}</td></tr>`;
  }
}

export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
