package org.fusedstage.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** PNG plots of a run with JFreeChart: two series against a shared x axis, one y axis each. */
final class Plots {

    private Plots() {}

    /**
     * Renders a throwaway chart on a daemon thread, so that loading the chart library, fonts and
     * the PNG encoder (~0.5 s on first use) overlaps the run instead of following it.
     */
    static void warmUp() {
        Thread warm = new Thread(() -> {
            try {
                write(java.io.OutputStream.nullOutputStream(), "warm-up", "x", "y", "z", List.of(new double[] {0, 1, 2},
                        new double[] {1, 2, 3}));
            } catch (IOException | RuntimeException e) {
                // only a warm-up: the real plots report their own failures
            }
        }, "plots-warm-up");
        warm.setDaemon(true);
        warm.setPriority(Thread.MIN_PRIORITY);
        warm.start();
    }

    /**
     * Column {@code column} of {@code points} as a series; a non-finite value becomes a null item,
     * where the line renderer breaks the line instead of drawing across stretches without data.
     */
    static XYSeries series(String label, List<double[]> points, int column) {
        XYSeries series = new XYSeries(label);
        for (double[] p : points) {
            series.add(p[0], Double.isFinite(p[column]) ? (Number) p[column] : null);
        }
        return series;
    }

    /**
     * Writes a chart with {@code left} on the left axis and {@code right} on the right axis.
     *
     * @param points rows of {x, left, right}
     */
    static void write(java.io.OutputStream out, String title, String xLabel, String leftLabel, String rightLabel,
            List<double[]> points) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYSeries left = series(leftLabel, points, 1);
        XYSeries right = series(rightLabel, points, 2);
        JFreeChart chart = ChartFactory.createXYLineChart(title, xLabel, leftLabel, new XYSeriesCollection(left));
        XYPlot plot = chart.getXYPlot();
        NumberAxis rightAxis = new NumberAxis(rightLabel);
        rightAxis.setAutoRangeIncludesZero(false);
        ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
        plot.setRangeAxis(1, rightAxis);
        plot.setDataset(1, new XYSeriesCollection(right));
        plot.mapDatasetToRangeAxis(1, 1);
        XYLineAndShapeRenderer leftRenderer = new XYLineAndShapeRenderer(true, false);
        leftRenderer.setSeriesPaint(0, java.awt.Color.BLUE);
        plot.setRenderer(0, leftRenderer);
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        renderer.setSeriesPaint(0, java.awt.Color.RED);
        plot.setRenderer(1, renderer);
        plot.setBackgroundPaint(java.awt.Color.WHITE);
        ChartUtils.writeChartAsPNG(out, chart, 900, 500);
    }
}
