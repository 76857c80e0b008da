// Keeps the emergency banner of an open workspace page current: a new emergency shows within
// data-every seconds without a reload, and an acknowledged one goes. Without script the banner is
// still shown on every page load. The fragment is our own server-rendered, escaped HTML.
(function () {
  "use strict";
  var region = document.getElementById("alerts-banner");
  if (!region || !region.getAttribute("data-src") || !window.fetch) {
    return;
  }
  var every = Math.max(1, parseInt(region.getAttribute("data-every"), 10) || 20) * 1000;
  var shown = region.innerHTML.trim();

  function schedule() {
    window.setTimeout(refresh, every);
  }

  function refresh() {
    if (document.hidden) {
      schedule();
      return;
    }
    fetch(region.getAttribute("data-src"), {credentials: "same-origin", cache: "no-store",
                                           headers: {"Accept": "text/html"}})
      .then(function (response) {
        if (response.redirected || response.status === 401 || response.status === 403) {
          throw new Error("signed out"); // the page itself will ask to sign in: stop asking
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null && html.trim() !== shown) {
          shown = html.trim();
          region.innerHTML = shown;
        }
        schedule();
      })
      .catch(function (error) {
        if (error && error.message !== "signed out") {
          schedule(); // offline for a moment: try again later
        }
      });
  }

  schedule();
})();
