// Terrain shading from the site's DEM (terrain-RGB tiles from /api/dem): each tile's heights
// are decoded once, shaded for a light from the north-west 45 degrees up (the cartographic
// convention), and drawn as a translucent dark layer over the basemap: the slopes away from
// the light darken, flat ground and lit slopes stay clear.
import { tileYToLat } from './geo.js';
import { EARTH_CIRCUMFERENCE, TileCache, drawTiles, tileUrl, zoomFor } from './tiles.js';

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
    this.cache = new TileCache(CACHE);
    this.drawn = 0;
  }
  tile(z, x, y) {
    return this.cache.get(z, x, y, () => {
      const t = { shaded: null, failed: false };
      const img = new Image();
      img.onload = () => {
        const lat = tileYToLat(y + 0.5, z);
        const mpp = EARTH_CIRCUMFERENCE * Math.cos(lat * Math.PI / 180) / (img.naturalWidth * 2 ** z);
        t.shaded = shadeTile(img, this.info.encoding, mpp);
        this.onLoad();
      };
      img.onerror = () => { t.failed = true; };
      img.src = tileUrl(this.info, z, x, y);
      return t;
    });
  }
  draw(ctx, w, h, scale, toScreen, fromScreen) {
    const z = zoomFor(this.info, this.frame.lat0, 1 / scale);
    this.drawn = drawTiles(ctx, this.frame, z, w, h, toScreen, fromScreen, MAX_TILES,
      (x, y) => this.tile(z, x, y).shaded);
    return this.drawn;
  }
}
