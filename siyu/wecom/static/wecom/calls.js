/* WeCom API calls page: calls per API in the last hour, succeeded and failed (stacked bars). */
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("api-calls-chart-data");
    var el = document.getElementById("chart-api-calls");
    if (!source || !el || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    // One bar row per API: a short list gets a short chart.
    el.style.height = Math.max(160, 34 * data.apis.length + 60) + "px";
    var axis = { axisLine: { lineStyle: { color: "#c9cdd4" } }, axisLabel: { color: "#86909c" } };
    var chart = echarts.init(el);
    chart.setOption({
      color: ["#52c41a", "#f5222d"],
      grid: { left: 8, right: 24, top: 28, bottom: 8, containLabel: true },
      legend: { top: 0, textStyle: { color: "#4e5969" }, itemWidth: 10, itemHeight: 10 },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: Object.assign({ type: "value", minInterval: 1,
        splitLine: { lineStyle: { color: "#f0f0f0" } } }, axis),
      // Busiest API on top.
      yAxis: Object.assign({ type: "category", data: data.apis.slice().reverse(),
        axisTick: { show: false } }, axis),
      series: [
        { name: data.labels.ok, type: "bar", stack: "calls", barMaxWidth: 18,
          data: data.ok.slice().reverse() },
        { name: data.labels.errors, type: "bar", stack: "calls", barMaxWidth: 18,
          data: data.errors.slice().reverse() }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
