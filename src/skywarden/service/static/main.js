// Console entry point: load config, site and history, then follow the WebSocket picture.
import { AlertPanel } from './alerts.js';
import { Basemap } from './basemap.js';
import { renderDetails } from './details.js';
import { Feed } from './feed.js';
import { Hillshade } from './hillshade.js';
import { fmt } from './format.js';
import { MapView } from './map.js';
import { AltitudeProfile } from './profile.js';
import { ReplayBar } from './replay.js';
import { SensorWatch } from './sensors.js';
import { LoginForm, Session } from './session.js';
import { AlertSound } from './sound.js';
import { renderLegend, shownLevel } from './style.js';
import { TrackTable } from './table.js';
import { View } from './view.js';

const $ = (id) => document.getElementById(id);
const state = { picture: null };
const view = new View(() => redraw());
const map = new MapView($('map'), view);
const profile = new AltitudeProfile($('profile'));
map.onCursor = (text) => { $('readout').textContent = text; };
const table = new TrackTable($('tracks'), view);
const session = new Session();
const loginForm = new LoginForm(session, $('login'));
const sound = new AlertSound($('mute'));
const alerts = new AlertPanel(
  $('alerts'), $('alert-count'), view, (msg) => console.warn(msg), session, sound,
  () => (state.picture ? state.picture.tracks : []));
const sensors = new SensorWatch(session, $('sensor-banner'), $('sensor-summary'),
  document.querySelector('#sensor-table tbody'), (rows) => {
    map.health = new Map(rows.map((r) => [r.id, r]));
    map.requestDraw();
  });

session.onChange((me) => {
  const local = !me || me.via === 'local';
  $('user').textContent = me ? (local ? 'view only (local)' : `${me.name} · ${me.role}`) : '';
  $('login-btn').classList.toggle('hidden', !local);
  $('logout-btn').classList.toggle('hidden', local);
  if (alerts.seen) alerts.update(alerts.last);
});
$('login-btn').addEventListener('click', () => loginForm.show());
const replay = new ReplayBar(session, $('replay-bar'), (tracks, trails) => {
  map.tracks = tracks;
  map.trails = trails;
  table.update(tracks);
  redraw();
}, () => { if (state.picture) { map.trails.clear(); onPicture(state.picture); } });
$('logout-btn').addEventListener('click', () => session.logout());

function redraw() {
  map.draw();
  table.render();
  const tracks = state.picture ? state.picture.tracks : [];
  profile.draw(map.tracks, map.site, view);
  renderDetails($('details'), tracks.find((t) => t.id === view.selected), view.selected);
  $('follow').setAttribute('aria-pressed', String(view.follow));
}

// Follow mode: the highest threat (alert before warning, then the soonest entry) stays centred.
const RANK = { alert: 3, warning: 2, watch: 1, none: 0 };
function followThreat(tracks) {
  if (!view.follow) return;
  const top = tracks.filter((t) => t.confirmed && RANK[shownLevel(t)] >= 2).sort((a, b) =>
    RANK[shownLevel(b)] - RANK[shownLevel(a)]
    || (a.threat.time_to_enter_s ?? Infinity) - (b.threat.time_to_enter_s ?? Infinity))[0];
  if (top) { view.center = [top.enu[0], top.enu[1]]; view.selected = top.id; }
}

function toggleFollow() {
  view.follow = !view.follow;
  if (state.picture) followThreat(state.picture.tracks);  // centre now, not at the next picture
  view.save();
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
  alerts.update(picture.alerts);  // alerts stay live during a replay
  if (replay.active) return;
  appendTrails(picture);
  map.addBearings(picture.bearings || [], performance.now());
  map.tracks = picture.tracks;
  followThreat(picture.tracks);
  table.update(picture.tracks);
  $('clock').textContent = fmt.clock(picture.t);
  const confirmed = picture.tracks.filter((t) => t.confirmed).length;
  $('counts').textContent = `${confirmed} tracks · picture #${picture.seq}`;
  document.body.dataset.seq = String(picture.seq);
  redraw();
}

const getJSON = (path) => session.getJSON(path);

// Zones can be edited while the console runs: follow them from the API.
async function refreshZones() {
  try { map.site = { ...map.site, zones: await getJSON('/api/zones') }; redraw(); } catch (e) { /* next time */ }
}

async function start() {
  renderLegend($('legend'));
  await loginForm.ensure();
  const [config, site, history, health] = await Promise.all(
    [getJSON('/api/config'), getJSON('/api/site'), getJSON('/api/history'), getJSON('/api/health')]);
  map.setSite(site);
  try {
    const bm = await getJSON('/api/basemap');
    if (bm.dem) map.hillshade = new Hillshade(bm.dem, map.frame, () => map.requestDraw());
    if (bm.available) {
      map.basemap = new Basemap(bm, map.frame, () => map.requestDraw());
      $('attribution').textContent = `basemap: ${bm.name}${bm.attribution ? ' · ' + bm.attribution : ''}`;
    }
  } catch (e) { /* no basemap: the grid */ }
  $('site-name').textContent = site.name;
  $('mode').textContent = health.mode;
  for (const [id, pts] of Object.entries(history.trails)) map.trails.set(id, pts);
  window.addEventListener('keydown', (ev) => {
    if (ev.target.tagName === 'INPUT') return;
    if (ev.key === 'm') sound.toggle();
    else if (ev.key === 'r') { if (replay.active) replay.live(); else replay.open(); }
    else if (ev.key === '+' || ev.key === '=') view.zoom(0.8);
    else if (ev.key === '-') view.zoom(1.25);
    else if (ev.key === 'c') view.recentre();
    else if (ev.key === 'f') toggleFollow();
    else if (ev.key === 'Escape') view.select(null);
  });
  new Feed({ onPicture, banner: $('feed-banner'), staleAfterS: config.stale_after_s }).connect();
  $('follow').addEventListener('click', toggleFollow);
  sensors.start();
  setInterval(refreshZones, 10000);
  redraw();
}

start().catch((err) => {
  $('feed-banner').textContent = `Console failed to start: ${err.message}`;
  $('feed-banner').classList.remove('hidden');
});

window.skywarden = { map, view };  // for the curious (and the browser tests)
