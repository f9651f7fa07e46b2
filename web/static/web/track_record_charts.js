/* The track record page's two charts, drawn with uPlot from the JSON the page embeds (json_script):
 * cumulative P&L by close time (realistic fill and mid) and mean / median return per FF bucket.
 *
 * A static file rather than inline code: the site's Content-Security-Policy allows scripts from our
 * own origin only. Each chart's container gets data-points (the data points drawn) once drawn, so a
 * browser test can tell a drawn chart from an empty frame.
 */
(function () {
  "use strict";

  var HEIGHT = 300;
  var FILL = "#1f5fbf";
  var MID = "#c2410c";
  var ZONE = "America/New_York";

  function readJSON(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function countPoints(columns) {
    return columns.reduce(function (total, ys) {
      return total + ys.filter(function (y) { return y !== null && y !== undefined; }).length;
    }, 0);
  }

  function dollars(u, value) {
    return value === null || value === undefined ? "–" : (value < 0 ? "−$" : "$") + Math.abs(value).toFixed(2);
  }

  function percent(u, value) {
    return value === null || value === undefined ? "–" : (value > 0 ? "+" : "") + value.toFixed(1) + "%";
  }

  function asPercent(values) {
    return values.map(function (v) { return v === null ? null : v * 100; });
  }

  function draw(container, options, data, points) {
    options.width = Math.max(container.clientWidth, 280);
    options.height = HEIGHT;
    var plot = new uPlot(options, data, container);
    container.dataset.points = String(points);
    window.addEventListener("resize", function () {
      plot.setSize({ width: Math.max(container.clientWidth, 280), height: HEIGHT });
    });
    return plot;
  }

  function pnlChart(container, chart) {
    return draw(container, {
      // Close times read in New York time, whatever the reader's own zone.
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), ZONE); },
      axes: [{}, { label: "P&L per spread, summed ($)", size: 70 }],
      series: [
        { label: "Closed (New York)" },
        { label: "realistic fill", stroke: FILL, width: 2, value: dollars, points: { size: 5, fill: FILL } },
        { label: "mid", stroke: MID, width: 1.5, dash: [6, 4], value: dollars, points: { size: 4, fill: MID } }
      ]
    }, [chart.times, chart.fill, chart.mid], countPoints([chart.fill, chart.mid]));
  }

  function bucketChart(container, chart) {
    var xs = chart.buckets.map(function (b, i) { return i; });
    var columns = [chart.mean_fill, chart.median_fill, chart.mean_mid, chart.median_mid].map(asPercent);
    var dots = function () { return null; };
    var bars = uPlot.paths.bars({ size: [0.35, 60], align: -1 });
    return draw(container, {
      scales: { x: { time: false, range: [-0.6, xs.length - 0.4] } },
      axes: [
        {
          label: "FF bucket",
          splits: function () { return xs; },
          values: function (u, ticks) {
            return ticks.map(function (t) {
              return chart.buckets[t] === undefined ? "" : chart.buckets[t] + " (" + chart.counts[t] + ")";
            });
          }
        },
        { label: "return on debit (%)", values: function (u, ticks) { return ticks.map(function (t) { return t + "%"; }); } }
      ],
      series: [
        { label: "FF bucket", value: function (u, i) { return i === null || i === undefined ? "–" : chart.buckets[i]; } },
        { label: "mean, realistic fill", stroke: FILL, fill: "rgba(31, 95, 191, 0.35)", paths: bars, value: percent, points: { show: false } },
        { label: "median, realistic fill", stroke: FILL, paths: dots, value: percent, points: { show: true, size: 10, fill: "#ffffff" } },
        { label: "mean, mid", stroke: MID, fill: "rgba(194, 65, 12, 0.25)", paths: uPlot.paths.bars({ size: [0.35, 60], align: 1 }), value: percent, points: { show: false } },
        { label: "median, mid", stroke: MID, paths: dots, value: percent, points: { show: true, size: 10, fill: "#ffffff" } }
      ]
    }, [xs].concat(columns), countPoints(columns));
  }

  function start() {
    if (typeof uPlot === "undefined") {
      return;
    }
    var charts = { pnl: pnlChart, buckets: bucketChart };
    document.querySelectorAll("[data-chart]").forEach(function (container) {
      var chart = readJSON(container.dataset.source);
      var make = charts[container.dataset.chart];
      if (chart && make) {
        make(container, chart);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
