/* The ticker page's two charts, drawn with uPlot from the JSON the page embeds (json_script).
 *
 * A static file rather than inline code: the site's Content-Security-Policy allows scripts from our
 * own origin only. Each chart's container gets data-points (the data points drawn, guide lines left
 * out) once drawn, so a browser test can tell a drawn chart from an empty frame.
 */
(function () {
  "use strict";

  var PALETTE = ["#1f5fbf", "#c2410c", "#1e7a46", "#7c3aed", "#b42318", "#0e7490", "#a16207", "#be185d"];
  var HEIGHT = 300;

  function readJSON(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function colour(i) {
    return PALETTE[i % PALETTE.length];
  }

  // uPlot wants one shared x array and, for each series, a value (or null) at every x.
  function align(xs, pairsList) {
    var index = new Map();
    xs.forEach(function (x, i) { index.set(x, i); });
    return pairsList.map(function (pairs) {
      var ys = new Array(xs.length).fill(null);
      pairs.forEach(function (p) { ys[index.get(p[0])] = p[1]; });
      return ys;
    });
  }

  function sortedUnique(values) {
    return Array.from(new Set(values)).sort(function (a, b) { return a - b; });
  }

  function countPoints(columns) {
    return columns.reduce(function (total, ys) {
      return total + ys.filter(function (y) { return y !== null && y !== undefined; }).length;
    }, 0);
  }

  function percent(u, value) {
    return value === null || value === undefined ? "–" : value.toFixed(1) + "%";
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

  function termChart(container, chart) {
    var all = chart.points.map(function (p) { return [p.dte, p.iv * 100]; });
    var probes = chart.points.filter(function (p) { return p.source === "probe"; })
      .map(function (p) { return [p.dte, p.iv * 100]; });
    var forwards = chart.forwards.map(function (f) {
      return [[f.front_dte, f.forward_iv * 100], [f.back_dte, f.forward_iv * 100]];
    });
    var xs = sortedUnique(
      all.map(function (p) { return p[0]; }).concat(
        chart.forwards.flatMap(function (f) { return [f.front_dte, f.back_dte]; })
      )
    );
    var columns = align(xs, [all, probes].concat(forwards));
    var series = [
      { label: "Days to expiry" },
      {
        label: "ATM IV", stroke: "#1d2733", width: 2, spanGaps: true, value: percent,
        points: { show: true, size: 7, fill: "#1d2733" }
      },
      {
        label: "probe (rougher)", stroke: "#1d2733", paths: function () { return null; }, value: percent,
        points: { show: true, size: 8, fill: "#ffffff", stroke: "#1d2733" }
      }
    ].concat(chart.forwards.map(function (f, i) {
      return {
        label: "forward vol " + f.pair, stroke: colour(i + 1), width: 3, spanGaps: true, value: percent,
        points: { show: true, size: 5 }
      };
    }));
    return draw(container, {
      scales: { x: { time: false } },
      axes: [
        { label: "days to expiry" },
        { label: "implied volatility (%)", values: function (u, ticks) { return ticks.map(function (t) { return t + "%"; }); } }
      ],
      series: series
    }, [xs].concat(columns), countPoints(columns.slice(0, 1).concat(columns.slice(2))));
  }

  function historyChart(container, chart) {
    var xs = sortedUnique(chart.series.flatMap(function (s) {
      return s.points.map(function (p) { return p[0]; });
    }));
    var columns = align(xs, chart.series.map(function (s) { return s.points; }));
    var threshold = xs.map(function () { return chart.threshold; });
    var ff = function (u, value) { return value === null || value === undefined ? "–" : value.toFixed(2); };
    var series = [{ label: "Scanned" }].concat(chart.series.map(function (s, i) {
      return { label: s.label, stroke: colour(i), width: 1.5, spanGaps: true, value: ff, points: { size: 4 } };
    }));
    series.push({ label: "my threshold", stroke: "#b42318", width: 1.5, dash: [6, 4], value: ff, points: { show: false } });
    return draw(container, {
      axes: [{}, { label: "Forward Factor" }],
      series: series
    }, [xs].concat(columns, [threshold]), countPoints(columns));
  }

  function start() {
    if (typeof uPlot === "undefined") {
      return;
    }
    var charts = { term: termChart, history: historyChart };
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
