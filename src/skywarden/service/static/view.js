// View settings live in the URL (tar1090 README-query.md): shareable, survive a reload.
//   ?center=E,N   map centre, metres east/north of the site origin
//   &range=M      half-width of the view in metres
//   &track=ID     selected track
//   &follow=1     keep the highest threat centred
export class View {
  constructor(onChange) {
    const q = new URLSearchParams(location.search);
    const c = (q.get('center') || '0,0').split(',').map(Number);
    this.center = [Number.isFinite(c[0]) ? c[0] : 0, Number.isFinite(c[1]) ? c[1] : 0];
    const r = Number(q.get('range'));
    this.range = Number.isFinite(r) && r > 10 ? r : 2500;
    this.selected = q.get('track') || null;
    this.follow = q.get('follow') === '1';
    this.onChange = onChange;
  }
  save() {
    const q = new URLSearchParams(location.search);
    q.set('center', this.center.map((v) => Math.round(v)).join(','));
    q.set('range', String(Math.round(this.range)));
    if (this.selected) q.set('track', this.selected); else q.delete('track');
    if (this.follow) q.set('follow', '1'); else q.delete('follow');
    history.replaceState(null, '', '?' + q.toString());
    this.onChange();
  }
  select(id) { this.selected = id; this.save(); }
  // Select a track and bring it into view: centred, the view widened if the track's launch
  // estimate would not fit.
  focus(id, tracks) {
    const t = tracks.find((x) => x.id === id);
    this.selected = id;
    if (t) {
      this.center = [t.enu[0], t.enu[1]];
      if (t.launch) {
        const d = Math.hypot(t.launch.enu_m[0] - t.enu[0], t.launch.enu_m[1] - t.enu[1]);
        if (d * 1.3 > this.range) this.range = Math.min(50000, d * 1.3);
      }
    }
    this.save();
  }
  zoom(factor) { this.range = Math.min(50000, Math.max(50, this.range * factor)); this.save(); }
  pan(de, dn) { this.follow = false; this.center = [this.center[0] + de, this.center[1] + dn]; this.save(); }
  recentre() { this.follow = false; this.center = [0, 0]; this.save(); }
}
