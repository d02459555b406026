// The auditors' pages work without this file; it steps the replay in place (buttons, slider, play)
// and follows the progress of an uploaded log's check.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var PLAY_EVERY = 1400;
  var playing = null;

  function replayBox() { return document.getElementById("replay"); }

  function show(url, focusKey) {
    var box = replayBox();
    if (!box) { window.location.href = url; return Promise.resolve(); }
    box.classList.add("loading");
    return fetch(url, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("replay");
        if (!fresh) throw new Error("no replay");
        var before = box.querySelector(".diagram");
        var scrolled = before ? before.scrollLeft : 0;
        var list = box.querySelector(".positions");
        var listed = list ? list.scrollTop : 0;
        box.replaceWith(fresh);
        keepInView(fresh.querySelector(".diagram"), scrolled);
        keepListed(fresh.querySelector(".positions"), listed);
        window.history.replaceState(null, "", url);
        setUp();
        if (focusKey) {
          var again = fresh.querySelector('[data-step="' + focusKey + '"]');
          if (again) again.focus();
        }
      })
      .catch(function () { window.location.href = url; });
  }

  // The diagram stays where the auditor scrolled it, unless the step in progress is out of sight.
  function keepInView(diagram, scrolled) {
    if (!diagram) return;
    diagram.scrollLeft = scrolled;
    var current = diagram.querySelector(".current, .overdue");
    if (!current || !current.getBoundingClientRect) return;
    var shape = current.getBoundingClientRect();
    var frame = diagram.getBoundingClientRect();
    if (shape.left < frame.left || shape.right > frame.right) {
      diagram.scrollLeft += shape.left - frame.left - frame.width / 3;
    }
  }

  // The list of events scrolls (inside itself only) to keep the current one in sight.
  function keepListed(list, scrolled) {
    if (!list) return;
    list.scrollTop = scrolled;
    var here = list.querySelector(".here");
    if (!here) return;
    var top = here.getBoundingClientRect().top - list.getBoundingClientRect().top + list.scrollTop;
    if (top < list.scrollTop || top + here.offsetHeight > list.scrollTop + list.clientHeight) {
      list.scrollTop = Math.max(0, top - list.clientHeight / 3);
    }
  }

  function stop() {
    if (playing) window.clearTimeout(playing);
    playing = null;
    markPlay();
  }

  function tick() {
    var box = replayBox();
    var next = box && box.querySelector('a[data-step="next"]');
    if (!next) { stop(); return; }
    show(next.href).then(function () {
      if (playing) playing = window.setTimeout(tick, PLAY_EVERY);
      if (!replayBox().querySelector('a[data-step="next"]')) stop();
    });
  }

  function markPlay() {
    var button = document.querySelector("#replay [data-play]");
    if (!button) return;
    button.setAttribute("aria-pressed", playing ? "true" : "false");
    button.textContent = button.getAttribute(playing ? "data-label-pause" : "data-label-play");
  }

  function setUp() {
    var box = replayBox();
    if (!box) return;
    var button = box.querySelector("[data-play]");
    if (button) {
      button.hidden = false;
      button.parentNode.classList.add("has-play");
      markPlay();
    }
    var slider = box.querySelector(".slider input[type=range]");
    if (slider) {
      slider.addEventListener("change", function () {
        stop();
        var form = slider.form;
        var params = new URLSearchParams(new FormData(form));
        show(form.action + "?" + params.toString(), null);
      });
    }
  }

  document.addEventListener("click", function (event) {
    var box = replayBox();
    if (!box) return;
    var link = event.target.closest && event.target.closest("#replay a[data-step]");
    if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey && event.button === 0) {
      event.preventDefault();
      stop();
      show(link.href, link.getAttribute("data-step"));
      return;
    }
    var play = event.target.closest && event.target.closest("#replay [data-play]");
    if (play) {
      if (playing) { stop(); return; }
      if (!box.querySelector('a[data-step="next"]')) {
        var first = box.querySelector('a[data-step="first"]');
        if (!first) return;
        playing = -1;
        markPlay();
        show(first.href).then(function () { if (playing) playing = window.setTimeout(tick, PLAY_EVERY); });
        return;
      }
      playing = window.setTimeout(tick, 300);
      markPlay();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (!replayBox() || event.target.closest("input, select, textarea")) return;
    var key = { ArrowLeft: "prev", ArrowRight: "next", Home: "first", End: "last" }[event.key];
    if (!key || event.altKey || event.ctrlKey || event.metaKey) return;
    var link = replayBox().querySelector('a[data-step="' + key + '"]');
    if (link) {
      event.preventDefault();
      stop();
      show(link.href, key);
    }
  });

  // An uploaded log being read: poll its progress, then show the result.
  function follow(job) {
    var url = job.getAttribute("data-status-url");
    var bar = document.getElementById("job-progress");
    var text = document.getElementById("job-text");
    var refresh = document.getElementById("job-refresh");
    if (refresh) refresh.hidden = true;
    function size(bytes) {
      if (bytes >= 1048576) return (bytes / 1048576).toFixed(1) + " MB";
      if (bytes >= 1024) return Math.round(bytes / 1024) + " KB";
      return bytes + " B";
    }
    function poll() {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (state) {
          if (state.status === "done" || state.status === "failed") { window.location.reload(); return; }
          if (state.percent !== null && state.percent !== undefined) bar.value = state.percent;
          if (state.status === "checking") {
            text.textContent = text.getAttribute("data-checking");
          } else {
            var shown = size(state.read) + (state.total ? " / " + size(state.total) : "");
            text.textContent = text.getAttribute("data-reading").replace("{read}", shown);
          }
          window.setTimeout(poll, 600);
        })
        .catch(function () { if (refresh) refresh.hidden = false; });
    }
    window.setTimeout(poll, 300);
  }

  // A heatmap opens on its hottest step.
  function focusHottest(diagram) {
    for (var level = 4; level > 0; level--) {
      var shape = diagram.querySelector(".heat-" + level);
      if (shape) {
        var box = shape.getBoundingClientRect();
        var frame = diagram.getBoundingClientRect();
        if (box.right > frame.right || box.left < frame.left) {
          diagram.scrollLeft += box.left - frame.left - frame.width / 3;
        }
        return;
      }
    }
  }

  function start() {
    setUp();
    document.querySelectorAll(".diagram.heat").forEach(focusHottest);
    var job = document.querySelector("#job[data-status-url]");
    if (job) follow(job);
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
