/**
 * `certloop status --serve` page, redrawn from the server-sent `status` events and ticking every second between them.
 *
 * Each certificate is drawn on its own scale (its own lifetime, from not-before to not-after, widened to keep now in
 * view), so a 20 s client certificate and a 10-year root are both visible; its renewal point is marked, and shown
 * passed once now is beyond it; the certificate it replaced fades out beside it for a while. Below: the events
 * (renewals, state changes) newest first, and the relay's clusters (replicas, leader, stream, last heartbeat) when the
 * server knows them. Above the rows, the CA rotations (phase, convergence, leaves under A). Bring-your-own rows are marked. One column on a phone (390 px), a grid from 720 px.
 * Self-contained (no assets).
 */

const STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --due: #b08800; --bad: #cf222e; --muted: #6e7781; --now: #0969da; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 16px; }
h1 { font-size: 18px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 20px 0 6px; }
#meta { color: var(--muted); margin-bottom: 12px; }
.row { display: grid; grid-template-columns: 1fr auto; grid-template-areas: "name state" "lane lane" "facts facts";
  gap: 2px 8px; padding: 8px 0; border-bottom: 1px solid #8883; }
@media (min-width: 720px) {
  .row { grid-template-columns: 230px 124px 1fr; grid-template-areas: "name state lane" "name state facts"; }
}
.name { grid-area: name; min-width: 0; } .name b { display: block; }
.name small { color: var(--muted); overflow-wrap: anywhere; }
.tag { font-size: 11px; border: 1px solid currentColor; border-radius: 8px; padding: 0 5px; margin-left: 4px; color: #0a7ea4; }
.state { grid-area: state; align-self: start; white-space: nowrap; font-weight: 600; border-radius: 10px; padding: 2px 8px; text-align: center; color: #fff; }
.state.ok { background: var(--ok); } .state.renewal-due, .state.not-yet-valid { background: var(--due); }
.state.expired, .state.invalid, .state.missing { background: var(--bad); }
.lane { grid-area: lane; position: relative; height: 26px; background: #8881; border-radius: 4px; }
.bar { position: absolute; top: 7px; height: 12px; border-radius: 3px; background: var(--ok); min-width: 3px; }
.bar.renewal-due, .bar.not-yet-valid { background: var(--due); } .bar.expired, .bar.invalid { background: var(--bad); }
.bar.previous { top: 2px; height: 4px; background: var(--muted); transition: opacity 1s; }
.renew { position: absolute; top: 2px; height: 22px; width: 3px; margin-left: -1px; background: var(--due); }
.renew.passed { background: var(--bad); }
.now { position: absolute; top: -2px; bottom: -2px; width: 2px; background: var(--now); }
.facts { grid-area: facts; font-size: 12px; color: var(--muted); overflow-wrap: anywhere; }
.facts .passed { color: var(--bad); font-weight: 600; }
#events { list-style: none; padding: 0; margin: 0; font-size: 13px; max-height: 220px; overflow: auto; }
#events li { padding: 2px 0; border-bottom: 1px dotted #8883; } #events time { color: var(--muted); margin-right: 6px; }
#events .renewed { color: var(--ok); }
#clusters-section { overflow-x: auto; } table { border-collapse: collapse; font-size: 13px; width: 100%; } td, th { text-align: left; padding: 3px 6px; border-bottom: 1px solid #8883; }
.yes { color: var(--ok); font-weight: 600; } .no { color: var(--bad); font-weight: 600; }
#rotations { margin-bottom: 14px; } #rotations div { padding: 4px 8px; border-left: 4px solid var(--due); margin: 4px 0; }
#rotations div.done { border-color: var(--ok); color: var(--muted); }
#legend { margin-top: 12px; font-size: 12px; color: var(--muted); }
`;

const SCRIPT = `
const rowsEl = document.getElementById('rows');
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
const eventsEl = document.getElementById('events');
const clustersEl = document.getElementById('clusters');
let last; let receivedAt = 0;
function span(s) {
  const a = Math.abs(s), sign = s < 0 ? '-' : '';
  if (a >= 2 * 365 * 86400) return sign + Math.floor(a / (365 * 86400)) + 'y';
  if (a >= 86400) return sign + Math.floor(a / 86400) + 'd';
  if (a >= 3600) return sign + Math.floor(a / 3600) + 'h';
  if (a >= 60) return sign + Math.floor(a / 60) + 'm';
  return sign + Math.floor(a) + 's';
}
const rel = (t, now) => { const s = Math.round((t - now) / 1000); return s === 0 ? 'now' : s > 0 ? 'in ' + span(s) : span(-s) + ' ago'; };
function when(t, lifetime) {
  const iso = new Date(t).toISOString();
  return lifetime < 2 * 86400000 ? iso.slice(11, 19) + 'Z' : iso.slice(0, 10);
}
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function lane(s, now) {
  const lane = el('div', 'lane');
  const nb = Date.parse(s.notBefore), na = Date.parse(s.notAfter);
  const prev = s.replaced && Date.parse(s.replaced.replacedAt) > now - (na - nb) ? s.replaced : undefined;
  // the certificate's own scale: its lifetime, widened to keep now (and the certificate it replaced) in view
  let start = Math.min(nb, now, prev ? Date.parse(prev.notBefore) : nb);
  let end = Math.max(na, now);
  const pad = (end - start) * 0.03; start -= pad; end += pad;
  const pos = (t) => (((t - start) / (end - start)) * 100).toFixed(3) + '%';
  const width = (a, b) => (((b - a) / (end - start)) * 100).toFixed(3) + '%';
  if (prev) {
    const p = el('div', 'bar previous');
    p.style.left = pos(Date.parse(prev.notBefore)); p.style.width = width(Date.parse(prev.notBefore), Date.parse(prev.notAfter));
    // fades out over the replaced certificate's remaining life
    const faded = Math.min(1, (now - Date.parse(prev.replacedAt)) / Math.max(1000, Date.parse(prev.notAfter) - Date.parse(prev.replacedAt)));
    p.style.opacity = String(Math.max(0.15, 0.8 - 0.65 * faded));
    p.title = 'replaced ' + prev.serialNumber + ' at ' + prev.replacedAt;
    p.dataset.serial = prev.serialNumber;
    lane.append(p);
  }
  const bar = el('div', 'bar ' + s.state);
  bar.style.left = pos(nb); bar.style.width = width(nb, na);
  bar.title = (s.subject || '') + ' ' + s.notBefore + ' .. ' + s.notAfter;
  lane.append(bar);
  if (s.renewAt) {
    const r = el('div', 'renew' + (Date.parse(s.renewAt) <= now ? ' passed' : ''));
    r.style.left = pos(Date.parse(s.renewAt)); r.title = 'renewal point ' + s.renewAt;
    lane.append(r);
  }
  const nowLine = el('div', 'now'); nowLine.style.left = pos(now); nowLine.title = 'now';
  lane.append(nowLine);
  return lane;
}
function facts(s, now) {
  const f = el('div', 'facts');
  if (!(s.notBefore && s.notAfter)) {
    f.textContent = s.state === 'missing' ? 'no such secret' : s.role === 'token' ? 'bootstrap token' : (s.errorCode || s.state);
    return f;
  }
  const life = Date.parse(s.notAfter) - Date.parse(s.notBefore);
  f.append((s.subject || '') + ' \\u00b7 serial ' + (s.serialNumber || '').slice(0, 12) + ' \\u00b7 lifetime ' + span(life / 1000) +
    ' \\u00b7 not after ' + when(Date.parse(s.notAfter), life) + ' (' + rel(Date.parse(s.notAfter), now) + ')');
  if (s.renewAt) {
    const t = Date.parse(s.renewAt);
    f.append(' \\u00b7 ');
    f.append(t <= now ? el('span', 'passed', 'renewal point passed ' + rel(t, now)) : 'renews ' + rel(t, now));
  }
  if (s.replaced) f.append(' \\u00b7 replaced ' + s.replaced.serialNumber.slice(0, 8) + ' ' + rel(Date.parse(s.replaced.replacedAt), now));
  return f;
}
function render() {
  if (!last) return;
  const p = last;
  renderRotations(p.rotations);
  const now = Date.parse(p.now) + (Date.now() - receivedAt);
  rowsEl.replaceChildren();
  for (const s of p.secrets) {
    const row = el('div', 'row');
    row.dataset.secret = s.name; row.dataset.state = s.state; row.dataset.serial = s.serialNumber || '';
    const name = el('div', 'name');
    const title = el('b', '', s.role);
    if (!s.managed && s.state !== 'missing') title.append(el('span', 'tag', 'bring-your-own'));
    name.append(title, el('small', '', s.name));
    row.append(name, el('div', 'state ' + s.state, s.state));
    row.append(s.notBefore && s.notAfter ? lane(s, now) : el('div', 'lane'), facts(s, now));
    rowsEl.append(row);
  }
  eventsEl.replaceChildren();
  for (const e of p.events || []) {
    const li = el('li', e.kind);
    li.append(el('time', '', e.at.slice(11, 19) + 'Z'), e.secret + ' ' + e.text);
    eventsEl.append(li);
  }
  if (!(p.events || []).length) eventsEl.append(el('li', '', 'nothing yet: renewals and state changes show here as they happen'));
  document.getElementById('clusters-section').hidden = !p.clusters;
  clustersEl.replaceChildren();
  for (const c of p.clusters || []) {
    for (const r of c.replicas) {
      const tr = el('tr');
      tr.dataset.cluster = c.cluster; tr.dataset.replica = r.name;
      tr.append(el('td', '', c.cluster + (c.managed ? '' : ' (bring-your-own)')), el('td', '', r.name + (r.leader ? ' \\u2605 leader' : '')),
        el('td', r.alive ? 'yes' : 'no', r.alive ? 'running' : 'stopped'), el('td', r.connected ? 'yes' : 'no', r.connected ? 'connected' : 'not connected'),
        el('td', '', r.lastHeartbeat ? rel(Date.parse(r.lastHeartbeat), now) : '-'));
      clustersEl.append(tr);
    }
  }
  const bad = p.secrets.filter((s) => ['expired', 'invalid', 'missing', 'not-yet-valid'].includes(s.state)).length;
  metaEl.textContent = p.store + ' \\u00b7 now ' + new Date(now).toISOString().slice(0, 19).replace('T', ' ') + 'Z \\u00b7 ' +
    (bad ? bad + ' need attention' : 'all usable');
  document.body.dataset.updated = p.now;
  document.title = (bad ? '\\u26a0 ' : '') + 'certloop status';
}
const source = new EventSource('/events');
source.addEventListener('status', (e) => { last = JSON.parse(e.data); receivedAt = Date.now(); render(); });
source.onerror = () => { metaEl.textContent += ' \\u00b7 reconnecting'; };
setInterval(render, 1000);
`;

/** The page's HTML. */
export function statusPage(): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>certloop status</title><meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style></head>
<body>
<h1>certloop status</h1>
<div id="meta">connecting…</div>
<div id="rotations"></div>
<div id="rows"></div>
<div id="legend">each bar: one certificate on its own scale (not before to not after) · yellow mark: renewal point at the grace ratio (red once passed) · blue line: now · thin grey bar: the certificate it replaced, fading out</div>
<h2>Events</h2>
<ol id="events"></ol>
<section id="clusters-section" hidden>
<h2>Clusters</h2>
<table><thead><tr><th>cluster</th><th>replica</th><th>process</th><th>relay stream</th><th>last heartbeat</th></tr></thead><tbody id="clusters"></tbody></table>
</section>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
