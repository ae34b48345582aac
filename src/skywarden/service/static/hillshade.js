// Terrain shading from the site's DEM (terrain-RGB tiles from /api/dem): each tile's heights
// are decoded once, shaded for a light from the north-west 45 degrees up (the cartographic
// convention), and drawn as a translucent dark layer over the basemap: the slopes away from
// the light darken, flat ground and lit slopes stay clear.
import { latToTileY, lonToTileX, tileXToLon, tileYToLat } from './geo.js';

const AZ = 315 * Math.PI / 180, ALT = 45 * Math.PI / 180, MAX_TILES = 40, CACHE = 200;

function height(d, i, enc) {
  return enc === 'terrarium' ? d[i] * 256 + d[i + 1] + d[i + 2] / 256 - 32768
    : -10000 + (d[i] * 65536 + d[i + 1] * 256 + d[i + 2]) * 0.1;
}

// Shade one decoded tile; metresPerPixel of the tile at its zoom and latitude.
export function shadeTile(img, enc, metresPerPixel) {
  const n = img.naturalWidth, src = document.createElement('canvas');
  src.width = n; src.height = n;
  const sctx = src.getContext('2d', { willReadFrequently: true });
  sctx.drawImage(img, 0, 0);
  const d = sctx.getImageData(0, 0, n, n).data, h = new Float32Array(n * n);
  for (let k = 0; k < n * n; k++) h[k] = height(d, 4 * k, enc);
  const out = sctx.createImageData(n, n), o = out.data;
  const at = (x, y) => h[Math.min(n - 1, Math.max(0, y)) * n + Math.min(n - 1, Math.max(0, x))];
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const dzdx = (at(x + 1, y) - at(x - 1, y)) / (2 * metresPerPixel);   // east
      const dzdy = (at(x, y - 1) - at(x, y + 1)) / (2 * metresPerPixel);   // north
      const slope = Math.atan(Math.hypot(dzdx, dzdy)), aspect = Math.atan2(-dzdx, -dzdy);
      const lit = Math.sin(ALT) * Math.cos(slope) + Math.cos(ALT) * Math.sin(slope) * Math.cos(AZ - aspect);
      const flat = Math.sin(ALT), k = 4 * (y * n + x);
      o[k] = o[k + 1] = o[k + 2] = 0;
      o[k + 3] = Math.round(255 * Math.min(0.75, Math.max(0, (flat - lit) * 1.2)));
    }
  }
  sctx.putImageData(out, 0, 0);
  return src;
}

export class Hillshade {
  constructor(info, frame, onLoad) {
    this.info = info;        // /api/basemap .dem
    this.frame = frame;
    this.onLoad = onLoad;
    this.cache = new Map();
    this.drawn = 0;
  }
  tile(z, x, y) {
    const key = `${z}/${x}/${y}`;
    let t = this.cache.get(key);
    if (!t) {
      t = { shaded: null, failed: false };
      const img = new Image();
      img.onload = () => {
        const lat = tileYToLat(y + 0.5, z);
        const mpp = 40075016.686 * Math.cos(lat * Math.PI / 180) / (img.naturalWidth * 2 ** z);
        t.shaded = shadeTile(img, this.info.encoding, mpp);
        this.onLoad();
      };
      img.onerror = () => { t.failed = true; };
      img.src = this.info.url.replace('{z}', z).replace('{x}', x).replace('{y}', y);
      this.cache.set(key, t);
      if (this.cache.size > CACHE) this.cache.delete(this.cache.keys().next().value);
    }
    return t;
  }
  draw(ctx, w, h, scale, toScreen, fromScreen) {
    const f = this.frame, res0 = 40075016.686 * Math.cos(f.lat0 * Math.PI / 180) / 256;
    const z = Math.max(this.info.minzoom, Math.min(this.info.maxzoom, Math.round(Math.log2(res0 * scale))));
    const [e0, n0] = fromScreen(0, 0), [e1, n1] = fromScreen(w, h);
    const [latN, lonW] = f.toLatLon(e0, n0), [latS, lonE] = f.toLatLon(e1, n1);
    const x0 = Math.floor(lonToTileX(lonW, z)), x1 = Math.floor(lonToTileX(lonE, z));
    const y0 = Math.floor(latToTileY(latN, z)), y1 = Math.floor(latToTileY(latS, z));
    this.drawn = 0;
    if ((x1 - x0 + 1) * (y1 - y0 + 1) > MAX_TILES) return 0;
    for (let x = Math.max(0, x0); x <= x1; x++) {
      for (let y = Math.max(0, y0); y <= y1; y++) {
        const t = this.tile(z, x, y);
        if (!t.shaded) continue;
        const [ea, na] = f.toENU(tileYToLat(y, z), tileXToLon(x, z));
        const [eb, nb] = f.toENU(tileYToLat(y + 1, z), tileXToLon(x + 1, z));
        const [sx0, sy0] = toScreen(ea, na), [sx1, sy1] = toScreen(eb, nb);
        ctx.drawImage(t.shaded, sx0 - 0.5, sy0 - 0.5, sx1 - sx0 + 1, sy1 - sy0 + 1);
        this.drawn++;
      }
    }
    return this.drawn;
  }
}
