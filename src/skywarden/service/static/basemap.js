// The basemap layer: raster XYZ tiles from skywarden's own /api/tiles (an MBTiles file the
// site carries), drawn on the map canvas in the local ENU frame. No tile ever comes from
// anywhere but this server. Without a basemap (GET /api/basemap says available: false) the
// map keeps its plain grid.
import { latToTileY, lonToTileX, tileXToLon, tileYToLat } from './geo.js';

const EARTH_CIRCUMFERENCE = 40075016.686;
const MAX_TILES = 80;      // drawn per frame; beyond that the zoom is too far out for the file
const CACHE = 400;         // images kept

export class Basemap {
  constructor(info, frame, onLoad) {
    this.info = info;      // /api/basemap
    this.frame = frame;    // LocalFrame of the site origin
    this.onLoad = onLoad;
    this.cache = new Map();
    this.drawn = 0;
  }
  zoomFor(metresPerPixel) {
    const res0 = EARTH_CIRCUMFERENCE * Math.cos(this.frame.lat0 * Math.PI / 180) / 256;
    const z = Math.round(Math.log2(res0 / metresPerPixel));
    return Math.max(this.info.minzoom, Math.min(this.info.maxzoom, z));
  }
  image(z, x, y) {
    const key = `${z}/${x}/${y}`;
    let img = this.cache.get(key);
    if (!img) {
      img = new Image();
      img.onload = () => this.onLoad();
      img.onerror = () => { img.failed = true; };
      img.src = this.info.url.replace('{z}', z).replace('{x}', x).replace('{y}', y);
      this.cache.set(key, img);
      if (this.cache.size > CACHE) this.cache.delete(this.cache.keys().next().value);
    }
    return img;
  }
  // Draw every tile that covers the screen. toScreen(e, n) and fromScreen(x, y) are the map's.
  draw(ctx, w, h, scale, toScreen, fromScreen) {
    const f = this.frame, z = this.zoomFor(1 / scale);
    const [e0, n0] = fromScreen(0, 0), [e1, n1] = fromScreen(w, h);
    const [latN, lonW] = f.toLatLon(e0, n0), [latS, lonE] = f.toLatLon(e1, n1);
    const x0 = Math.floor(lonToTileX(lonW, z)), x1 = Math.floor(lonToTileX(lonE, z));
    const y0 = Math.floor(latToTileY(latN, z)), y1 = Math.floor(latToTileY(latS, z));
    this.drawn = 0;
    if ((x1 - x0 + 1) * (y1 - y0 + 1) > MAX_TILES) return 0;
    const n = 2 ** z;
    ctx.imageSmoothingEnabled = true;
    for (let x = Math.max(0, x0); x <= Math.min(n - 1, x1); x++) {
      for (let y = Math.max(0, y0); y <= Math.min(n - 1, y1); y++) {
        const img = this.image(z, x, y);
        if (!img.complete || img.failed || !img.naturalWidth) continue;
        const [ea, na] = f.toENU(tileYToLat(y, z), tileXToLon(x, z));
        const [eb, nb] = f.toENU(tileYToLat(y + 1, z), tileXToLon(x + 1, z));
        const [sx0, sy0] = toScreen(ea, na), [sx1, sy1] = toScreen(eb, nb);
        // half a pixel of overlap hides the seams between neighbours
        ctx.drawImage(img, sx0 - 0.5, sy0 - 0.5, sx1 - sx0 + 1, sy1 - sy0 + 1);
        this.drawn++;
      }
    }
    return this.drawn;
  }
}
