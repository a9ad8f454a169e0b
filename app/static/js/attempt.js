/* The attempt page, made quicker with script: each answer is saved as it changes, and the
   time left counts down. Without script the page works the same through its Save buttons;
   the server's clock and the server's checks decide in both cases. */
(function () {
  "use strict";

  function countdown() {
    var clock = document.querySelector("[data-seconds-left]");
    if (!clock) { return; }
    var ends = Date.now() + 1000 * parseInt(clock.getAttribute("data-seconds-left"), 10);
    function tick() {
      var left = Math.max(0, Math.round((ends - Date.now()) / 1000));
      var minutes = Math.floor(left / 60);
      var seconds = left % 60;
      clock.textContent = left > 0
        ? minutes + " min " + (seconds < 10 ? "0" : "") + seconds + " s"
        : "Time is up: answers saved by the deadline count";
      if (left > 0) { window.setTimeout(tick, 1000); }
    }
    tick();
  }

  function autosave() {
    var form = document.querySelector("form[data-autosave]");
    if (!form) { return; }
    var url = form.getAttribute("data-autosave");
    var token = form.querySelector("input[name='csrf_token']").value;
    var busy = {};
    var again = {};
    var saving = 0;
    var waiting = false;  /* the page's own save waits for the saves under way */
    var held = null;  /* the button pressed for it */

    function status(fieldset, text, bad) {
      var box = fieldset.querySelector("[data-status]");
      if (!box) { return; }
      box.textContent = text;
      box.classList.toggle("text-danger", !!bad);
      box.classList.toggle("text-muted", !bad);
    }

    /* The counts the page was served with, kept in step as answers are saved: the
       question's own state, its section's "2/15" and the "N of 75 answered" live region. */
    function counted(fieldset, answered) {
      var was = fieldset.getAttribute("data-answered") === "1";
      if (was === answered) { return; }
      var step = answered ? 1 : -1;
      fieldset.setAttribute("data-answered", answered ? "1" : "0");
      var section = fieldset.getAttribute("data-section");
      var boxes = document.querySelectorAll("[data-answered-count]");
      if (section !== null) {
        boxes = Array.prototype.slice.call(boxes).concat(Array.prototype.slice.call(
          document.querySelectorAll("[data-section-answered='" + section + "']")));
      }
      Array.prototype.forEach.call(boxes, function (box) {  /* "12 of 75 ...", "2" */
        box.textContent = box.textContent.replace(/^\s*(\d+)/, function (all, n) {
          return String(Math.max(0, parseInt(n, 10) + step));
        });
      });
    }

    function send(fieldset) {
      var id = fieldset.getAttribute("data-item");
      if (busy[id]) { again[id] = true; return; }
      busy[id] = true;
      saving += 1;
      var body = new URLSearchParams();
      var answered = false;
      body.append("csrf_token", token);
      body.append("item", id);
      fieldset.querySelectorAll("input, select").forEach(function (el) {
        if (!el.name || el.disabled) { return; }
        if ((el.type === "radio" || el.type === "checkbox") && !el.checked) { return; }
        if (el.type !== "hidden" && el.value !== "") { answered = true; }
        body.append(el.name, el.value);
      });
      status(fieldset, "Saving…", false);
      fetch(url, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": token }
      }).then(function (response) {
        return response.json().then(function (data) { return data; }, function () {
          return { ok: false, message: "Not saved: use the Save button." };
        });
      }).then(function (data) {
        if (data.ok) {
          fieldset.querySelector("input[name='r" + id + "']").value = data.revision;
          status(fieldset, "Saved", false);
          counted(fieldset, answered);
        } else {
          status(fieldset, data.message || "Not saved: use the Save button.", true);
        }
      }, function () {
        status(fieldset, "Not saved (no connection): use the Save button.", true);
      }).then(function () {
        busy[id] = false;
        saving -= 1;
        if (again[id]) { again[id] = false; send(fieldset); return; }
        if (saving === 0 && waiting) {
          /* the page's own save goes now, with the revisions these saves returned */
          var button = held;
          waiting = false;
          held = null;
          if (button) { form.requestSubmit(button); } else { form.requestSubmit(); }
        }
      });
    }

    /* A section, Save or Submit pressed while an answer is still being saved waits for
       that save, so the page's save does not race it and call the learner's own answer
       "changed in another tab". */
    form.addEventListener("submit", function (event) {
      if (saving === 0) { return; }
      event.preventDefault();
      waiting = true;
      held = event.submitter || null;
    });

    form.addEventListener("change", function (event) {
      var fieldset = event.target.closest("fieldset[data-item]");
      if (fieldset) { send(fieldset); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    countdown();
    autosave();
  });
}());
