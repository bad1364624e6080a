/**
 * `certloop status --serve` page: every secret's validity window as a bar on one time axis, its renewal point,
 * a line for now, and its state; above them, the CA rotations (phase, convergence, leaves under A); redrawn from
 * the server-sent `status` events. Self-contained (no assets).
 */

const STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --due: #b08800; --bad: #cf222e; --muted: #6e7781; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; }
h1 { font-size: 18px; margin: 0 0 4px; }
#meta { color: var(--muted); margin-bottom: 16px; }
#rows { display: grid; grid-template-columns: 220px 110px 1fr; gap: 10px 12px; align-items: center; }
.name b { display: block; } .name small { color: var(--muted); }
.state { font-weight: 600; border-radius: 10px; padding: 2px 8px; text-align: center; color: #fff; }
.state.ok { background: var(--ok); } .state.renewal-due, .state.not-yet-valid { background: var(--due); }
.state.expired, .state.invalid, .state.missing { background: var(--bad); }
.lane { position: relative; height: 34px; border-bottom: 1px dashed #8884; }
.bar { position: absolute; top: 6px; height: 12px; border-radius: 3px; background: var(--ok); opacity: .85; }
.bar.renewal-due, .bar.not-yet-valid { background: var(--due); } .bar.expired, .bar.invalid { background: var(--bad); }
.renew { position: absolute; top: 2px; height: 20px; width: 2px; background: var(--due); }
.now { position: absolute; top: 0; bottom: 0; width: 2px; background: #0969da; }
.facts { position: absolute; top: 19px; left: 6px; font-size: 11px; color: var(--muted); white-space: nowrap; }
#axis { position: relative; height: 20px; margin-left: 354px; font-size: 11px; color: var(--muted); }
#axis span { position: absolute; transform: translateX(-50%); white-space: nowrap; }
#legend { margin-top: 12px; font-size: 12px; color: var(--muted); }
#rotations { margin-bottom: 14px; } #rotations div { padding: 4px 8px; border-left: 4px solid var(--due); margin: 4px 0; }
#rotations div.done { border-color: var(--ok); color: var(--muted); }
`;

const SCRIPT = `
const rowsEl = document.getElementById('rows');
const axisEl = document.getElementById('axis');
const metaEl = document.getElementById('meta');
const rotationsEl = document.getElementById('rotations');
function renderRotations(list) {
  rotationsEl.replaceChildren();
  for (const r of list || []) {
    const line = el('div', r.underWay ? 'rotation' : 'rotation done',
      r.ca + ' CA rotation ' + r.id.slice(0, 8) + ': ' + r.phase + ' since ' + r.since.slice(0, 19).replace('T', ' ') + 'Z' +
      (r.convergence ? ' \u00b7 ' + r.convergence : '') +
      (r.liveUnderOld !== undefined ? ' \u00b7 ' + r.liveUnderOld + ' leaves under A' : ''));
    line.dataset.ca = r.ca;
    line.dataset.phase = r.phase;
    rotationsEl.append(line);
  }
}
const day = (t) => new Date(t).toISOString().slice(0, 10);
function left(s) {
  const a = Math.abs(s), sign = s < 0 ? '-' : '';
  if (a >= 86400) return sign + Math.floor(a / 86400) + 'd';
  if (a >= 3600) return sign + Math.floor(a / 3600) + 'h';
  if (a >= 60) return sign + Math.floor(a / 60) + 'm';
  return sign + Math.floor(a) + 's';
}
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function render(p) {
  renderRotations(p.rotations);
  const now = Date.parse(p.now);
  const timed = p.secrets.filter((s) => s.notBefore && s.notAfter);
  let start = Math.min(now, ...timed.map((s) => Date.parse(s.notBefore)));
  let end = Math.max(now, ...timed.map((s) => Date.parse(s.notAfter)));
  if (!(end > start)) end = start + 86400000;
  const pad = (end - start) * 0.02; start -= pad; end += pad;
  const pos = (t) => (((t - start) / (end - start)) * 100).toFixed(3) + '%';
  rowsEl.replaceChildren();
  for (const s of p.secrets) {
    const row = el('div', 'name');
    row.append(el('b', '', s.role), el('small', '', s.name + (s.managed ? '' : s.state === 'missing' ? '' : ' (bring-your-own)')));
    const state = el('div', 'state ' + s.state, s.state);
    const lane = el('div', 'lane');
    for (const e of [row, state, lane]) { e.dataset.secret = s.name; }
    lane.dataset.state = s.state;
    lane.dataset.serial = s.serialNumber || '';
    if (s.notBefore && s.notAfter) {
      const bar = el('div', 'bar ' + s.state);
      bar.style.left = pos(Date.parse(s.notBefore));
      bar.style.width = (((Date.parse(s.notAfter) - Date.parse(s.notBefore)) / (end - start)) * 100).toFixed(3) + '%';
      bar.title = s.subject + ' ' + s.notBefore + ' .. ' + s.notAfter;
      lane.append(bar);
      if (s.renewAt) { const r = el('div', 'renew'); r.style.left = pos(Date.parse(s.renewAt)); r.title = 'renewal ' + s.renewAt; lane.append(r); }
      lane.append(el('div', 'facts', (s.subject || '') + '  serial ' + (s.serialNumber || '').slice(0, 16) +
        '  not after ' + day(s.notAfter) + (s.renewAt ? '  renew ' + day(s.renewAt) : '') + '  left ' + left(s.secondsLeft)));
    } else {
      lane.append(el('div', 'facts', s.state === 'missing' ? 'no such secret' : s.role === 'token' ? 'bootstrap token' : (s.errorCode || s.state)));
    }
    const nowLine = el('div', 'now'); nowLine.style.left = pos(now); lane.append(nowLine);
    rowsEl.append(row, state, lane);
  }
  axisEl.replaceChildren();
  for (let i = 0; i <= 4; i++) {
    const t = start + ((end - start) * i) / 4;
    const tick = el('span', '', day(t)); tick.style.left = (i * 25) + '%';
    tick.style.transform = i === 0 ? 'none' : i === 4 ? 'translateX(-100%)' : 'translateX(-50%)';
    axisEl.append(tick);
  }
  const bad = p.secrets.filter((s) => ['expired', 'invalid', 'missing', 'not-yet-valid'].includes(s.state)).length;
  metaEl.textContent = p.store + ' \\u00b7 now ' + p.now.slice(0, 19).replace('T', ' ') + 'Z \\u00b7 ' +
    (bad ? bad + ' need attention' : 'all usable');
  document.body.dataset.updated = p.now;
  document.title = (bad ? '\\u26a0 ' : '') + 'certloop status';
}
const source = new EventSource('/events');
source.addEventListener('status', (e) => render(JSON.parse(e.data)));
source.onerror = () => { metaEl.textContent += ' \\u00b7 reconnecting'; };
`;

/** The page's HTML. */
export function statusPage(): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>certloop status</title><meta name="viewport" content="width=device-width">
<style>${STYLE}</style></head>
<body>
<h1>certloop status</h1>
<div id="meta">connecting…</div>
<div id="rotations"></div>
<div id="rows"></div>
<div id="axis"></div>
<div id="legend">bar: validity (not before to not after) · yellow mark: renewal time at the grace ratio · blue line: now</div>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
