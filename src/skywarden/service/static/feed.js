// The live feed: /ws/picture with reconnect, and the feed-lost banner with the age of the
// last update (tar1090's #update_error). The server sends a whole picture first (and again
// whenever this client fell behind), then deltas: the tracks that changed, the ids that went
// away, the alert list. A delta applies only to the picture it names (base_seq); anything
// else means a lost message, so reconnect and start over from a fresh picture.
import { fmt } from './format.js';

export class Feed {
  constructor({ onPicture, banner, staleAfterS }) {
    this.onPicture = onPicture;
    this.banner = banner;
    this.staleAfterS = staleAfterS;
    this.lastRx = null;       // browser time (ms) of the last picture
    this.open = false;
    this.retryMs = 500;
    this.started = performance.now();
    setInterval(() => this.checkStale(), 500);
  }
  connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/ws/picture`);
    ws.onopen = () => { this.open = true; this.retryMs = 500; };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      let picture;
      if (msg.type === 'picture') {
        picture = msg;
      } else if (msg.type === 'delta') {
        picture = this.applyDelta(msg);
        if (picture === null) { ws.close(); return; }
      } else {
        return;
      }
      this.picture = picture;
      this.lastRx = performance.now();
      this.onPicture(picture);
      this.checkStale();
    };
    ws.onclose = () => {
      this.open = false;
      this.picture = null;
      this.checkStale();
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 10000);
    };
    this.ws = ws;
  }
  applyDelta(msg) {
    const base = this.picture;
    if (!base || base.seq !== msg.base_seq) return null;
    const tracks = new Map(base.tracks.map((tr) => [tr.id, tr]));
    for (const tr of msg.upsert) tracks.set(tr.id, tr);
    for (const id of msg.remove) tracks.delete(id);
    return {
      ...base, type: 'picture', resync: false, seq: msg.seq, t: msg.t, wall_t: msg.wall_t,
      tracks: [...tracks.values()], alerts: msg.alerts, bearings: msg.bearings || [],
    };
  }
  checkStale() {
    const now = performance.now();
    const ageS = ((this.lastRx ?? this.started) - now) / -1000;
    let text = null;
    if (!this.open) text = 'Feed lost: connection to the server closed';
    else if (ageS > this.staleAfterS) text = 'Feed lost: no update';
    if (text && (this.lastRx !== null || ageS > this.staleAfterS)) {
      const since = this.lastRx === null ? 'no picture received yet' : `last update ${fmt.age(ageS)} ago`;
      this.banner.textContent = `${text} (${since}); reconnecting…`;
      this.banner.classList.remove('hidden');
      document.body.dataset.feed = 'lost';
    } else {
      this.banner.classList.add('hidden');
      document.body.dataset.feed = 'ok';
    }
  }
}
