// Units for display, in one place: the server speaks SI (metres, m/s, seconds, UNIX time).
export const fmt = {
  dist(m) { return m == null ? '—' : m >= 1000 ? (m / 1000).toFixed(2) + ' km' : Math.round(m) + ' m'; },
  alt(m) { return m == null ? '—' : Math.round(m) + ' m'; },
  speed(mps) { return mps == null ? '—' : mps.toFixed(1) + ' m/s'; },
  heading(deg) { return deg == null ? '—' : String(Math.round(deg)).padStart(3, '0') + '°'; },
  secs(s) {
    if (s == null) return '—';
    if (s <= 0) return 'inside';
    return s >= 60 ? Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s' : Math.round(s) + ' s';
  },
  age(s) { return s < 60 ? Math.round(s) + ' s' : Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s'; },
  clock(t) { return t == null ? '--:--:--' : new Date(t * 1000).toISOString().slice(11, 19) + 'Z'; },
  pct(p) { return Math.round(p * 100) + '%'; },
  latlon(p) { return p ? p.lat.toFixed(5) + ', ' + p.lon.toFixed(5) : '—'; },
};

export function rangeOf(track) {
  return Math.hypot(track.enu[0], track.enu[1]);
}
