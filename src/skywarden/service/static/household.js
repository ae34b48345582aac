// The household's warning page: polls /api/household with the token from the link's
// fragment (#token=...), shows one countdown, the direction of the threat and what to do,
// counts down between polls, and beeps and vibrates when the level rises (after the person
// allowed sound once: browsers require a tap before audio).
const $ = (id) => document.getElementById(id);
const tokenOf = () => new URLSearchParams(location.hash.slice(1)).get('token') || '';
let token = tokenOf();
window.addEventListener('hashchange', () => { token = tokenOf(); poll(); });
const RANK = { clear: 0, warning: 1, alert: 2 };
const STALE_S = 15;   // older than this, the page says the picture may be out of date
let last = null, lastRx = 0, level = 'clear', audio = null;

function beep(times) {
  if (!audio) return;
  for (let i = 0; i < times; i++) {
    const o = audio.createOscillator(), g = audio.createGain(), t0 = audio.currentTime + i * 0.35;
    o.frequency.value = 880; g.gain.setValueAtTime(0.3, t0); g.gain.setValueAtTime(0, t0 + 0.25);
    o.connect(g).connect(audio.destination); o.start(t0); o.stop(t0 + 0.3);
  }
}

function render() {
  if (!last) return;
  const elapsed = (performance.now() - lastRx) / 1000;
  document.body.dataset.level = last.level;
  $('message').textContent = last.message;
  $('action').textContent = last.level === 'clear' ? '' : last.action;
  if (last.time_to_zone_s == null) $('countdown').textContent = last.level === 'clear' ? 'All clear' : '—';
  else {
    const s = Math.max(0, Math.round(last.time_to_zone_s - elapsed));
    $('countdown').textContent = s <= 0 ? 'NOW' : `${s} s`;
  }
  if (last.bearing_deg != null) $('arrow').style.transform = `rotate(${last.bearing_deg}deg)`;
  const age = (last.picture_age_s || 0) + elapsed, stale = age > STALE_S;
  document.body.dataset.stale = stale ? '1' : '0';
  $('status').textContent = stale
    ? `The warning system has not updated for ${Math.round(age)} s: this may be out of date.`
    : `updated ${Math.round(elapsed)} s ago${last.others ? ` · ${last.others} more` : ''}`;
}

async function poll() {
  try {
    const r = await fetch('/api/household', { headers: { 'X-Household-Token': token }, cache: 'no-store' });
    if (r.status === 401) { $('status').textContent = 'This link is not valid: ask for a new one.'; $('message').textContent = ''; return; }
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    last = await r.json(); lastRx = performance.now();
    if (RANK[last.level] > RANK[level]) {
      beep(last.level === 'alert' ? 3 : 1);
      if (navigator.vibrate) navigator.vibrate(last.level === 'alert' ? [400, 200, 400, 200, 400] : [300]);
    }
    level = last.level;
    render();
  } catch (e) {
    $('status').textContent = `No connection to the warning system (${e.message}); retrying…`;
  }
}

$('enable').addEventListener('click', () => {
  audio = audio || new AudioContext();
  beep(1);
  if (navigator.vibrate) navigator.vibrate(200);
  $('enable').classList.add('hidden'); $('enable').style.display = 'none';
});
setInterval(poll, 1000);
setInterval(render, 250);
poll();
