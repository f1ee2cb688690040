// Intake and stock forms: a Leaflet map of the region (no tiles; the gemeente and wijk outlines
// are the base layer) to click anchor points or a dwelling's location on, and to draw no-go
// areas with Leaflet.draw. Every click and drawing lands in a visible form field, so the form
// also works by keyboard without the map, and the server checks everything again.
(function () {
  "use strict";

  var COLOURS = { school: "#0b5cad", werk: "#6a3d9a", netwerk: "#1a7f37", locatie: "#a4000f" };

  function dutchDrawTexts() {
    var d = L.drawLocal;
    d.draw.toolbar.actions = { title: "Tekenen afbreken", text: "Afbreken" };
    d.draw.toolbar.finish = { title: "Tekenen afronden", text: "Klaar" };
    d.draw.toolbar.undo = { title: "Laatste punt weghalen", text: "Laatste punt weg" };
    d.draw.toolbar.buttons.polygon = "Teken een no-go-gebied";
    d.draw.handlers.polygon.tooltip = {
      start: "Klik om het gebied te beginnen.",
      cont: "Klik voor het volgende punt.",
      end: "Klik op het eerste punt om het gebied te sluiten."
    };
    d.draw.handlers.polyline.error = "De rand mag zichzelf niet snijden.";
    d.edit.toolbar.actions.save = { title: "Wijzigingen bewaren", text: "Bewaren" };
    d.edit.toolbar.actions.cancel = { title: "Wijzigingen ongedaan maken", text: "Annuleren" };
    d.edit.toolbar.actions.clearAll = { title: "Alle getekende gebieden weghalen", text: "Alles weg" };
    d.edit.toolbar.buttons = {
      edit: "Getekende gebieden aanpassen", editDisabled: "Nog niets om aan te passen",
      remove: "Getekende gebieden weghalen", removeDisabled: "Nog niets om weg te halen"
    };
    d.edit.handlers.edit.tooltip = { text: "Sleep de punten om het gebied aan te passen.", subtext: "" };
    d.edit.handlers.remove.tooltip = { text: "Klik op een gebied om het weg te halen." };
  }

  function csrf(form) {
    var input = form && form.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  function post(url, form, fields) {
    var body = new URLSearchParams();
    body.append("csrf_token", csrf(form));
    Object.keys(fields).forEach(function (k) {
      var v = fields[k];
      if (Array.isArray(v)) { v.forEach(function (x) { body.append(k, x); }); } else { body.append(k, v); }
    });
    return fetch(url, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { return r.json(); });
  }

  function latlonText(latlng) {
    return latlng.lat.toFixed(6) + ", " + latlng.lng.toFixed(6);
  }

  function parseLatLon(text) {
    var parts = (text || "").split(",").map(function (p) { return parseFloat(p); });
    if (parts.length !== 2 || isNaN(parts[0]) || isNaN(parts[1])) { return null; }
    return L.latLng(parts[0], parts[1]);
  }

  function chosenTypes(form) {
    return Array.prototype.map.call(form.querySelectorAll("select.type-choice"), function (s) {
      return s.value;
    }).filter(function (v) { return v; });
  }

  function setup(el) {
    var form = el.closest("form");
    var map = L.map(el, { zoomSnap: 0.25, attributionControl: false });
    el.stekMap = map; // lets a browser test turn a place into a click position
    var areas = L.geoJSON(JSON.parse(el.getAttribute("data-areas") || "{}"), {
      interactive: false,
      style: function (f) {
        var gemeente = f.properties.level === "gemeente";
        return { color: gemeente ? "#1b1f24" : "#6b7785", weight: gemeente ? 2 : 0.7,
                 fillColor: "#ffffff", fillOpacity: gemeente ? 0.35 : 0 };
      }
    }).addTo(map);
    if (areas.getLayers().length) { map.fitBounds(areas.getBounds()); } else { map.setView([51.7, 5.4], 10); }

    var markers = {};
    function place(name, latlng, input) {
      if (markers[name]) { map.removeLayer(markers[name]); }
      if (!latlng) { delete markers[name]; return; }
      markers[name] = L.circleMarker(latlng, {
        radius: 8, color: "#1b1f24", weight: 2, fillColor: COLOURS[name] || "#0b5cad", fillOpacity: 0.9
      }).bindTooltip(name === "locatie" ? "woning" : "ankerpunt " + name).addTo(map);
      if (input) { input.value = latlonText(latlng); }
    }

    var mode = el.getAttribute("data-mode");
    if (mode === "anchors") {
      ["school", "werk", "netwerk"].forEach(function (name) {
        var input = document.getElementById("f-anchor_" + name);
        if (!input) { return; }
        place(name, parseLatLon(input.value));
        input.addEventListener("change", function () { place(name, parseLatLon(input.value)); });
      });
      map.on("click", function (e) {
        var picked = form.querySelector("input[name=kaartklik]:checked");
        var name = picked ? picked.value : "school";
        place(name, e.latlng, document.getElementById("f-anchor_" + name));
      });
    } else if (mode === "location") {
      var target = document.getElementById(el.getAttribute("data-target"));
      var effect = document.getElementById(el.getAttribute("data-target") + "-effect");
      var snap = el.getAttribute("data-snap");
      var show = function (latlng) {
        place("locatie", latlng, null);
        if (!latlng || !snap || !effect) { return; }
        post(snap, form, { location: latlonText(latlng) }).then(function (answer) {
          effect.textContent = answer.message || answer.error || "";
        });
      };
      show(parseLatLon(target.value));
      target.addEventListener("change", function () { show(parseLatLon(target.value)); });
      map.on("click", function (e) { target.value = latlonText(e.latlng); show(e.latlng); });
    }

    var drawTarget = el.getAttribute("data-draw");
    var textarea = drawTarget && document.getElementById(drawTarget);
    if (!textarea || !L.Control.Draw) { return; }
    dutchDrawTexts();
    var previewUrl = el.getAttribute("data-preview");
    var drawn = new L.FeatureGroup().addTo(map);
    var drawnStyle = { color: "#a4000f", weight: 2, fillColor: "#a4000f", fillOpacity: 0.25, dashArray: "6 4" };
    if (textarea.value.trim()) {
      try {
        L.geoJSON(JSON.parse(textarea.value), { style: drawnStyle }).eachLayer(function (layer) {
          drawn.addLayer(layer);
        });
      } catch (err) { /* the server names the problem with the text */ }
    }
    map.addControl(new L.Control.Draw({
      position: "topright",
      draw: { polygon: { allowIntersection: false, showArea: false, shapeOptions: drawnStyle },
              polyline: false, rectangle: false, circle: false, marker: false, circlemarker: false },
      edit: { featureGroup: drawn, remove: true }
    }));
    var drawEffect = document.getElementById(drawTarget + "-effect");
    function sync() {
      var layers = drawn.getLayers();
      textarea.value = layers.length ? JSON.stringify(drawn.toGeoJSON()) : "";
      if (!drawEffect) { return; }
      if (!layers.length) { drawEffect.textContent = "Nog geen gebied getekend."; return; }
      post(previewUrl, form, { drawing: textarea.value, types: chosenTypes(form) }).then(function (a) {
        drawEffect.textContent = (layers.length === 1 ? "1 getekend gebied. " : layers.length + " getekende gebieden. ") +
          (a.message || a.error || "");
      });
    }
    map.on(L.Draw.Event.CREATED, function (e) { drawn.addLayer(e.layer); sync(); });
    map.on(L.Draw.Event.EDITED, sync);
    map.on(L.Draw.Event.DELETED, sync);
    if (textarea.value.trim()) { sync(); }

    // no-go areas by name: what each choice removes
    Array.prototype.forEach.call(form.querySelectorAll("input.no-go-name"), function (input) {
      var out = document.getElementById(input.id + "-effect");
      var ask = function () {
        if (!out) { return; }
        if (!input.value.trim()) { out.textContent = ""; return; }
        post(previewUrl, form, { area: input.value, types: chosenTypes(form) }).then(function (a) {
          out.textContent = a.message || a.error || "";
        });
      };
      input.addEventListener("change", ask);
      if (input.value.trim()) { ask(); }
    });
  }

  function start() {
    if (typeof L === "undefined") { return; }
    Array.prototype.forEach.call(document.querySelectorAll(".form-map"), setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
