/* Overview charts: new customers per day (line) and customers by channel (donut). */
(function () {
  "use strict";

  var AXIS = { axisLine: { lineStyle: { color: "#c9cdd4" } }, axisLabel: { color: "#86909c" } };
  var PALETTE = ["#1677ff", "#13c2c2", "#52c41a", "#faad14", "#722ed1", "#eb2f96", "#fa8c16",
    "#2f54eb", "#a0d911", "#bfbfbf"];

  function dailyAdds(el, data) {
    var chart = echarts.init(el);
    chart.setOption({
      color: [PALETTE[0]],
      grid: { left: 36, right: 16, top: 16, bottom: 24 },
      tooltip: { trigger: "axis" },
      xAxis: Object.assign({
        type: "category", boundaryGap: false,
        data: data.days.map(function (d) { return d.slice(5); }),
        axisTick: { show: false }
      }, AXIS),
      yAxis: Object.assign({ type: "value", minInterval: 1,
        splitLine: { lineStyle: { color: "#f0f0f0" } } }, AXIS),
      series: [{
        // Monotone smoothing never dips below zero between two days with few adds.
        name: data.labels.adds, type: "line", smooth: 0.3, smoothMonotone: "x",
        showSymbol: false, symbolSize: 6, data: data.adds, lineStyle: { width: 2 },
        areaStyle: { color: new echarts.graphic.LinearGradient(0, 0, 0, 1, [
          { offset: 0, color: "rgba(22,119,255,0.22)" }, { offset: 1, color: "rgba(22,119,255,0)" }
        ]) }
      }]
    });
    return chart;
  }

  function channels(el, data) {
    var chart = echarts.init(el);
    chart.setOption({
      color: PALETTE,
      tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
      legend: { type: "scroll", orient: "vertical", right: 0, top: "middle",
        textStyle: { color: "#4e5969" }, itemWidth: 10, itemHeight: 10 },
      series: [{
        name: data.labels.customers, type: "pie", radius: ["48%", "72%"], center: ["36%", "50%"],
        avoidLabelOverlap: true, label: { show: false },
        itemStyle: { borderColor: "#fff", borderWidth: 2, borderRadius: 4 },
        emphasis: { label: { show: true, fontSize: 14, fontWeight: 600 } },
        data: data.channels
      }]
    });
    return chart;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("home-chart-data");
    if (!source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    var charts = [];
    var line = document.getElementById("chart-daily-adds");
    if (line) charts.push(dailyAdds(line, data));
    var pie = document.getElementById("chart-channels");
    if (pie) charts.push(channels(pie, data));
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { c.resize(); });
    });
  });
})();
