// The curse plot: error against k on a log scale, in plain SVG. The points are also written
// to the SVG's data-points attribute (JSON), so that tests and readers can take the numbers.

const NS = 'http://www.w3.org/2000/svg';
const W = 620;
const H = 320;
const M = { left: 64, right: 16, top: 28, bottom: 42 };

function el(name, attrs, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Draws `curse` ({ t, K, Kref, points: [{ k, error }] }) into the <svg> `svg`. */
export function drawCurse(svg, curse) {
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('data-points', JSON.stringify(curse.points));
  const pts = curse.points.filter((p) => Number.isFinite(p.error));
  const floor = 1e-17; // an exact zero is drawn at the floor
  const logs = pts.map((p) => Math.log10(Math.max(p.error, floor)));
  const lo = Math.floor(Math.min(...logs, 0));
  const hi = Math.ceil(Math.max(...logs, lo + 1));
  const k0 = curse.t + 1;
  const k1 = Math.max(curse.K, k0 + 1);
  const x = (k) => M.left + ((k - k0) / (k1 - k0)) * (W - M.left - M.right);
  const y = (l) => M.top + ((hi - l) / (hi - lo)) * (H - M.top - M.bottom);
  svg.append(el('rect', { x: 0, y: 0, width: W, height: H, fill: '#fff' }));
  const step = Math.max(1, Math.ceil((hi - lo) / 8));
  for (let l = lo; l <= hi; l += step) {
    svg.append(el('line', { x1: M.left, x2: W - M.right, y1: y(l), y2: y(l), stroke: '#e3e3e3' }));
    svg.append(el('text', { x: M.left - 6, y: y(l) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#444' }, `1e${l}`));
  }
  for (const k of [k0, Math.round((k0 + k1) / 2), k1]) {
    svg.append(el('text', { x: x(k), y: H - M.bottom + 16, 'text-anchor': 'middle', 'font-size': 11, fill: '#444' }, String(k)));
  }
  svg.append(el('line', { x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom, stroke: '#888' }));
  svg.append(el('line', { x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom, stroke: '#888' }));
  svg.append(el('text', { x: (W + M.left) / 2, y: H - 8, 'text-anchor': 'middle', 'font-size': 12 }, 'iteration k'));
  svg.append(el('text', { x: M.left, y: 16, 'font-size': 12 }, `‖∂x_k/∂θ − J*‖ (Frobenius), truncation t = ${curse.t}; J*: jacobianForward at K = ${curse.Kref}, t = 0`));
  const line = pts.map((p, i) => `${x(p.k).toFixed(2)},${y(logs[i]).toFixed(2)}`).join(' ');
  svg.append(el('polyline', { points: line, fill: 'none', stroke: '#1f6fb2', 'stroke-width': 2 }));
}
