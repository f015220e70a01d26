/* Live code statistics: scans, new customers, deleted and net per day (lines) and net vs deleted
 * per employee (stacked bars). The data rides in the results partial, so the charts are drawn
 * again whenever htmx swaps in a new date range. */
(function () {
  "use strict";

  var AXIS = { axisLine: { lineStyle: { color: "#c9cdd4" } }, axisLabel: { color: "#86909c" } };
  var SPLIT = { splitLine: { lineStyle: { color: "#f0f0f0" } } };
  var LEGEND = { top: 0, textStyle: { color: "#4e5969" }, itemWidth: 10, itemHeight: 10 };

  function fresh(el) {
    var old = window.echarts.getInstanceByDom(el);
    if (old) old.dispose();
    return window.echarts.init(el);
  }

  function days(el, data) {
    var chart = fresh(el);
    var keys = ["scans", "new_customers", "deleted", "net"];
    chart.setOption({
      color: ["#1677ff", "#52c41a", "#f5222d", "#13c2c2"],
      legend: LEGEND,
      grid: { left: 36, right: 16, top: 32, bottom: 24 },
      tooltip: { trigger: "axis" },
      xAxis: Object.assign({ type: "category", boundaryGap: false, axisTick: { show: false },
        data: data.days.map(function (d) { return d.slice(5); }) }, AXIS),
      yAxis: Object.assign({ type: "value", minInterval: 1 }, SPLIT, AXIS),
      series: keys.map(function (key) {
        return { name: data.labels[key], type: "line",
          showSymbol: false, data: data.series[key], lineStyle: { width: 2 } };
      })
    });
    return chart;
  }

  function employees(el, data) {
    // One bar row per employee: a short list gets a short chart.
    el.style.height = Math.max(160, 34 * data.employees.length + 60) + "px";
    var chart = fresh(el);
    chart.setOption({
      color: ["#13c2c2", "#f5222d"],
      legend: LEGEND,
      grid: { left: 8, right: 24, top: 28, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: Object.assign({ type: "value", minInterval: 1 }, SPLIT, AXIS),
      // Busiest employee on top.
      yAxis: Object.assign({ type: "category", axisTick: { show: false },
        data: data.employees.slice().reverse() }, AXIS),
      series: [
        { name: data.labels.net, type: "bar", stack: "adds", barMaxWidth: 18,
          data: data.employee_net.slice().reverse() },
        { name: data.labels.deleted, type: "bar", stack: "adds", barMaxWidth: 18,
          data: data.employee_deleted.slice().reverse() }
      ]
    });
    return chart;
  }

  var charts = [];

  function draw() {
    var source = document.getElementById("live-code-stats-data");
    if (!source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    charts = [];
    var line = document.getElementById("chart-live-code-days");
    if (line) charts.push(days(line, data));
    var bars = document.getElementById("chart-live-code-employees");
    if (bars) charts.push(employees(bars, data));
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target && event.target.id === "stats-results") draw();
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
})();
