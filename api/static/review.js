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
    var data = new FormData(form);
    if (event.submitter && event.submitter.name) {
      data.append(event.submitter.name, event.submitter.value);
    }
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(data),
      headers: { "X-Stek-Fetch": "1" },
      credentials: "same-origin"
    }).then(function (response) {
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
      var status = document.getElementById("meldingen");
      if (status) {
        status.innerHTML = "";
        var p = document.createElement("p");
        p.className = "notice";
        p.setAttribute("role", "status");
        p.textContent = answer.body.message;
        status.appendChild(p);
      }
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

  // "Select all on this page" needs JavaScript; without it the box stays hidden.
  var all = document.getElementById("kies-alle");
  if (all) {
    all.hidden = false;
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=selectie][form=bulk]").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  }
})();
