// Console entry point: load config, site and history, then follow the WebSocket picture.
import { AlertPanel } from './alerts.js';
import { renderDetails } from './details.js';
import { Feed } from './feed.js';
import { fmt } from './format.js';
import { MapView } from './map.js';
import { renderLegend } from './style.js';
import { TrackTable } from './table.js';
import { View } from './view.js';

const $ = (id) => document.getElementById(id);
const state = { picture: null };
const view = new View(() => redraw());
const map = new MapView($('map'), view);
const table = new TrackTable($('tracks'), view);
const alerts = new AlertPanel($('alerts'), $('alert-count'), view, (msg) => console.warn(msg));

function redraw() {
  map.draw();
  table.render();
  const tracks = state.picture ? state.picture.tracks : [];
  renderDetails($('details'), tracks.find((t) => t.id === view.selected), view.selected);
}

function appendTrails(picture) {
  const live = new Set();
  for (const t of picture.tracks) {
    if (!t.confirmed) continue;
    live.add(t.id);
    const pts = map.trails.get(t.id) || [];
    const last = pts[pts.length - 1];
    if (!last || last.t < t.t) pts.push({ t: t.t, e: t.enu[0], n: t.enu[1], u: t.enu[2], coasting: t.coasting });
    while (pts.length && pts[0].t < t.t - 120) pts.shift();
    map.trails.set(t.id, pts);
  }
  for (const id of [...map.trails.keys()]) if (!live.has(id)) map.trails.delete(id);
}

function onPicture(picture) {
  state.picture = picture;
  appendTrails(picture);
  map.tracks = picture.tracks;
  table.update(picture.tracks);
  alerts.update(picture.alerts);
  $('clock').textContent = fmt.clock(picture.t);
  const confirmed = picture.tracks.filter((t) => t.confirmed).length;
  $('counts').textContent = `${confirmed} tracks · picture #${picture.seq}`;
  document.body.dataset.seq = String(picture.seq);
  redraw();
}

async function getJSON(path) {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

async function start() {
  renderLegend($('legend'));
  const [config, site, history, health] = await Promise.all(
    [getJSON('/api/config'), getJSON('/api/site'), getJSON('/api/history'), getJSON('/api/health')]);
  map.site = site;
  $('site-name').textContent = site.name;
  $('mode').textContent = health.mode;
  for (const [id, pts] of Object.entries(history.trails)) map.trails.set(id, pts);
  window.addEventListener('keydown', (ev) => {
    if (ev.target.tagName === 'INPUT') return;
    if (ev.key === '+' || ev.key === '=') view.zoom(0.8);
    else if (ev.key === '-') view.zoom(1.25);
    else if (ev.key === 'c') view.recentre();
    else if (ev.key === 'Escape') view.select(null);
  });
  new Feed({ onPicture, banner: $('feed-banner'), staleAfterS: config.stale_after_s }).connect();
  redraw();
}

start().catch((err) => {
  $('feed-banner').textContent = `Console failed to start: ${err.message}`;
  $('feed-banner').classList.remove('hidden');
});
