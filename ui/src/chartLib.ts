// Chart.js is loaded the first time a chart is drawn, as a chunk of its own: the counter never
// draws one, and the window starts lighter without it (memory after start, issue 21).
import type { Chart } from 'chart.js';

let loading: Promise<typeof Chart> | null = null;

/** Chart.js's `Chart`, with only the parts the reports use registered (the rest is tree-shaken). */
export function loadChart(): Promise<typeof Chart> {
  loading ??= import('chart.js').then((m) => {
    m.Chart.register(
      m.BarController,
      m.BarElement,
      m.LineController,
      m.LineElement,
      m.PointElement,
      m.CategoryScale,
      m.LinearScale,
      m.Tooltip,
      m.Legend,
    );
    return m.Chart;
  });
  return loading;
}
