// The basemap layer: raster XYZ tiles from skywarden's own /api/tiles (an MBTiles file the
// site carries), drawn on the map canvas in the local ENU frame. No tile ever comes from
// anywhere but this server. Without a basemap (GET /api/basemap says available: false) the
// map keeps its plain grid. The tile grid itself is tiles.js (shared with the hillshade).
import { TileCache, drawTiles, tileUrl, zoomFor } from './tiles.js';

const MAX_TILES = 80;      // drawn per frame; beyond that the zoom is too far out for the file
const CACHE = 400;         // images kept

export class Basemap {
  constructor(info, frame, onLoad) {
    this.info = info;      // /api/basemap
    this.frame = frame;    // LocalFrame of the site origin
    this.onLoad = onLoad;
    this.cache = new TileCache(CACHE);
    this.drawn = 0;
  }
  zoomFor(metresPerPixel) {
    return zoomFor(this.info, this.frame.lat0, metresPerPixel);
  }
  image(z, x, y) {
    return this.cache.get(z, x, y, () => {
      const img = new Image();
      img.onload = () => this.onLoad();
      img.onerror = () => { img.failed = true; };
      img.src = tileUrl(this.info, z, x, y);
      return img;
    });
  }
  // Draw every tile that covers the screen. toScreen(e, n) and fromScreen(x, y) are the map's.
  draw(ctx, w, h, scale, toScreen, fromScreen) {
    const z = this.zoomFor(1 / scale);
    ctx.imageSmoothingEnabled = true;
    this.drawn = drawTiles(ctx, this.frame, z, w, h, toScreen, fromScreen, MAX_TILES, (x, y) => {
      const img = this.image(z, x, y);
      return img.complete && !img.failed && img.naturalWidth ? img : null;
    });
    return this.drawn;
  }
}
