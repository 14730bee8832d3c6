// The KPI dashboard's charts (ECharts). The page hands the data and every label in the
// data-chart attribute of #kpi-charts; this script holds no UI text, reads only the fields
// it draws (extra ones are ignored), and leaves the figures table for readers without it.
(function () {
  function pct(v) { return v === null || v === undefined ? null : Math.round(v * 1000) / 10; }

  function draw(root, data) {
    var labels = data.labels || {};
    var rates = data.rates || [];
    var daily = data.daily || [];
    var charts = [];
    function chart(id, option) {
      var el = document.getElementById(id);
      if (!el) { return; }
      var c = echarts.init(el);
      c.setOption(option);
      charts.push(c);
    }
    chart("kpi-compare", {
      title: { text: labels.compare, textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null ? "—" : v + "%"; } },
      legend: { bottom: 0 },
      grid: { top: 40, left: 10, right: 10, bottom: 36, containLabel: true },
      xAxis: { type: "category", data: rates.map(function (r) { return r.label; }), axisLabel: { interval: 0, width: 70, overflow: "break" } },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      series: [
        { name: labels.this_period, type: "bar", data: rates.map(function (r) { return pct(r.now); }) },
        { name: labels.previous_period, type: "bar", data: rates.map(function (r) { return pct(r.before); }) }
      ]
    });
    chart("kpi-gauge", {
      title: { text: labels.composite, textStyle: { fontSize: 14 } },
      series: [{
        type: "gauge", min: 0, max: 100, radius: "80%", center: ["50%", "58%"],
        progress: { show: true },
        title: { offsetCenter: [0, "75%"], fontSize: 12 },
        detail: { offsetCenter: [0, "45%"], formatter: function (v) { return data.composite === null ? "—" : v + "%"; }, fontSize: 20 },
        data: [{ value: pct(data.composite) || 0, name: labels.previous_period + " " + (data.composite_before === null ? "—" : pct(data.composite_before) + "%") }]
      }]
    });
    chart("kpi-trend", {
      title: { text: labels.trend, textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis" },
      legend: { bottom: 0 },
      grid: { top: 40, left: 10, right: 10, bottom: 36, containLabel: true },
      xAxis: { type: "category", data: daily.map(function (d) { return d.date; }) },
      yAxis: [
        { type: "value", minInterval: 1 },
        { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }
      ],
      series: [
        { name: labels.intake, type: "bar", data: daily.map(function (d) { return d.total; }) },
        { name: labels.on_time, type: "line", yAxisIndex: 1, connectNulls: true, data: daily.map(function (d) { return pct(d.on_time_rate); }) }
      ]
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("kpi-charts");
    if (!root || typeof echarts === "undefined") { return; }
    root.hidden = false;
    draw(root, JSON.parse(root.dataset.chart));
    // With the script, a picker shows its choice at once.
    document.querySelectorAll(".kpi-pickers select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  });
})();
