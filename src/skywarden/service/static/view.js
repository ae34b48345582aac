// View settings live in the URL (tar1090 README-query.md): shareable, survive a reload.
//   ?center=E,N   map centre, metres east/north of the site origin
//   &range=M      half-width of the view in metres
//   &track=ID     selected track
export class View {
  constructor(onChange) {
    const q = new URLSearchParams(location.search);
    const c = (q.get('center') || '0,0').split(',').map(Number);
    this.center = [Number.isFinite(c[0]) ? c[0] : 0, Number.isFinite(c[1]) ? c[1] : 0];
    const r = Number(q.get('range'));
    this.range = Number.isFinite(r) && r > 10 ? r : 2500;
    this.selected = q.get('track') || null;
    this.onChange = onChange;
  }
  save() {
    const q = new URLSearchParams(location.search);
    q.set('center', this.center.map((v) => Math.round(v)).join(','));
    q.set('range', String(Math.round(this.range)));
    if (this.selected) q.set('track', this.selected); else q.delete('track');
    history.replaceState(null, '', '?' + q.toString());
    this.onChange();
  }
  select(id) { this.selected = id; this.save(); }
  zoom(factor) { this.range = Math.min(50000, Math.max(50, this.range * factor)); this.save(); }
  pan(de, dn) { this.center = [this.center[0] + de, this.center[1] + dn]; this.save(); }
  recentre() { this.center = [0, 0]; this.save(); }
}
