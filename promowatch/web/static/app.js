// promowatch dashboard: the promotion timeline (uPlot) and the captured-page switcher. No inline script: the
// page names the data's URL in data-series and this file draws it.
"use strict";

(function () {
  const COLOURS = {
    price: "#1f77b4", advertised: "#d62728", reference: "#7f7f7f", share: "#9467bd",
    threshold: "#9467bd", window: "rgba(246, 213, 92, 0.25)", finding: "#d62728",
    orderable: { 1: "#2ca02c", 0: "#d62728", null: "#c7c7c7" },
  };

  function drawWindow(u, series) {
    const [from, until] = series.window;
    if (from === null && until === null) return;
    const left = u.valToPos(from ?? u.scales.x.min, "x", true);
    const right = u.valToPos(until ?? u.scales.x.max, "x", true);
    const ctx = u.ctx;
    ctx.save();
    ctx.fillStyle = COLOURS.window;
    ctx.fillRect(left, u.bbox.top, right - left, u.bbox.height);
    ctx.restore();
  }

  function drawOrderableBand(u, series) {
    // a band under the plot: one rectangle per observation, to the next one
    const times = series.columns[0], orderable = series.columns[4], ctx = u.ctx;
    const height = Math.round(10 * devicePixelRatio), top = u.bbox.top + u.bbox.height - height;
    ctx.save();
    let last = null;
    for (let i = 0; i < times.length; i++) {
      if (series.columns[1][i] === null && orderable[i] === null) continue;
      if (last !== null) {
        const x0 = u.valToPos(times[last], "x", true), x1 = u.valToPos(times[i], "x", true);
        ctx.fillStyle = COLOURS.orderable[orderable[last]];
        ctx.fillRect(x0, top, Math.max(x1 - x0, 1), height);
      }
      last = i;
    }
    ctx.restore();
  }

  function drawFindings(u, series) {
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = COLOURS.finding;
    ctx.setLineDash([4, 3]);
    for (const mark of series.findings) {
      const x = u.valToPos(mark.at, "x", true);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
    }
    ctx.restore();
  }

  function drawChart(element, series) {
    const times = series.columns[0];
    const threshold = times.map(() => series.threshold);
    const data = [times, series.columns[1], series.columns[2], series.columns[3], series.columns[5], threshold];
    const stepped = uPlot.paths.stepped({ align: 1 });
    const options = {
      width: Math.max(element.clientWidth, 320),
      height: 360,
      scales: { x: { time: true }, money: { auto: true }, pct: { range: [0, 100] } },
      axes: [
        {},
        { scale: "money", label: series.currency },
        { scale: "pct", side: 1, label: "% stores empty", grid: { show: false } },
      ],
      series: [
        { label: "time (UTC)" },
        { label: "shop price", scale: "money", stroke: COLOURS.price, width: 3, paths: stepped, spanGaps: true },
        { label: "advertised", scale: "money", stroke: COLOURS.advertised, dash: [6, 4], points: { show: false } },
        { label: "reference", scale: "money", stroke: COLOURS.reference, dash: [2, 3], points: { show: false } },
        {
          label: "stores empty %", scale: "pct", stroke: COLOURS.share, width: 2, spanGaps: true, paths: stepped,
          points: { show: true, size: 5 },
        },
        { label: "threshold %", scale: "pct", stroke: COLOURS.threshold, dash: [2, 6], points: { show: false } },
      ],
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      hooks: {
        drawClear: [(u) => drawWindow(u, series)],
        draw: [(u) => { drawOrderableBand(u, series); drawFindings(u, series); }],
      },
    };
    element.textContent = "";
    const plot = new uPlot(options, data, element);
    element.dataset.points = String(times.length);
    element.classList.add("drawn");
    window.addEventListener("resize", () => plot.setSize({ width: Math.max(element.clientWidth, 320), height: 360 }));
  }

  function loadChart() {
    const element = document.getElementById("chart");
    if (!element || typeof uPlot === "undefined") return;
    element.textContent = "loading…";
    fetch(element.dataset.series, { credentials: "same-origin" })
      .then((response) => response.json())
      .then((series) => drawChart(element, series))
      .catch(() => { element.textContent = "the timeline could not be loaded"; });
  }

  function captureSwitcher() {
    const frame = document.getElementById("captured-frame");
    if (!frame) return;
    for (const link of document.querySelectorAll("a.show-captured")) {
      link.addEventListener("click", () => { frame.src = link.dataset.captured; });
    }
  }

  document.addEventListener("DOMContentLoaded", () => { loadChart(); captureSwitcher(); });
})();
