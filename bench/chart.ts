/** A bar chart as SVG text: one group per label, one bar per series, a reference line at 1.0. */
export interface ChartSeries {
  name: string;
  color: string;
  values: (number | undefined)[];
}

export function barChart(title: string, labels: string[], series: ChartSeries[], targets: (number | undefined)[] = []): string {
  const W = 1000;
  const H = 460;
  const left = 60;
  const top = 50;
  const bottom = 120;
  const plotH = H - top - bottom;
  const max = Math.max(1.2, ...series.flatMap((s) => s.values.filter((v): v is number => v !== undefined)), ...targets.filter((t): t is number => t !== undefined)) * 1.1;
  const groupW = (W - left - 20) / labels.length;
  const barW = Math.min(28, (groupW - 12) / series.length);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">${title}</text>`,
  ];
  for (let t = 0; t <= max; t += max > 4 ? 1 : 0.5) {
    out.push(`<line x1="${left}" x2="${W - 20}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/>`, `<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  }
  out.push(`<line x1="${left}" x2="${W - 20}" y1="${y(1)}" y2="${y(1)}" stroke="#444" stroke-dasharray="4 3"/>`, `<text x="${W - 22}" y="${y(1) - 4}" text-anchor="end">etcd = 1.0</text>`);
  labels.forEach((label, i) => {
    const x0 = left + i * groupW + 6;
    series.forEach((s, j) => {
      const v = s.values[i];
      if (v === undefined) return;
      const x = x0 + j * barW;
      out.push(`<rect x="${x}" y="${y(v)}" width="${barW - 2}" height="${y(0) - y(v)}" fill="${s.color}"><title>${s.name} ${label}: ${v.toFixed(2)}</title></rect>`);
      out.push(`<text x="${x + (barW - 2) / 2}" y="${y(v) - 3}" text-anchor="middle" font-size="9">${v.toFixed(2)}</text>`);
    });
    const t = targets[i];
    if (t !== undefined) out.push(`<line x1="${x0 - 2}" x2="${x0 + series.length * barW}" y1="${y(t)}" y2="${y(t)}" stroke="#d62728" stroke-width="2"/>`);
    out.push(`<text transform="translate(${x0 + (series.length * barW) / 2},${H - bottom + 14}) rotate(35)" font-size="11">${label}</text>`);
  });
  series.forEach((s, j) => {
    out.push(`<rect x="${left + j * 160}" y="${H - 24}" width="12" height="12" fill="${s.color}"/>`, `<text x="${left + j * 160 + 16}" y="${H - 14}">${s.name}</text>`);
  });
  out.push(`<line x1="${left + series.length * 160}" x2="${left + series.length * 160 + 14}" y1="${H - 18}" y2="${H - 18}" stroke="#d62728" stroke-width="2"/>`, `<text x="${left + series.length * 160 + 18}" y="${H - 14}">target</text>`);
  out.push('</svg>');
  return out.join('\n');
}
