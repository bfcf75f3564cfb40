// Re-fetches the live part of a page (the element with data-url) every few seconds.
(function () {
  "use strict";
  var box = document.querySelector("[data-url]#live");
  if (!box) { return; }
  var every = parseInt(box.getAttribute("data-every") || "3000", 10);
  function refresh() {
    fetch(box.getAttribute("data-url"), {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null) { box.innerHTML = html; } })
      .catch(function () {})
      .finally(function () { window.setTimeout(refresh, every); });
  }
  window.setTimeout(refresh, every);
})();
