// Drafts of a form kept as the cadre types (on this device at once, on the server every few
// seconds), restored on the next visit, and a submit that survives a dropped connection.
// Without this script the form works as before.
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !window.fetch || !window.FormData) return;
  var form = document.querySelector(script.getAttribute("data-form"));
  var url = script.getAttribute("data-url");
  if (!form || !url) return;
  var text = {};
  try {
    text = JSON.parse(script.getAttribute("data-messages") || "{}");
  } catch (e) {
    text = {};
  }
  var storeKey = "powerlist.draft:" + (script.getAttribute("data-user") || "") + ":" + url;
  var SKIP = { csrf_token: 1, idempotency_key: 1 };
  var TRANSIENT = { 502: 1, 503: 1, 504: 1 };
  var SERVER_EVERY_MS = 4000;
  var LOCAL_AFTER_MS = 400;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    var field = form.querySelector('input[name="csrf_token"]');
    return meta ? meta.getAttribute("content") : field ? field.value : "";
  }

  // --- the form's values, as a plain object: name -> value, or a list of values -----------------

  function fieldsOf(el) {
    return el.name && !SKIP[el.name] && el.type !== "file" && el.type !== "submit" && el.type !== "button";
  }

  function read() {
    var data = {};
    var files = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!fieldsOf(el) || (el.type === "hidden" && el.name.indexOf("keep_") !== 0)) return;
      if (el.type === "checkbox") {
        if (!Array.isArray(data[el.name])) data[el.name] = [];
        if (el.checked) data[el.name].push(el.value);
        if (el.name.indexOf("keep_") === 0 && el.checked) {
          var link = el.parentNode.querySelector("a");
          var slot = el.name.slice(5);
          (files[slot] = files[slot] || []).push({ id: el.value, filename: link ? link.textContent : el.value });
        }
      } else if (el.type === "radio") {
        if (el.checked) data[el.name] = el.value;
        else if (!(el.name in data)) data[el.name] = "";
      } else if (el.tagName === "SELECT" && el.multiple) {
        data[el.name] = Array.prototype.filter
          .call(el.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
      } else {
        data[el.name] = el.value;
      }
    });
    return { data: data, files: files };
  }

  function keptBox(slot, file) {
    var box = form.querySelector('.attachment[data-field="' + slot + '"]');
    if (!box || form.querySelector('input[name="keep_' + slot + '"][value="' + file.id + '"]')) return;
    var label = document.createElement("label");
    label.className = "check kept";
    var input = document.createElement("input");
    input.type = "checkbox";
    input.name = "keep_" + slot;
    input.value = String(file.id);
    var name = document.createElement("span");
    name.textContent = " " + (file.filename || file.id);
    label.appendChild(input);
    label.appendChild(name);
    var picker = box.querySelector('input[type="file"]');
    box.insertBefore(label, picker || null);
  }

  function write(data, files) {
    Object.keys(files || {}).forEach(function (slot) {
      files[slot].forEach(function (file) { keptBox(slot, file); });
    });
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!fieldsOf(el) || !(el.name in data) || (el.type === "hidden" && el.name.indexOf("keep_") !== 0)) return;
      var value = data[el.name];
      var values = Array.isArray(value) ? value.map(String) : [String(value)];
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = values.indexOf(el.value) >= 0;
      } else if (el.tagName === "SELECT" && el.multiple) {
        Array.prototype.forEach.call(el.options, function (o) { o.selected = values.indexOf(o.value) >= 0; });
      } else {
        el.value = values[0];
      }
    });
    // Let the page's own scripts (the live checks) see the restored values.
    Array.prototype.forEach.call(form.elements, function (el) {
      if (fieldsOf(el) && el.name in data) el.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  function same(a, b) {
    var keys = Object.keys(a).concat(Object.keys(b));
    return keys.every(function (key) {
      return JSON.stringify(a[key]) === JSON.stringify(b[key]);
    });
  }

  // --- keeping: on the device at once, on the server every few seconds --------------------------

  var initial = read();
  var revision = 0;
  var sentRevision = 0;
  var serverGone = false;
  var localTimer = null;

  function loadLocal() {
    try {
      var kept = JSON.parse(window.localStorage.getItem(storeKey) || "null");
      return kept && typeof kept.revision === "number" && kept.data ? kept : null;
    } catch (e) {
      return null;
    }
  }

  function saveLocal() {
    var now = read();
    try {
      window.localStorage.setItem(
        storeKey,
        JSON.stringify({ revision: revision, data: now.data, files: now.files })
      );
    } catch (e) {
      /* a full or disabled storage: the server copy still counts */
    }
  }

  function forgetLocal() {
    try {
      window.localStorage.removeItem(storeKey);
    } catch (e) {
      /* nothing kept */
    }
  }

  function touched() {
    revision = Date.now();
    clearTimeout(localTimer);
    localTimer = setTimeout(saveLocal, LOCAL_AFTER_MS);
  }

  function request(method, body, keepalive) {
    var headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
    if (body) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: method,
      headers: headers,
      credentials: "same-origin",
      body: body ? JSON.stringify(body) : undefined,
      keepalive: !!keepalive,
    });
  }

  function saveServer(keepalive) {
    if (serverGone || !revision || revision === sentRevision || !navigator.onLine) return;
    var at = revision;
    request("PUT", { data: read().data, revision: at }, keepalive)
      .then(function (response) {
        if (response.ok || response.status === 409) sentRevision = at; // 409: a later typing is kept
        else if (response.status === 403 || response.status === 404) serverGone = true;
      })
      .catch(function () {
        /* offline: tried again in a few seconds */
      });
  }

  form.addEventListener("input", touched);
  form.addEventListener("change", function (event) {
    if (event.isTrusted) touched();
  });
  setInterval(saveServer, SERVER_EVERY_MS);
  window.addEventListener("pagehide", function () {
    if (revision) {
      saveLocal();
      saveServer(true);
    }
  });

  // --- restoring the newest of the device's and the server's draft -----------------------------

  function notice(message, kind, button, onClick) {
    var old = document.getElementById("draft-notice");
    if (old) old.parentNode.removeChild(old);
    var box = document.createElement("div");
    box.id = "draft-notice";
    box.className = "flash " + kind + " draft-notice";
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    var span = document.createElement("span");
    span.textContent = message;
    box.appendChild(span);
    if (button) {
      box.appendChild(document.createTextNode(" · "));
      var action = document.createElement("button");
      action.type = "button";
      action.className = "link";
      action.textContent = button;
      action.addEventListener("click", onClick);
      box.appendChild(action);
    }
    form.parentNode.insertBefore(box, form);
    return box;
  }

  function discard() {
    forgetLocal();
    revision = 0;
    sentRevision = 0;
    request("DELETE").catch(function () {});
    write(initial.data, {});
    var box = document.getElementById("draft-notice");
    if (box) box.parentNode.removeChild(box);
  }

  function restore(draft, files, savedAt) {
    if (same(draft.data, initial.data) && !Object.keys(files || {}).length) return;
    write(draft.data, files);
    revision = draft.revision;
    sentRevision = draft.fromServer ? draft.revision : 0;
    var message = text.restored || "已恢复草稿";
    notice(savedAt ? message + "（" + savedAt + "）" : message, "info", text.discard || "丢弃", discard);
  }

  var local = loadLocal();
  request("GET")
    .then(function (response) {
      if (response.status === 403 || response.status === 404) serverGone = true;
      return response.ok ? response.json() : { draft: null };
    })
    .catch(function () {
      return { draft: null };
    })
    .then(function (answer) {
      var server = answer && answer.draft;
      if (server && (!local || server.revision >= local.revision)) {
        restore({ data: server.data, revision: server.revision, fromServer: true }, server.attachments,
          server.saved_at_local);
      } else if (local && !serverGone) {
        restore(local, local.files, "");
      } else if (serverGone) {
        forgetLocal(); // the step is done or no longer one's own
      }
    });

  // --- a submit that survives a dropped connection ----------------------------------------------

  var sending = false;
  var queued = false;
  var retryTimer = null;

  function unlock() {
    delete form.dataset.sent;
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.disabled = false;
      if (button.dataset.label) button.textContent = button.dataset.label;
    });
  }

  function queue() {
    sending = false;
    queued = true;
    setTimeout(unlock, 20); // after the page's own once-only guard has run
    notice(
      text.offline || "网络连接中断，表单已保留在本机，恢复连接后会自动提交。",
      "error",
      text.retry || "立即重试",
      function () { send(); }
    );
    clearTimeout(retryTimer);
    if (navigator.onLine) retryTimer = setTimeout(send, 15000); // a server that answered 502/503/504
  }

  function replacePage(html) {
    document.open();
    document.write(html);
    document.close();
  }

  function send() {
    if (sending) return;
    clearTimeout(retryTimer);
    saveLocal();
    if (!navigator.onLine) {
      queue();
      return;
    }
    sending = true;
    if (queued) notice(text.sending || "正在重新提交…", "info");
    fetch(form.getAttribute("action") || window.location.href, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-Powerlist-Submit": "fetch" },
    })
      .then(function (response) {
        if (TRANSIENT[response.status]) {
          queue();
          return null;
        }
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") >= 0) {
          return response.json().then(function (answer) {
            if (answer && answer.redirect) {
              forgetLocal();
              window.location.assign(answer.redirect);
            } else {
              sending = false;
              unlock();
            }
          });
        }
        if (response.redirected) {
          forgetLocal();
          window.location.assign(response.url);
          return null;
        }
        return response.text().then(replacePage); // the form again, with what to correct
      })
      .catch(function () {
        queue();
      });
  }

  form.querySelectorAll("button[type=submit]").forEach(function (button) {
    button.dataset.label = button.textContent;
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (sending) return;
    send();
  });
  window.addEventListener("online", function () {
    if (queued) send();
  });
})();
