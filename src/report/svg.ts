/** Dependency-free SVG charts for the reports: line charts, bar charts and the AU correlation graph. */

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) => (Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2));
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const FRAME: Frame = { width: 640, height: 360, left: 64, right: 16, top: 36, bottom: 48 };

function axes(title: string, xLabel: string, yLabel: string, yMin: number, yMax: number, f: Frame): string[] {
  const plotH = f.height - f.top - f.bottom;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${f.width / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<text x="${f.width / 2}" y="${f.height - 8}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text x="14" y="${f.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 14 ${f.top + plotH / 2})">${esc(yLabel)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = yMin + ((yMax - yMin) * i) / 4;
    const y = f.top + plotH - (plotH * i) / 4;
    out.push(`<line x1="${f.left}" y1="${y}" x2="${f.width - f.right}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${f.left - 6}" y="${y + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  return out;
}

export interface Series {
  name: string;
  points: [number, number][];
}

export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const f = FRAME;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  const [x0, x1] = [Math.min(...xs, 0), Math.max(...xs, 1)];
  const [y0, y1] = [Math.min(0, ...ys), Math.max(...ys, 1e-9) * 1.05];
  const sx = (x: number) => f.left + ((x - x0) / (x1 - x0 || 1)) * (f.width - f.left - f.right);
  const sy = (y: number) => f.top + (1 - (y - y0) / (y1 - y0 || 1)) * (f.height - f.top - f.bottom);
  const out = axes(title, xLabel, yLabel, y0, y1, f);
  for (let i = 0; i <= 4; i++) {
    const x = x0 + ((x1 - x0) * i) / 4;
    out.push(`<text x="${sx(x)}" y="${f.height - f.bottom + 16}" text-anchor="middle">${fmt(x)}</text>`);
  }
  series.forEach((s, i) => {
    const d = s.points.filter((p) => Number.isFinite(p[1])).map((p, k) => `${k ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join('');
    out.push(`<path d="${d}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.5"/>`,
      `<text x="${f.width - f.right - 4}" y="${f.top + 14 + 14 * i}" text-anchor="end" fill="${COLORS[i % COLORS.length]}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Grouped bars: one group per label, one bar per series. */
export function barChart(title: string, yLabel: string, labels: string[], series: { name: string; values: number[] }[], yMax = 1): string {
  const f = FRAME;
  const out = axes(title, '', yLabel, 0, yMax, f);
  const groupW = (f.width - f.left - f.right) / labels.length;
  const barW = (groupW * 0.8) / series.length;
  const plotH = f.height - f.top - f.bottom;
  labels.forEach((label, g) => {
    series.forEach((s, i) => {
      const v = Math.max(0, Math.min(yMax, s.values[g] ?? 0));
      const h = (plotH * v) / yMax;
      const x = f.left + g * groupW + groupW * 0.1 + i * barW;
      out.push(`<rect x="${x.toFixed(1)}" y="${(f.top + plotH - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[i % COLORS.length]}"><title>${esc(`${s.name} ${label}: ${fmt(v)}`)}</title></rect>`);
    });
    out.push(`<text x="${f.left + g * groupW + groupW / 2}" y="${f.height - f.bottom + 16}" text-anchor="middle">${esc(label)}</text>`);
  });
  series.forEach((s, i) => out.push(`<text x="${f.width - f.right - 4}" y="${f.top + 14 + 14 * i}" text-anchor="end" fill="${COLORS[i % COLORS.length]}">${esc(s.name)}</text>`));
  out.push('</svg>');
  return out.join('\n');
}

export interface GraphNode {
  x: number;
  y: number;
  label: string;
}

/**
 * Nodes at their (unit-square) positions over a faint face (dots at `backdrop` points), directed edges
 * i → j with width and opacity by weight in [0, 1].
 */
export function graphFigure(title: string, nodes: GraphNode[], edges: { from: number; to: number; weight: number }[], backdrop: [number, number][]): string {
  const size = 520;
  const pad = 30;
  const px = (v: number) => pad + v * (size - 2 * pad);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size + 24}" viewBox="0 0 ${size} ${size + 24}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${size / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<g transform="translate(0 12)">`,
  ];
  for (const [x, y] of backdrop) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${px(y).toFixed(1)}" r="1.6" fill="#bbb"/>`);
  for (const e of edges) {
    const a = nodes[e.from]!;
    const b = nodes[e.to]!;
    out.push(`<line x1="${px(a.x).toFixed(1)}" y1="${px(a.y).toFixed(1)}" x2="${px(b.x).toFixed(1)}" y2="${px(b.y).toFixed(1)}" stroke="#d62728" stroke-opacity="${(0.15 + 0.75 * e.weight).toFixed(2)}" stroke-width="${(0.5 + 3 * e.weight).toFixed(2)}"/>`);
  }
  for (const n of nodes) {
    out.push(`<circle cx="${px(n.x).toFixed(1)}" cy="${px(n.y).toFixed(1)}" r="5" fill="#1f77b4"/>`,
      `<text x="${(px(n.x) + 7).toFixed(1)}" y="${(px(n.y) - 6).toFixed(1)}">${esc(n.label)}</text>`);
  }
  out.push('</g>', '</svg>');
  return out.join('\n');
}
