// Colours by class, symbols by threat level, and the legend that explains both.
export const CLASS_COLOURS = {
  drone: '#ff5a5f', drone_fixed_wing: '#ff9f40', bird: '#4cd964',
  aircraft: '#5ab0ff', unknown: '#c0c8d0',
};
export const THREAT_SYMBOLS = { none: 'circle', watch: 'square', warning: 'triangle', alert: 'diamond' };
const SYMBOL_GLYPH = { circle: '●', square: '■', triangle: '▲', diamond: '◆' };
export const ZONE_STYLE = {
  protected: { stroke: '#ff4d4f', fill: 'rgba(255,77,79,0.12)' },
  warning: { stroke: '#ffb020', fill: 'rgba(255,176,32,0.05)' },
};

export function classColour(cls) { return CLASS_COLOURS[cls] || CLASS_COLOURS.unknown; }
export function threatLevel(track) { return track.threat ? track.threat.level : 'none'; }
export function threatSymbol(track) { return THREAT_SYMBOLS[threatLevel(track)]; }

export function renderLegend(el) {
  const rows = [];
  for (const [cls, c] of Object.entries(CLASS_COLOURS)) {
    rows.push(`<div><i style="background:${c}"></i>${cls.replace(/_/g, ' ')}</div>`);
  }
  for (const [lvl, sym] of Object.entries(THREAT_SYMBOLS)) {
    rows.push(`<div><i class="sym">${SYMBOL_GLYPH[sym]}</i>threat: ${lvl}</div>`);
  }
  rows.push('<div><i class="sym">┅</i>coasting (no recent detection)</div>');
  rows.push('<div><i class="sym">⌂</i>sensor</div>');
  el.innerHTML = rows.join('');
}
