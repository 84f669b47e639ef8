// Live progress of an import batch; without JavaScript the page refreshes itself.
(function () {
  "use strict";
  var box = document.getElementById("batch");
  if (!box || !window.fetch) { return; }
  function set(id, value) { var el = document.getElementById(id); if (el) { el.textContent = value; } }
  function poll() {
    fetch(box.dataset.progressUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        var bar = document.getElementById("bar");
        if (p.total_rows) { bar.max = p.total_rows; }
        bar.value = p.rows;
        set("rows", p.rows); set("total", p.total_rows === null ? "?" : p.total_rows);
        set("rate", p.rows_per_second || "–");
        set("imported", p.imported); set("duplicates", p.duplicates); set("rejected", p.rejected);
        if (p.worker) { set("worker-name", p.worker); document.getElementById("worker").hidden = false; }
        if (p.report_url) {
          document.getElementById("report-link").href = p.report_url;
          document.getElementById("report").hidden = false;
        }
        if (p.status !== box.dataset.status) { window.location.reload(); }
        else if (box.dataset.live === "1") { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  if (box.dataset.live === "1") { setTimeout(poll, 500); }
})();
