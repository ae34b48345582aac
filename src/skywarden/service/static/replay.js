// The replay bar: scrub and play the journaled picture (GET /api/replay) on the map and in
// the table, while the alert panel stays live so nothing new is missed. "Live" goes back.
// Frames come in windows of CHUNK_S seconds, one frame per second; trails are rebuilt from
// the frames of the window already played.
import { fmt } from './format.js';

const CHUNK_S = 60;
const TRAIL_S = 60;

export class ReplayBar {
  constructor(session, root, onFrame, onLive) {
    this.session = session;
    this.root = root;
    this.onFrame = onFrame;     // (tracks, trails) => void
    this.onLive = onLive;
    this.active = false;
    this.frames = [];           // the loaded window, oldest first
    this.timer = null;
    this.$ = (sel) => root.querySelector(sel);
    this.slider = this.$('input[type=range]');
    this.$('[data-act=open]').addEventListener('click', () => this.open());
    this.$('[data-act=live]').addEventListener('click', () => this.live());
    this.$('[data-act=play]').addEventListener('click', () => this.togglePlay());
    this.slider.addEventListener('input', () => this.seek(Number(this.slider.value)));
  }
  async open() {
    const r = await this.session.api('/api/replay/range');
    if (!r.ok) {
      this.$('.status').textContent = r.status === 404 ? 'no journal to replay' : `HTTP ${r.status}`;
      return;
    }
    const range = await r.json();
    this.slider.min = String(Math.floor(range.start));
    this.slider.max = String(Math.ceil(range.end));
    this.active = true;
    document.body.dataset.replay = 'on';
    this.root.classList.add('on');
    await this.seek(Math.max(range.start, range.end - 10));  // just behind live
  }
  live() {
    this.pause();
    this.active = false;
    this.frames = [];
    document.body.dataset.replay = 'off';
    this.root.classList.remove('on');
    this.$('.status').textContent = '';
    this.onLive();
  }
  togglePlay() { if (this.timer) this.pause(); else this.play(); }
  play() {
    this.$('[data-act=play]').textContent = 'Pause';
    this.timer = setInterval(() => {
      const t = Number(this.slider.value) + 1;
      if (t > Number(this.slider.max)) { this.pause(); return; }
      this.seek(t);
    }, 1000);
  }
  pause() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.$('[data-act=play]').textContent = 'Play';
  }
  async load(t) {
    const from = Math.max(Number(this.slider.min), t - TRAIL_S);
    const to = Math.min(Number(this.slider.max), from + TRAIL_S + CHUNK_S);
    const r = await this.session.api(`/api/replay?from=${from}&to=${to}&step=1`);
    if (!r.ok) throw new Error(`replay: HTTP ${r.status}`);
    this.frames = (await r.json()).frames;
  }
  async seek(t) {
    if (!this.active) return;
    const have = this.frames.length
      && t >= this.frames[0].t && t <= this.frames[this.frames.length - 1].t;
    if (!have) await this.load(t);
    this.slider.value = String(t);
    let k = 0;
    while (k + 1 < this.frames.length && this.frames[k + 1].t <= t) k += 1;
    const frame = this.frames[k];
    if (!frame) return;
    const trails = new Map();
    for (const f of this.frames.slice(0, k + 1)) {
      if (f.t < frame.t - TRAIL_S) continue;
      for (const tr of f.tracks) {
        if (!trails.has(tr.id)) trails.set(tr.id, []);
        trails.get(tr.id).push({ t: f.t, e: tr.enu[0], n: tr.enu[1], u: tr.enu[2], coasting: tr.coasting });
      }
    }
    this.$('.status').textContent = `replay ${fmt.clock(frame.t)} · ${frame.tracks.length} tracks`;
    document.body.dataset.replayT = String(frame.t);
    this.onFrame(frame.tracks, trails);
  }
}
