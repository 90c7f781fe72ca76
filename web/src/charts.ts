import uPlot from 'uplot';

export interface SeriesSpec {
  label: string;
  color: string;
  dash?: number[];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  /** the y axis's label (units included), always drawn */
  yLabel?: string;
  series: SeriesSpec[];
  /** @defaultValue 240 */
  height?: number;
  /** keep at most this many points (live charts scroll) */
  maxPoints?: number;
  /** x values are unix seconds (time axis) */
  time?: boolean;
  /** x values are whole epochs: ticks at integers only, axis from 1 to at least this */
  epochs?: () => number | undefined;
  /** y on a log scale (values ≤ 0 are dropped) */
  log?: boolean;
  /** formats a value in the legend @defaultValue 4 significant digits */
  format?: (v: number) => string;
}

const sig = (v: number) =>
  Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : Number(v.toPrecision(4)).toString();

// Whole-number tick steps: an epoch axis never shows 1.5.
const WHOLE = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000];

/**
 * A uPlot line chart that grows point by point and fills its container's width. Its legend
 * always shows each series' latest value. The container carries `data-points` (the number of
 * x values drawn) so tests and assistive tools can read progress without pixels.
 */
export class LineChart {
  readonly el: HTMLElement;
  private readonly plot: uPlot;
  private readonly data: (number | null)[][];
  private readonly legend: HTMLElement;
  private readonly resize: ResizeObserver;

  constructor(private readonly o: LineChartOptions) {
    this.el = document.createElement('figure');
    this.el.className = 'chart';
    this.el.setAttribute('data-points', '0');
    const cap = document.createElement('figcaption');
    cap.textContent = o.title;
    this.el.appendChild(cap);
    this.legend = document.createElement('ul');
    this.legend.className = 'chart-legend';
    this.legend.setAttribute('aria-label', `${o.title}: latest values`);
    this.data = [[], ...o.series.map(() => [])];
    const height = o.height ?? 240;
    const epochs = o.epochs;
    const xScale: uPlot.Scale = o.time
      ? {
          time: true,
          // One point (or a few seconds) would otherwise spread over years.
          range: (_u, min, max) => (max - min < 60 ? [max - 60, max + 1] : [min, max]),
        }
      : {
          time: false,
          range: (_u, min, max) => {
            if (!epochs) return min === max ? [min - 1, max + 1] : [min, max];
            const hi = Math.max(epochs() ?? 0, max ?? 1, 2);
            return [1, hi];
          },
        };
    this.plot = new uPlot(
      {
        width: 400,
        height,
        scales: {
          x: xScale,
          y: o.log ? { distr: 3 } : { auto: true },
        },
        axes: [
          {
            label: o.xLabel,
            stroke: '#333',
            space: o.time ? 90 : 40,
            ...(o.time ? {} : { incrs: WHOLE, values: (_u, vs) => vs.map((v) => String(v)) }),
          },
          {
            stroke: '#333',
            ...(o.yLabel ? { label: o.yLabel } : {}),
            size: 60,
            values: (_u, vs) => vs.map((v) => (v == null ? '' : sig(v))),
          },
        ],
        series: [
          { label: o.xLabel },
          ...o.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            ...(s.dash ? { dash: s.dash } : {}),
            points: { show: true, size: 5 },
            spanGaps: true,
          })),
        ],
        legend: { show: false },
      },
      this.data as uPlot.AlignedData,
      this.el,
    );
    this.el.appendChild(this.legend);
    this.renderLegend();
    // Fill the container: the chart follows its figure's width.
    this.resize = new ResizeObserver(() => {
      const w = Math.floor(this.el.clientWidth);
      if (w > 0 && Math.abs(w - this.plot.width) > 1) this.plot.setSize({ width: w, height });
    });
    this.resize.observe(this.el);
  }

  /** Adds one x with a value per series (null where a series has none), or replaces a repeated x. */
  push(x: number, ys: (number | null | undefined)[]): void {
    const xs = this.data[0]!;
    const clean = (y: number | null | undefined) =>
      y === undefined || y === null || !Number.isFinite(y) || (this.o.log && y <= 0) ? null : y;
    const at = xs.lastIndexOf(x);
    if (at >= 0) {
      ys.forEach((y, i) => (this.data[i + 1]![at] = clean(y)));
    } else {
      xs.push(x);
      ys.forEach((y, i) => this.data[i + 1]!.push(clean(y)));
      const max = this.o.maxPoints;
      if (max !== undefined && xs.length > max)
        for (const d of this.data) d.splice(0, xs.length - max);
    }
    this.redraw();
  }

  /** Replaces every series at once (x values in order). */
  set(xs: number[], series: (number | null)[][]): void {
    this.data.splice(0, this.data.length, xs, ...series);
    this.redraw();
  }

  private redraw(): void {
    this.plot.setData(this.data as uPlot.AlignedData);
    this.el.setAttribute('data-points', String(this.data[0]!.length));
    this.renderLegend();
  }

  private renderLegend(): void {
    const fmt = this.o.format ?? sig;
    this.legend.replaceChildren(
      ...this.o.series.map((s, i) => {
        const ys = this.data[i + 1] ?? [];
        let last: number | null = null;
        for (let j = ys.length - 1; j >= 0 && last === null; j--) last = ys[j] ?? null;
        const li = document.createElement('li');
        const sw = document.createElement('span');
        sw.className = `swatch${s.dash ? ' dashed' : ''}`;
        sw.style.borderColor = s.color;
        li.append(sw, `${s.label}: `);
        const b = document.createElement('b');
        b.textContent = last === null ? '–' : fmt(last);
        li.appendChild(b);
        return li;
      }),
    );
  }

  get points(): number {
    return this.data[0]!.length;
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot.destroy();
  }
}
