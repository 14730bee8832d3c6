// Live countdowns to request deadlines: every element with data-due (an RFC 3339 instant)
// shows the time left, or how late it is, updated each second. No inline script (CSP).
(function () {
  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function span(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h > 0 ? h + ":" + pad(m) : m) + ":" + pad(s % 60);
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var left = Date.parse(el.dataset.due) - now;
      el.textContent = left >= 0 ? el.dataset.left + " " + span(left) : el.dataset.late + " " + span(left);
      el.classList.toggle("late", left < 0);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 1000); });
})();
