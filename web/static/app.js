// Small enhancements; every page works without them.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // A form is sent once: a second tap while it is on its way does nothing.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (!form.hasAttribute("data-once")) return;
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = true;
        if (button.dataset.busy) button.textContent = button.dataset.busy;
      });
    }, 0);
  });
  // Coming back to a page from the browser history must not leave its form locked.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      delete form.dataset.sent;
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    });
  });

  // Fields asked for only in some cases (e.g. meeting details when 一肩挑 is chosen).
  function valueOf(form, name) {
    var inputs = form.querySelectorAll('[name="' + name + '"]');
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      if ((input.type === "radio" || input.type === "checkbox")) {
        if (input.checked) return input.value;
      } else {
        return input.value;
      }
    }
    return "";
  }
  function applyConditions(form) {
    form.querySelectorAll("[data-depends-on]").forEach(function (field) {
      var wanted;
      try { wanted = JSON.parse(field.getAttribute("data-depends-value")); } catch (e) { return; }
      var shown = String(valueOf(form, field.getAttribute("data-depends-on"))) === String(wanted);
      field.hidden = !shown;
      field.querySelectorAll("input, select, textarea").forEach(function (input) { input.disabled = !shown; });
    });
  }

  // Legal checks (quorum, majority, vote counts) shown as the cadre types; the server decides.
  function liveChecks(form) {
    var url = form.getAttribute("data-check-url");
    if (!url) return;
    var touched = {};
    var timer = null;
    var pending = null;
    function run() {
      var data = new FormData();
      form.querySelectorAll("input, select, textarea").forEach(function (input) {
        if (!input.name || input.disabled || input.type === "file") return;
        if ((input.type === "radio" || input.type === "checkbox") && !input.checked) return;
        data.append(input.name, input.value);
      });
      if (pending && pending.abort) pending.abort();
      var controller = window.AbortController ? new AbortController() : null;
      pending = controller;
      fetch(url, {
        method: "POST",
        body: data,
        headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
        credentials: "same-origin",
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (result) {
        if (result) show(result);
      }).catch(function () { /* offline or slow: the server checks again on submit */ });
    }
    // Every error at once, each next to its field: what could not be read, requiredness (a field
    // required only in some cases, x-required-when), types, and the failed legal checks.
    function show(result) {
      var passed = 0;
      var failedAt = {};
      (result.checks || []).forEach(function (check, index) {
        var item = document.querySelector('[data-check="' + index + '"]');
        if (check.ok === true) passed++;
        if (check.ok === false && check.fields && check.fields.length) {
          var at = check.fields[0];
          failedAt[at] = failedAt[at] ? failedAt[at] + "；" + check.message : check.message;
        }
        if (!item) return;
        item.className = check.ok === true ? "ok" : check.ok === false ? "fail" : "pending";
      });
      var summary = document.getElementById("checks-summary");
      if (summary) {
        var total = summary.getAttribute("data-total");
        var state = (result.summary || {}).state || (passed === Number(total) ? "ok" : "pending");
        summary.textContent = summary.textContent.replace(/\d+\s*\/\s*\d+/, passed + "/" + total);
        summary.classList.remove("ok", "fail", "pending");
        summary.classList.add(state);
      }
      form.querySelectorAll("[data-error-for]").forEach(function (slot) {
        var name = slot.getAttribute("data-error-for");
        var field = slot.closest(".field");
        // A field the cadre has not reached yet keeps quiet, unless the page already showed its error.
        if (!touched[name] && !(field && field.classList.contains("invalid"))) return;
        var messages = [];
        if ((result.fields || {})[name]) messages.push(result.fields[name]);
        if (failedAt[name]) messages.push(failedAt[name]);
        var message = messages.join("；");
        slot.textContent = message;
        slot.hidden = !message;
        if (field) field.classList.toggle("invalid", Boolean(message));
      });
    }
    function changed(event) {
      if (event.target.name) touched[event.target.name] = true;
      applyConditions(form);
      clearTimeout(timer);
      timer = setTimeout(run, 600);
    }
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
  }

  // Phone photos are large; shrink them before they go over a weak connection.
  var MAX_SIDE = 2000;
  var SHRINK_ABOVE = 1.5 * 1024 * 1024;
  function shrink(file) {
    return new Promise(function (resolve) {
      if (!/^image\/(jpeg|png|webp)$/.test(file.type) || file.size < SHRINK_ABOVE || !window.createImageBitmap) {
        resolve(file);
        return;
      }
      createImageBitmap(file).then(function (bitmap) {
        var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(bitmap.width * scale);
        canvas.height = Math.round(bitmap.height * scale);
        canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        canvas.toBlob(function (blob) {
          if (!blob || blob.size >= file.size) { resolve(file); return; }
          var name = file.name.replace(/\.[^.]+$/, "") + ".jpg";
          resolve(new File([blob], name, { type: "image/jpeg", lastModified: Date.now() }));
        }, "image/jpeg", 0.85);
      }).catch(function () { resolve(file); });
    });
  }
  function shrinkInput(input) {
    if (!window.DataTransfer || !input.files || !input.files.length) return;
    var files = Array.prototype.slice.call(input.files);
    Promise.all(files.map(shrink)).then(function (done) {
      if (done.every(function (f, i) { return f === files[i]; })) return;
      var transfer = new DataTransfer();
      done.forEach(function (f) { transfer.items.add(f); });
      input.files = transfer.files;
    });
  }

  // Filtering the power list while typing.
  function filterList(input) {
    var root = document.querySelector(input.getAttribute("data-filter"));
    if (!root) return;
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      root.querySelectorAll("[data-filter-group]").forEach(function (group) {
        var visible = 0;
        group.querySelectorAll("[data-filter-text]").forEach(function (item) {
          var hit = !needle || item.getAttribute("data-filter-text").toLowerCase().indexOf(needle) >= 0;
          item.hidden = !hit;
          if (hit) visible++;
        });
        group.hidden = visible === 0;
      });
    });
  }

  // Bring the step in progress into view in a wide diagram.
  function focusDiagram(box) {
    var current = box.querySelector(".current, .overdue");
    if (!current || !current.getBBox) return;
    var svg = box.querySelector("svg");
    var view = svg.viewBox.baseVal;
    var scale = svg.getBoundingClientRect().width / (view && view.width ? view.width : 1);
    var rect = current.getBBox();
    box.scrollLeft = Math.max(0, rect.x * scale - box.clientWidth / 3);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.task-form").forEach(function (form) {
      applyConditions(form);
      liveChecks(form);
    });
    document.querySelectorAll("input[type=file][data-downscale]").forEach(function (input) {
      input.addEventListener("change", function () { shrinkInput(input); });
    });
    document.querySelectorAll("input[data-filter]").forEach(filterList);
    document.querySelectorAll(".diagram").forEach(focusDiagram);
  });
})();
