// The alert tone: a short two-pitch beep (WebAudio, no sound file) when a new alert is raised.
// Browsers only let a page make sound after a user gesture, so the audio context is created on
// the first click or key press. Mute state survives reloads (localStorage); 'm' toggles it.
export class AlertSound {
  constructor(button) {
    this.button = button;
    this.ctx = null;
    this.muted = localStorage.getItem('skywarden.muted') === '1';
    this.beeps = 0;
    const unlock = () => this.unlock();
    window.addEventListener('pointerdown', unlock);
    window.addEventListener('keydown', unlock);
    button.addEventListener('click', () => this.toggle());
    this.render();
  }
  unlock() {
    if (this.ctx) { if (this.ctx.state === 'suspended') this.ctx.resume(); return; }
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (Ctx) this.ctx = new Ctx();
  }
  toggle() {
    this.muted = !this.muted;
    localStorage.setItem('skywarden.muted', this.muted ? '1' : '0');
    this.render();
  }
  render() {
    this.button.textContent = this.muted ? 'Sound off' : 'Sound on';
    this.button.setAttribute('aria-pressed', this.muted ? 'false' : 'true');
    document.body.dataset.muted = this.muted ? 'yes' : 'no';
  }
  // One beep per call; counted (data-beeps) so a test can see it even without speakers.
  beep(level) {
    if (this.muted) return;
    this.beeps += 1;
    document.body.dataset.beeps = String(this.beeps);
    if (!this.ctx) return;
    const t0 = this.ctx.currentTime;
    const pitches = level === 'alert' ? [880, 660, 880] : [660, 880];
    pitches.forEach((f, i) => {
      const osc = this.ctx.createOscillator();
      const gain = this.ctx.createGain();
      osc.type = 'square';
      osc.frequency.value = f;
      gain.gain.setValueAtTime(0.0001, t0 + i * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.2, t0 + i * 0.18 + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.18 + 0.15);
      osc.connect(gain).connect(this.ctx.destination);
      osc.start(t0 + i * 0.18);
      osc.stop(t0 + i * 0.18 + 0.16);
    });
  }
}
