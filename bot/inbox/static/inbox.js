// Baken counsellor inbox: live updates without a front-end build step.
// The server pushes "change" events (server-sent events); every element with data-live-src then
// fetches its server-rendered, already escaped HTML part and swaps it in.
(function () {
  "use strict";
  var AUTO = { "X-Inbox-Auto": "1" };

  function refresh(el) {
    var src = el.getAttribute("data-live-src");
    return fetch(src, { headers: AUTO, credentials: "same-origin" }).then(function (res) {
      if (res.status === 401) { window.location.assign("/inbox/login?expired=1"); return; }
      if (!res.ok) { return; }
      return res.text().then(function (html) {
        var atEnd = el.hasAttribute("data-scroll-end") &&
          el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        el.innerHTML = html;
        if (atEnd) { el.scrollTop = el.scrollHeight; }
      });
    });
  }

  function announce(data) {
    var status = document.getElementById("live-status");
    if (!status || !data) { return; }
    if (data.urgent > 0) { document.title = "(!" + data.urgent + ") " + document.title.replace(/^\(!\d+\) /, ""); }
    else { document.title = document.title.replace(/^\(!\d+\) /, ""); }
    var previous = status.getAttribute("data-waiting");
    if (previous !== null && Number(data.waiting) > Number(previous)) {
      status.textContent = "New conversation waiting";
    }
    status.setAttribute("data-waiting", String(data.waiting));
  }

  function live() {
    var parts = document.querySelectorAll("[data-live-src]");
    if (!parts.length || !window.EventSource) { return; }
    var source = new EventSource("/inbox/events");
    source.addEventListener("change", function (event) {
      var data = null;
      try { data = JSON.parse(event.data); } catch (e) { data = null; }
      announce(data);
      parts.forEach(refresh);
    });
    source.addEventListener("logout", function () {
      source.close();
      window.location.assign("/inbox/login?expired=1");
    });
    source.addEventListener("open", function () {
      document.documentElement.setAttribute("data-live", "on");
    });
  }

  function canned() {
    document.querySelectorAll("select[data-canned-target]").forEach(function (select) {
      select.addEventListener("change", function () {
        var target = document.getElementById(select.getAttribute("data-canned-target"));
        if (target && select.value) {
          target.value = target.value ? target.value + "\n" + select.value : select.value;
          target.focus();
        }
        select.value = "";
      });
    });
  }

  function forms() {
    document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.submit(); });
    });
    document.querySelectorAll("textarea[data-submit-on-ctrl-enter]").forEach(function (el) {
      el.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          el.form.requestSubmit();
        }
      });
    });
    document.querySelectorAll("[data-scroll-end]").forEach(function (el) {
      el.scrollTop = el.scrollHeight;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    forms();
    canned();
    live();
  });
})();
