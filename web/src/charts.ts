import uPlot from 'uplot';

export interface SeriesSpec {
  label: string;
  color: string;
  dash?: number[];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  series: SeriesSpec[];
  width?: number;
  height?: number;
  /** keep at most this many points (live charts scroll) */
  maxPoints?: number;
  /** x values are unix seconds (time axis) */
  time?: boolean;
}

/**
 * A uPlot line chart that grows point by point. The container carries `data-points` (the
 * number of x values drawn) so tests and assistive tools can read progress without pixels.
 */
export class LineChart {
  readonly el: HTMLElement;
  private readonly plot: uPlot;
  private readonly data: (number | null)[][];

  constructor(private readonly o: LineChartOptions) {
    this.el = document.createElement('figure');
    this.el.className = 'chart';
    this.el.setAttribute('data-points', '0');
    const cap = document.createElement('figcaption');
    cap.textContent = o.title;
    this.el.appendChild(cap);
    this.data = [[], ...o.series.map(() => [])];
    this.plot = new uPlot(
      {
        width: o.width ?? 460,
        height: o.height ?? 220,
        scales: { x: { time: o.time ?? false } },
        axes: [{ label: o.xLabel, stroke: '#333' }, { stroke: '#333' }],
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
        legend: { show: true },
      },
      this.data as uPlot.AlignedData,
      this.el,
    );
  }

  /** Adds one x with a value per series (null where a series has none), or replaces a repeated x. */
  push(x: number, ys: (number | null | undefined)[]): void {
    const xs = this.data[0]!;
    const at = xs.lastIndexOf(x);
    if (at >= 0) {
      ys.forEach((y, i) => (this.data[i + 1]![at] = y ?? null));
    } else {
      xs.push(x);
      ys.forEach((y, i) => this.data[i + 1]!.push(y ?? null));
      const max = this.o.maxPoints;
      if (max !== undefined && xs.length > max)
        for (const d of this.data) d.splice(0, xs.length - max);
    }
    this.plot.setData(this.data as uPlot.AlignedData);
    this.el.setAttribute('data-points', String(this.data[0]!.length));
  }

  get points(): number {
    return this.data[0]!.length;
  }

  destroy(): void {
    this.plot.destroy();
  }
}
