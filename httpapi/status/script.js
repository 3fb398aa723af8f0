// Refreshes the page in place every data-refresh seconds, keeping the
// scroll position, and says so when the worker stops answering.
(function () {
  var every = Number(document.body.dataset.refresh) * 1000;
  if (!every) return;
  var stale = document.getElementById("stale");
  function tick() {
    fetch(location.href, { cache: "no-store" })
      .then(function (r) {
        if (!r.ok) throw new Error("status " + r.status);
        return r.text();
      })
      .then(function (text) {
        var next = new DOMParser().parseFromString(text, "text/html");
        ["header", "main"].forEach(function (sel) {
          document.querySelector(sel).replaceWith(next.querySelector(sel));
        });
        document.title = next.title;
        stale.hidden = true;
      })
      .catch(function () { stale.hidden = false; })
      .finally(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();
