import { useEffect, useRef } from 'react';
import { BarChart, LineChart } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { init, use } from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';

use([BarChart, LineChart, GridComponent, TooltipComponent, LegendComponent, AriaComponent, SVGRenderer]);

export interface Series {
  name: string;
  values: number[];
  type?: 'bar' | 'line';
  stack?: string;
}

/**
 * One chart (Apache ECharts, only the parts used): periods on the x axis, a series each with a legend
 * toggle and a tooltip; ECharts' `aria` writes its text alternative. The page shows the same figures
 * in a table beside it.
 */
export function Chart({ title, periods, series, valueName }: { title: string; periods: string[]; series: Series[]; valueName: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const chart = init(ref.current, undefined, { renderer: 'svg' });
    chart.setOption({
      aria: { enabled: true, label: { description: `${title}: ${series.map((s) => s.name).join(', ')} per period, in ${valueName}. The table below lists the same figures.` } },
      animation: false, // figures appear as they are (no motion to wait for or be distracted by)
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 64, right: 16, top: 32, bottom: 32 },
      xAxis: { type: 'category', data: periods },
      yAxis: { type: 'value', name: valueName },
      series: series.map((s) => ({ name: s.name, type: s.type ?? 'bar', stack: s.stack, data: s.values })),
    });
    const resize = () => chart.resize();
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      chart.dispose();
    };
  }, [title, periods, series, valueName]);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      {/* ECharts' aria option writes the text alternative (aria-label) on this element. */}
      <div ref={ref} className="chart-canvas" role="img" data-testid="chart" />
    </figure>
  );
}
