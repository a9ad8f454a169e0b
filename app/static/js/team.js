/* The team page: the direct reports' capability grid is fetched once the page is drawn, so the
   people list never waits for it, and its page links swap the grid in place. Without script
   (or if the fetch fails) the link in the box opens the grid as a page of its own. */
(function () {
  "use strict";

  function scrollCue(box) {
    var cue = box.querySelector("[data-scroll-cue]");
    var scroller = box.querySelector("[data-scroll-box]");
    if (cue && scroller) { cue.hidden = scroller.scrollWidth <= scroller.clientWidth + 1; }
  }

  function load(box, url) {
    box.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok || response.redirected) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        box.innerHTML = html;
        scrollCue(box);
      })
      .catch(function () { /* the link to the grid's own page stays */ })
      .then(function () { box.removeAttribute("aria-busy"); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-grid-src]").forEach(function (box) {
      load(box, box.getAttribute("data-grid-src"));
      box.addEventListener("click", function (event) {
        var link = event.target.closest("a[data-grid-page]");
        if (!link) { return; }
        event.preventDefault();
        var url = new URL(box.getAttribute("data-grid-page-url"), window.location.href);
        url.searchParams.set("page", link.getAttribute("data-grid-page"));
        load(box, url.toString());
      });
      window.addEventListener("resize", function () { scrollCue(box); });
    });
  });
}());
