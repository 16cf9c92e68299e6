// "How noisy would this be?" on the rule form: draws the backtest's counts (the data-series
// JSON of each .noise-chart, put there by templates/rules/_noise.html) as bar charts with
// uPlot, served from static/vendor. No inline script: the Content-Security-Policy allows none.
(function () {
  "use strict";
  var DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

  function perDay(series) {
    // x: the day's index; its label is the date (MM-DD).
    return {
      labels: series.map(function (d) { return d.date.slice(5); }),
      values: series.map(function (d) { return d.alerts; }),
    };
  }

  function hourOfWeek(series) {
    var labels = [], values = [];
    DAYS.forEach(function (day) {
      (series[day] || []).forEach(function (n, hour) {
        labels.push(day + " " + (hour < 10 ? "0" : "") + hour + ":00");
        values.push(n);
      });
    });
    return { labels: labels, values: values };
  }

  function draw(el) {
    if (el.dataset.drawn || typeof uPlot === "undefined") return;
    var raw = JSON.parse(el.dataset.series);
    var data = el.dataset.chart === "per-day" ? perDay(raw) : hourOfWeek(raw);
    var xs = data.labels.map(function (_, i) { return i; });
    var width = Math.max(280, Math.min(el.clientWidth || 640, 900));
    var step = el.dataset.chart === "per-day" ? 1 : 24;
    new uPlot({
      title: el.dataset.title,
      width: width,
      height: 180,
      scales: {
        // Half a bar of room either side, so the first and last bars are whole.
        x: { time: false, range: function () { return [-0.5, xs.length - 0.5]; } },
        y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } },
      },
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      axes: [
        { space: 30, incrs: [step],
          values: function (u, splits) { return splits.map(function (i) { return data.labels[i] || ""; }); } },
        { label: "alerts", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] },
      ],
      series: [
        {},
        { label: "alerts", fill: "rgba(31, 95, 191, 0.35)", stroke: "#1f5fbf", width: 1,
          paths: uPlot.paths.bars({ size: [0.8, 40] }), points: { show: false } },
      ],
    }, [xs, data.values], el);
    el.dataset.drawn = "1";
  }

  function drawAll(root) {
    (root || document).querySelectorAll(".noise-chart").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  // The form is swapped in by htmx after "How noisy would this be?".
  document.addEventListener("htmx:load", function (event) { drawAll(event.target); });
})();
