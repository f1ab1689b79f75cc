// The staff overview's charts (templates/admin/overview.html), from its JSON data block.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("overview-data").textContent);
  const gold = "#b8860b", blue = "#417690", green = "#2e7d32", red = "#c62828";
  const common = { responsive: true, animation: false, maintainAspectRatio: false };

  new Chart(document.getElementById("chart-sales"), {
    data: {
      labels: data.days,
      datasets: [
        { type: "bar", label: "销售额（元）", data: data.sales.map(Number), backgroundColor: gold, yAxisID: "y" },
        { type: "bar", label: "其中已退款（元）", data: data.refunded.map(Number), backgroundColor: red, yAxisID: "y" },
        { type: "line", label: "已支付订单", data: data.paidOrders, borderColor: blue, yAxisID: "orders" },
      ],
    },
    options: { ...common, scales: { y: { beginAtZero: true }, orders: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, ticks: { precision: 0 } } } },
  });
  new Chart(document.getElementById("chart-conversion"), {
    type: "bar",
    data: {
      labels: data.conversion.map((row) => row.method),
      datasets: [{ label: "转化率（%）", data: data.conversion.map((row) => row.rate), backgroundColor: green }],
    },
    options: { ...common, scales: { y: { beginAtZero: true, max: 100 } } },
  });
  new Chart(document.getElementById("chart-members"), {
    type: "line",
    data: { labels: data.days, datasets: [{ label: "有效会员", data: data.members, borderColor: gold, spanGaps: true }] },
    options: { ...common, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  new Chart(document.getElementById("chart-refused"), {
    type: "bar",
    data: { labels: data.days, datasets: [{ label: "被拒绝的通知", data: data.refused, backgroundColor: red }] },
    options: { ...common, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
})();
