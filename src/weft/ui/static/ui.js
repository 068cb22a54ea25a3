// weft ui: a batch page's live progress. While runs of the batch are in flight it polls the
// batch's JSON endpoint (same origin, nothing else) and updates the counts; when the last run
// finishes it reloads the page once, so the list and the gallery show the finished runs.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) return;
  var url = box.getAttribute("data-progress-url");
  var live = box.getAttribute("data-live") === "1";
  var POLL_MS = 1500;

  function set(name, text) {
    var el = box.querySelector('[data-stat="' + name + '"]');
    if (el) el.textContent = text;
  }

  function width(name, part, total) {
    var el = box.querySelector(".meter ." + name);
    if (el) el.style.width = (total ? (100 * part) / total : 0).toFixed(2) + "%";
  }

  function render(p) {
    set("done", String(p.done));
    set("succeeded", String(p.succeeded));
    set("failed", String(p.failed));
    set("in-flight", String(p.inFlight));
    set("rate", Number(p.rate).toFixed(2));
    set("rate-over", p.rateOver);
    width("done", p.succeeded, p.total);
    width("failed", p.failed, p.total);
    width("inflight", p.inFlight, p.total);
    box.setAttribute("data-live", p.inFlight > 0 ? "1" : "0");
  }

  function tick() {
    fetch(url, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        render(p);
        if (p.inFlight > 0) {
          window.setTimeout(tick, POLL_MS);
        } else if (live) {
          live = false;
          window.location.reload();
        }
      })
      .catch(function () { window.setTimeout(tick, POLL_MS * 3); });
  }

  if (live) window.setTimeout(tick, POLL_MS);
})();
