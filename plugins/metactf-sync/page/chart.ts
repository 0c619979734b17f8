import type { PageShell, SafeHtml } from "../../../core/ctf/service.js";

const WIDTH = 640;
const HEIGHT = 220;
const PAD = { top: 16, right: 12, bottom: 36, left: 40 };

/**
 * Flash CTF participation per month as an SVG bar chart, drawn on the server (no script needed): one bar per
 * month with its count above it, a labelled axis, and a <title> per bar for screen readers and hover.
 */
export function participationChart(html: PageShell["html"], months: Array<{ month: string; players: number }>): SafeHtml {
  if (months.length === 0) return html`<p class="metactf-empty">No Flash CTF results synced yet.</p>`;
  const max = Math.max(1, ...months.map((m) => m.players));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / months.length;
  const barW = Math.max(4, Math.min(48, slot * 0.6));
  const bars = months.map((m, i) => {
    const h = (m.players / max) * plotH;
    const x = PAD.left + i * slot + (slot - barW) / 2;
    const y = PAD.top + plotH - h;
    const cx = x + barW / 2;
    return html`<g><title>${m.month}: ${m.players} competitor(s) played</title>
<rect class="metactf-bar" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}"></rect>
<text class="metactf-value" x="${cx.toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle">${m.players}</text>
<text class="metactf-tick" x="${cx.toFixed(1)}" y="${HEIGHT - PAD.bottom + 16}" text-anchor="middle">${m.month}</text></g>`;
  });
  return html`<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="metactf-chart-title" class="metactf-chart-svg">
<title id="metactf-chart-title">Competitors who played each month's Flash CTF</title>
<line class="metactf-axis" x1="${PAD.left}" y1="${PAD.top + plotH}" x2="${WIDTH - PAD.right}" y2="${PAD.top + plotH}"></line>
<line class="metactf-axis" x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${PAD.top + plotH}"></line>
<text class="metactf-tick" x="${PAD.left - 6}" y="${PAD.top + 4}" text-anchor="end">${max}</text>
<text class="metactf-tick" x="${PAD.left - 6}" y="${PAD.top + plotH}" text-anchor="end">0</text>
${bars}
</svg>`;
}
