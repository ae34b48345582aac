// The XYZ tile grid under the map, shared by the basemap and the terrain shading: which zoom
// suits the scale, which tiles cover the screen and where each one goes, and a bounded cache
// of what was fetched. The two layers differ only in what a tile becomes once loaded (the
// image itself; a shaded canvas), so that is all they say themselves.
import { latToTileY, lonToTileX, tileXToLon, tileYToLat } from './geo.js';

export const EARTH_CIRCUMFERENCE = 40075016.686;

// The zoom whose pixels are nearest metresPerPixel at latitude lat0, within the file's range.
export function zoomFor(info, lat0, metresPerPixel) {
  const res0 = EARTH_CIRCUMFERENCE * Math.cos(lat0 * Math.PI / 180) / 256;
  const z = Math.round(Math.log2(res0 / metresPerPixel));
  return Math.max(info.minzoom, Math.min(info.maxzoom, z));
}

export function tileUrl(info, z, x, y) {
  return info.url.replace('{z}', z).replace('{x}', x).replace('{y}', y);
}

// Tiles by z/x/y, the oldest dropped beyond `size`; make() builds (and starts loading) one.
export class TileCache {
  constructor(size) {
    this.size = size;
    this.map = new Map();
  }
  get(z, x, y, make) {
    const key = `${z}/${x}/${y}`;
    let t = this.map.get(key);
    if (!t) {
      t = make();
      this.map.set(key, t);
      if (this.map.size > this.size) this.map.delete(this.map.keys().next().value);
    }
    return t;
  }
}

// Draw every tile of zoom z that covers the w x h screen; picture(x, y) is what to draw for a
// tile (null while it loads or after it failed). toScreen(e, n) and fromScreen(x, y) are the
// map's, frame its LocalFrame. Returns how many were drawn: none when more than maxTiles
// would be needed (the zoom is too far out for the file).
export function drawTiles(ctx, frame, z, w, h, toScreen, fromScreen, maxTiles, picture) {
  const f = frame;
  const [e0, n0] = fromScreen(0, 0), [e1, n1] = fromScreen(w, h);
  const [latN, lonW] = f.toLatLon(e0, n0), [latS, lonE] = f.toLatLon(e1, n1);
  const x0 = Math.floor(lonToTileX(lonW, z)), x1 = Math.floor(lonToTileX(lonE, z));
  const y0 = Math.floor(latToTileY(latN, z)), y1 = Math.floor(latToTileY(latS, z));
  if ((x1 - x0 + 1) * (y1 - y0 + 1) > maxTiles) return 0;
  const n = 2 ** z;
  let drawn = 0;
  for (let x = Math.max(0, x0); x <= Math.min(n - 1, x1); x++) {
    for (let y = Math.max(0, y0); y <= Math.min(n - 1, y1); y++) {
      const pic = picture(x, y);
      if (!pic) continue;
      const [ea, na] = f.toENU(tileYToLat(y, z), tileXToLon(x, z));
      const [eb, nb] = f.toENU(tileYToLat(y + 1, z), tileXToLon(x + 1, z));
      const [sx0, sy0] = toScreen(ea, na), [sx1, sy1] = toScreen(eb, nb);
      // half a pixel of overlap hides the seams between neighbours
      ctx.drawImage(pic, sx0 - 0.5, sy0 - 0.5, sx1 - sx0 + 1, sy1 - sy0 + 1);
      drawn++;
    }
  }
  return drawn;
}
