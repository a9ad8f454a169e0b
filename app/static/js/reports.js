/* The reports, made easier with script; every page works the same without it.
   - A <details data-open-wide> (the filters, "How to read the cells") opens on a wide screen;
     on a phone it stays closed so the report comes first.
   - A table box that scrolls sideways shows its cue ("Scroll sideways for more …") only while
     the table is wider than the box.
   - The filter form leaves empty fields out of the address it opens ("compare=&unit=" …).
   Loaded right after the filters (so they open before the page is first drawn) and by the
   heatmap table; it runs once however often it is included. */
(function () {
  "use strict";
  if (window.pmoReports) { return; }
  window.pmoReports = true;

  var WIDE = "(min-width: 992px)";

  function openWide() {
    if (!window.matchMedia || !window.matchMedia(WIDE).matches) { return; }
    document.querySelectorAll("details[data-open-wide]:not([data-opened])").forEach(function (el) {
      el.setAttribute("data-opened", "");  /* once: a reader's own closing is kept */
      el.open = true;
    });
  }

  function scrollCues() {
    document.querySelectorAll("[data-scroll-wrap]").forEach(function (wrap) {
      var cue = wrap.querySelector("[data-scroll-cue]");
      var box = wrap.querySelector("[data-scroll-box]");
      if (!cue || !box) { return; }
      cue.classList.remove("narrow-only");  /* measured from now on, not guessed */
      function update() { cue.hidden = box.scrollWidth <= box.clientWidth + 1; }
      update();
      window.addEventListener("resize", update);
    });
  }

  function cleanSubmit() {
    document.querySelectorAll("form.report-filters[method=get]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        var query = new URLSearchParams();
        new FormData(form).forEach(function (value, name) {
          if (value !== "") { query.append(name, value); }
        });
        var url = new URL(form.action, window.location.href);
        url.search = query.toString();
        event.preventDefault();
        window.location.assign(url.toString());
      });
    });
  }

  openWide();  /* the filters, already parsed */
  document.addEventListener("DOMContentLoaded", function () {
    openWide();
    scrollCues();
    cleanSubmit();
  });
}());
