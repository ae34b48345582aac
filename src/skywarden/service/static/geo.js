// Geodesy for the console: ENU metres about the site origin <-> WGS-84 lat/lon, Web Mercator
// tile numbers (the XYZ scheme of the basemap), and MGRS for the cursor readout.
// Local frame: east = N(lat0) cos(lat0) dlon, north = M(lat0) dlat (prime-vertical and
// meridian radii of curvature of WGS-84): within a few km of the site the error is well under
// a metre, far below a pixel at any zoom the console offers.
const A = 6378137.0, F = 1 / 298.257223563, E2 = F * (2 - F), D = Math.PI / 180;

export class LocalFrame {
  constructor(lat0, lon0) {
    this.lat0 = lat0; this.lon0 = lon0;
    const s = Math.sin(lat0 * D), w = 1 - E2 * s * s;
    this.kn = (A * (1 - E2) / Math.pow(w, 1.5)) * D;        // metres per degree of latitude
    this.ke = (A / Math.sqrt(w)) * Math.cos(lat0 * D) * D;   // metres per degree of longitude
  }
  toENU(lat, lon) { return [(lon - this.lon0) * this.ke, (lat - this.lat0) * this.kn]; }
  toLatLon(e, n) { return [this.lat0 + n / this.kn, this.lon0 + e / this.ke]; }
}

// Web Mercator (EPSG:3857) tile coordinates, fractional.
export function lonToTileX(lon, z) { return ((lon + 180) / 360) * 2 ** z; }
export function latToTileY(lat, z) {
  const p = Math.max(-85.0511, Math.min(85.0511, lat)) * D;
  return ((1 - Math.log(Math.tan(p) + 1 / Math.cos(p)) / Math.PI) / 2) * 2 ** z;
}
export function tileXToLon(x, z) { return (x / 2 ** z) * 360 - 180; }
export function tileYToLat(y, z) { return Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / 2 ** z))) / D; }

// UTM (Snyder, USGS Prof. Paper 1395, eqs 8-9 .. 8-10) with the Norway/Svalbard zones.
export function utm(lat, lon) {
  let zone = Math.floor((lon + 180) / 6) + 1;
  if (lat >= 56 && lat < 64 && lon >= 3 && lon < 12) zone = 32;
  if (lat >= 72 && lat < 84 && lon >= 0 && lon < 42) zone = lon < 9 ? 31 : lon < 21 ? 33 : lon < 33 ? 35 : 37;
  const k0 = 0.9996, ep2 = E2 / (1 - E2), e4 = E2 * E2, e6 = e4 * E2;
  const phi = lat * D, lam0 = ((zone - 1) * 6 - 180 + 3) * D;
  const sp = Math.sin(phi), cp = Math.cos(phi), tp = Math.tan(phi);
  const N = A / Math.sqrt(1 - E2 * sp * sp), T = tp * tp, C = ep2 * cp * cp;
  const Ax = cp * (lon * D - lam0);
  const M = A * ((1 - E2 / 4 - 3 * e4 / 64 - 5 * e6 / 256) * phi
    - (3 * E2 / 8 + 3 * e4 / 32 + 45 * e6 / 1024) * Math.sin(2 * phi)
    + (15 * e4 / 256 + 45 * e6 / 1024) * Math.sin(4 * phi)
    - (35 * e6 / 3072) * Math.sin(6 * phi));
  const x = k0 * N * (Ax + (1 - T + C) * Ax ** 3 / 6
    + (5 - 18 * T + T * T + 72 * C - 58 * ep2) * Ax ** 5 / 120) + 500000;
  let y = k0 * (M + N * tp * (Ax * Ax / 2 + (5 - T + 9 * C + 4 * C * C) * Ax ** 4 / 24
    + (61 - 58 * T + T * T + 600 * C - 330 * ep2) * Ax ** 6 / 720));
  if (lat < 0) y += 10000000;
  return { zone, easting: x, northing: y };
}

const BANDS = 'CDEFGHJKLMNPQRSTUVWX';
const COLS = ['STUVWXYZ', 'ABCDEFGH', 'JKLMNPQR'];
const ROWS = 'ABCDEFGHJKLMNPQRSTUV';

// MGRS to 1 m ("18S UJ 23487 06483"); null outside 80S..84N (UPS is not covered).
export function mgrs(lat, lon) {
  if (!(lat >= -80 && lat <= 84)) return null;
  const { zone, easting, northing } = utm(lat, lon);
  const set = zone % 6 || 6;
  const col = COLS[set % 3][Math.floor(easting / 100000) - 1];
  let row = Math.floor(northing / 100000) % 20;
  if (set % 2 === 0) row = (row + 5) % 20;
  const band = BANDS[Math.min(19, Math.floor((lat + 80) / 8))];
  const pad = (v) => String(Math.floor(v % 100000)).padStart(5, '0');
  return `${zone}${band} ${col}${ROWS[row]} ${pad(easting)} ${pad(northing)}`;
}

export function fmtLatLon(lat, lon) {
  return `${Math.abs(lat).toFixed(5)}°${lat >= 0 ? 'N' : 'S'} ${Math.abs(lon).toFixed(5)}°${lon >= 0 ? 'E' : 'W'}`;
}
