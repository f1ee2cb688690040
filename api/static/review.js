// Review page, progressive enhancement: a decision is sent with fetch and the server answers
// with the new row and summary, so the list, its filters and the scroll position stay. Without
// JavaScript the same forms post and redirect back to the same filters and row.
(function () {
  "use strict";

  function showError(row, text) {
    var box = row && row.querySelector(".row-error");
    if (box) { box.textContent = text; box.hidden = false; }
  }

  function replaceHtml(element, html) {
    var holder = document.createElement("tbody");
    holder.innerHTML = html;
    var fresh = holder.firstElementChild;
    if (fresh) { element.replaceWith(fresh); }
    return fresh;
  }

  // The form's fields (with the boxes outside it that name it, and the button pressed) posted
  // with fetch; its buttons wait meanwhile (each answer's handler enables them again).
  function post(form, submitter, headers) {
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    return fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(data),
      headers: headers,
      credentials: "same-origin"
    });
  }

  // A message in #meldingen, as the page's own (nlds.html alert): kind ok or error.
  function say(kind, role, text) {
    var box = document.getElementById("meldingen");
    if (!box) { return; }
    var alert = document.createElement("div");
    alert.className = "utrecht-alert utrecht-alert--" + kind;
    alert.setAttribute("role", role);
    var content = document.createElement("div");
    content.className = "utrecht-alert__content";
    var message = document.createElement("div");
    message.className = "utrecht-alert__message";
    var p = document.createElement("p");
    p.className = "utrecht-paragraph";
    p.textContent = text;
    message.appendChild(p);
    content.appendChild(message);
    alert.appendChild(content);
    box.replaceChildren(alert);
  }

  function replaceSummary(html) {
    var old = document.getElementById("samenvatting");
    if (!old || !html) { return; }
    var holder = document.createElement("div");
    holder.innerHTML = html;
    if (holder.firstElementChild) { old.replaceWith(holder.firstElementChild); }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-fetch")) { return; }
    event.preventDefault();
    var row = form.closest("tr");
    var buttons = form.querySelectorAll("button");
    post(form, event.submitter, { "X-Stek-Fetch": "1" }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (answer) {
      if (!answer.ok) {
        buttons.forEach(function (b) { b.disabled = false; });
        showError(row, answer.body.error || "Niet opgeslagen.");
        return;
      }
      replaceSummary(answer.body.summary);
      // "accept all open": the count the server checks is the one the reviewer sees now
      var expected = document.querySelector("#bulk input[name=verwacht]");
      var shown = document.getElementById("open-totaal");
      if (expected && answer.body.open_total !== undefined) {
        expected.value = answer.body.open_total;
        if (shown) { shown.textContent = answer.body.open_total; }
      }
      say("ok", "status", answer.body.message);
      if (answer.body.row) {
        var fresh = replaceHtml(row, answer.body.row);
        var focus = fresh && fresh.querySelector("button");
        if (focus) { focus.focus(); }
      } else if (row) {
        row.remove();  // no longer in this filter (e.g. "wat ik moet beslissen")
      }
    }).catch(function () {
      buttons.forEach(function (b) { b.disabled = false; });
      showError(row, "Geen verbinding met de server; probeer het opnieuw.");
    });
  });

  // "Afwijzen…" unfolds the row's reject controls (folded by stek.css when JavaScript runs).
  document.addEventListener("click", function (event) {
    var toggle = event.target instanceof Element && event.target.closest(".reject-toggle");
    if (!toggle) { return; }
    var panel = document.getElementById(toggle.getAttribute("aria-controls"));
    if (!panel) { return; }
    var open = !panel.classList.contains("open");
    panel.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      var first = panel.querySelector("select");
      if (first) { first.focus(); }
    }
  });

  // Enter in a row's reject fields means "Afwijzen", not the form's first button (Accepteren).
  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key !== "Enter" || !(field instanceof HTMLInputElement) ||
        !field.closest(".reject")) { return; }
    event.preventDefault();
    var reject = field.closest(".reject").querySelector("button[value=reject]");
    if (reject) { reject.click(); }
  });

  // Bulk actions (the form #bulk): posted with fetch; the page the server redirects to
  // replaces <main>, so no new document is loaded and the list keeps its place in history.
  // The answer is the same page an ordinary post would show (message, filters, errors).
  // Without JavaScript the form posts and redirects the ordinary way.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.id !== "bulk" || !window.DOMParser) {
      return;
    }
    event.preventDefault();
    var buttons = form.querySelectorAll("button");
    post(form, event.submitter, {}).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      return response.text().then(function (body) {
        return { url: response.url, ok: response.ok, html: type.indexOf("text/html") === 0,
                 status: response.status, body: body };
      });
    }).then(function (page) {
      buttons.forEach(function (b) { b.disabled = false; });
      if (new URL(page.url).pathname === "/inloggen") {  // signed out meanwhile: back here
        window.location.assign("/inloggen?next=" +
          encodeURIComponent(window.location.pathname + window.location.search));
        return;
      }
      var doc = page.html ? new DOMParser().parseFromString(page.body, "text/html") : null;
      var fresh = doc && doc.getElementById("inhoud");
      var old = document.getElementById("inhoud");
      if (!page.ok || !fresh || !old) {  // refused (CSRF, bad input, a fault): nothing saved
        say("error", "alert", "Niets opgeslagen (fout " + page.status + "). Laad de pagina " +
          "opnieuw en probeer het nog eens.");
        return;
      }
      old.replaceWith(document.importNode(fresh, true));
      document.title = doc.title;
      if (window.history && page.url) { window.history.replaceState(null, "", page.url); }
      bindSelectAll();
      var said = document.querySelector("#meldingen [role=status], #meldingen [role=alert]");
      if (said) { said.setAttribute("tabindex", "-1"); said.focus(); }
    }).catch(function () {
      buttons.forEach(function (b) { b.disabled = false; });
      say("error", "alert", "Geen verbinding met de server; of de actie is opgeslagen, is " +
        "niet zeker. Laad de pagina opnieuw voordat je het nog eens probeert.");
    });
  });

  // "Select all on this page" needs JavaScript; without it the box stays hidden.
  function bindSelectAll() {
    var all = document.getElementById("kies-alle");
    if (!all) { return; }
    all.hidden = false;
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=selectie][form=bulk]").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  }
  bindSelectAll();
})();
