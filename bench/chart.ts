/**
 * Draws the benchmark results as one SVG: throughput (ops/s) and p99 latency
 * per workload, one bar colour per system. Hand-written SVG keeps the bench
 * free of a plotting dependency; the file opens in any browser.
 */
import type { RunResult } from './loadgen.ts';

const COLORS: Record<string, string> = { dynamo: '#2f6fdf', etcd: '#e0782b', echo: '#7a7a7a' };
const FALLBACK = ['#3b9e5a', '#a54fc9', '#c23b3b'];

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function panel(
  results: RunResult[],
  value: (r: RunResult) => number,
  title: string,
  unit: string,
  x0: number,
  y0: number,
  w: number,
  h: number,
): string {
  const groups = [...new Set(results.map((r) => `${r.workload}/${r.distribution}`))];
  const systems = [...new Set(results.map((r) => r.system))];
  const max = niceMax(Math.max(...results.map(value)));
  const plotH = h - 60;
  const groupW = (w - 60) / groups.length;
  const barW = Math.min(40, (groupW - 20) / systems.length);
  const parts: string[] = [];
  parts.push(`<text x="${x0 + w / 2}" y="${y0 + 16}" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}</text>`);
  const base = y0 + 30 + plotH;
  for (let i = 0; i <= 4; i++) {
    const y = base - (plotH * i) / 4;
    parts.push(`<line x1="${x0 + 50}" x2="${x0 + w}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${x0 + 45}" y="${y + 4}" text-anchor="end" font-size="11">${((max * i) / 4).toLocaleString('en-US')}</text>`);
  }
  parts.push(`<text x="${x0 + 12}" y="${y0 + 30 + plotH / 2}" font-size="11" transform="rotate(-90 ${x0 + 12} ${y0 + 30 + plotH / 2})" text-anchor="middle">${escape(unit)}</text>`);
  groups.forEach((g, gi) => {
    const gx = x0 + 60 + gi * groupW;
    systems.forEach((s, si) => {
      const r = results.find((x) => `${x.workload}/${x.distribution}` === g && x.system === s);
      if (!r) return;
      const v = value(r);
      const bh = (plotH * v) / max;
      const x = gx + 10 + si * barW;
      const color = COLORS[s] ?? FALLBACK[si % FALLBACK.length];
      parts.push(`<rect x="${x}" y="${base - bh}" width="${barW - 4}" height="${bh}" fill="${color}"><title>${escape(`${s} ${g}: ${v.toFixed(1)} ${unit}`)}</title></rect>`);
      parts.push(`<text x="${x + (barW - 4) / 2}" y="${base - bh - 3}" text-anchor="middle" font-size="9">${v >= 100 ? v.toFixed(0) : v.toFixed(1)}</text>`);
    });
    parts.push(`<text x="${gx + groupW / 2}" y="${base + 16}" text-anchor="middle" font-size="12">${escape(g)}</text>`);
  });
  systems.forEach((s, si) => {
    const color = COLORS[s] ?? FALLBACK[si % FALLBACK.length];
    parts.push(`<rect x="${x0 + 60 + si * 90}" y="${base + 28}" width="12" height="12" fill="${color}"/>`);
    parts.push(`<text x="${x0 + 76 + si * 90}" y="${base + 38}" font-size="12">${escape(s)}</text>`);
  });
  return parts.join('\n');
}

/** An SVG document with a throughput panel above a p99 latency panel. */
export function renderChart(results: RunResult[], subtitle: string): string {
  const w = 900;
  const h = 320;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${2 * h + 40}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${w / 2}" y="20" text-anchor="middle" font-size="12" fill="#555">${escape(subtitle)}</text>`,
    panel(results, (r) => r.opsPerSec, 'Throughput (higher is better)', 'ops/s', 0, 30, w, h),
    panel(results, (r) => r.all.p99Ms, 'p99 latency (lower is better)', 'ms', 0, 30 + h, w, h),
    `</svg>`,
  ].join('\n');
}
