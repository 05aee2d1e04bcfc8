/* cxnlp review: keyboard shortcuts and background submits. Served as a static file (the Content-Security-Policy
   allows no inline script). Never writes HTML: only textContent and attributes. */
(function () {
  "use strict";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var view = document.body.getAttribute("data-view");
  var statusBox = document.getElementById("status");

  function say(msg, bad) {
    if (!statusBox) return;
    statusBox.textContent = msg;
    statusBox.className = bad ? "bad" : "good";
  }

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function go(link) {
    if (link && link.getAttribute("href")) window.location.assign(link.getAttribute("href"));
  }

  /* -- background submits (with the CSRF header and the note) ---------------------------------------------- */
  function post(form, submitter) {
    var data = new FormData(form, submitter || undefined);
    var note = document.getElementById("note");
    if (note && note.value.trim() && form.id !== "note-form") data.set("note", note.value.trim());
    if (form.id === "note-form" && note) data.set("note", note.value);
    var body = new URLSearchParams();
    data.forEach(function (v, k) { body.append(k, v); });
    say("speichere …");
    return fetch(form.getAttribute("action"), {
      method: "POST",
      credentials: "same-origin",
      headers: {"X-CSRF-Token": csrf, "Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded"},
      body: body.toString()
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error(j.error || ("HTTP " + r.status));
        say("gespeichert");
        window.location.reload();
      });
    }).catch(function (e) { say("Fehler: " + e.message, true); });
  }

  document.querySelectorAll("form.js-post").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      post(form, ev.submitter);
    });
  });

  function submitWith(form, button) {
    if (!form) return;
    if (button) { post(form, button); } else { post(form, null); }
  }

  /* -- list page: row selection ------------------------------------------------------------------------------ */
  var rows = Array.prototype.slice.call(document.querySelectorAll("#items tr.row"));
  var sel = -1;
  function select(i) {
    if (!rows.length) return;
    if (sel >= 0 && rows[sel]) rows[sel].classList.remove("sel");
    sel = Math.max(0, Math.min(rows.length - 1, i));
    rows[sel].classList.add("sel");
    rows[sel].scrollIntoView({block: "nearest"});
  }
  rows.forEach(function (row, i) {
    row.addEventListener("click", function (ev) {
      if (ev.target.closest("a")) return;
      go(row.querySelector("a.item-link"));
    });
  });

  /* -- evidence: hovering a tag row lights its spans ---------------------------------------------------------- */
  document.querySelectorAll("#tags tr[data-tag]").forEach(function (tr) {
    var tag = tr.getAttribute("data-tag");
    function light(on) {
      document.querySelectorAll("#text mark.ev").forEach(function (m) {
        var tags = (m.getAttribute("data-tags") || "").split("|");
        if (tags.indexOf(tag) >= 0) m.classList.toggle("lit", on);
      });
    }
    tr.addEventListener("mouseenter", function () { light(true); });
    tr.addEventListener("mouseleave", function () { light(false); });
  });

  /* -- help ----------------------------------------------------------------------------------------------------- */
  var help = document.getElementById("help");
  var helpToggle = document.getElementById("help-toggle");
  function toggleHelp() { if (help) help.hidden = !help.hidden; }
  if (helpToggle) helpToggle.addEventListener("click", toggleHelp);

  /* -- keyboard ------------------------------------------------------------------------------------------------- */
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (typing(ev.target)) {
      if (ev.key === "Escape") ev.target.blur();
      return;
    }
    var k = ev.key;
    if (k === "?") { toggleHelp(); ev.preventDefault(); return; }
    if (k === "/") {
      var q = document.getElementById("q");
      if (q) { q.focus(); q.select(); ev.preventDefault(); }
      return;
    }
    if (k === "q") { window.location.assign("/queue"); return; }
    if (view === "list" || view === "queue") {
      if (k === "j") { select(sel + 1); ev.preventDefault(); }
      else if (k === "k") { select(sel - 1); ev.preventDefault(); }
      else if ((k === "Enter" || k === "o") && sel >= 0) { go(rows[sel].querySelector("a.item-link")); ev.preventDefault(); }
      else if (k === "n") { go(document.getElementById("next-page")); }
      else if (k === "p") { go(document.getElementById("prev-page")); }
      return;
    }
    if (view === "item") {
      if (k === "j") { go(document.getElementById("next-item")); }
      else if (k === "k") { go(document.getElementById("prev-item")); }
      else if (k === "u") { go(document.getElementById("back")); }
      else if (k === "n") { var note = document.getElementById("note"); if (note) { note.focus(); ev.preventDefault(); } }
      else if (k === "c") { submitWith(document.getElementById("confirm-form"), null); ev.preventDefault(); }
      else if (k === "1" || k === "2" || k === "3") {
        var f = document.getElementById("form-sentiment");
        var b = f && f.querySelector('button[data-key="' + k + '"]');
        if (b) { submitWith(f, b); ev.preventDefault(); }
      } else if (k === "r" || k === "x") {
        var t = document.querySelector('input.toggle[data-key="' + k + '"]');
        if (t) {
          var form = t.form;
          var btn = form.querySelector('button[name="value"][value="' + t.value + '"]');
          submitWith(form, btn);
          ev.preventDefault();
        }
      }
    }
  });
})();
