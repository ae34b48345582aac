// The live feed: /ws/picture with reconnect, and the feed-lost banner with the age of the
// last update (tar1090's #update_error). Every message is a whole picture: replace, never merge.
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
      if (msg.type !== 'picture') return;
      this.lastRx = performance.now();
      this.onPicture(msg);
      this.checkStale();
    };
    ws.onclose = () => {
      this.open = false;
      this.checkStale();
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 10000);
    };
    this.ws = ws;
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
