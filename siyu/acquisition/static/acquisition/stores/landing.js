// Store code landing page: ask for the location, show the nearest store; on any failure
// (denied, timed out, unavailable, unsupported, insecure page) fall back to choosing a city,
// which also works without JavaScript.
(function () {
  "use strict";
  var root = document.getElementById("landing");
  if (!root) return;
  var locateSection = document.getElementById("locate");
  var statusLine = document.getElementById("locate-status");
  var button = document.getElementById("locate-button");
  var nearest = document.getElementById("nearest");
  var fallback = document.getElementById("fallback");
  var fallbackBody = document.getElementById("fallback-body");
  // The Geolocation API's own timeout starts only once permission is given; a customer who
  // ignores the prompt would otherwise wait forever.
  var WATCHDOG_MS = 15000;
  var attempt = 0;

  function message(name) { return root.getAttribute("data-msg-" + name) || ""; }

  function say(text, warning) {
    statusLine.textContent = text;
    statusLine.className = warning ? "warning" : "";
  }

  function showFallback(text) {
    say(text, true);
    button.hidden = false;
    fallback.classList.add("is-suggested");
  }

  function load(url, target) {
    return fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) {
        return response.text().then(function (html) {
          target.innerHTML = html;
          return response.ok;
        });
      })
      .catch(function () { say(message("failed"), true); return false; });
  }

  function showNearest(position) {
    var query = new URLSearchParams({
      lat: position.coords.latitude.toFixed(6),
      lng: position.coords.longitude.toFixed(6),
    });
    say(message("searching"));
    return load(root.getAttribute("data-nearest-url") + "?" + query, nearest).then(function (ok) {
      if (ok) {
        say("");
        locateSection.hidden = true;
        fallback.classList.remove("is-suggested");
      } else {
        button.hidden = false;
      }
    });
  }

  function locate() {
    if (!window.isSecureContext) { showFallback(message("insecure")); return; }
    if (!("geolocation" in navigator)) { showFallback(message("unsupported")); return; }
    var mine = ++attempt;
    var settled = false;
    button.hidden = true;
    say(message("locating"));
    var watchdog = setTimeout(function () {
      if (!settled && mine === attempt) { showFallback(message("timeout")); }
    }, WATCHDOG_MS);
    navigator.geolocation.getCurrentPosition(function (position) {
      // A position arriving after the watchdog fired still wins over the fallback.
      if (mine !== attempt) return;
      settled = true;
      clearTimeout(watchdog);
      showNearest(position);
    }, function (error) {
      if (mine !== attempt) return;
      settled = true;
      clearTimeout(watchdog);
      var reasons = { 1: "denied", 2: "unavailable", 3: "timeout" };
      showFallback(message(reasons[error.code] || "unavailable"));
    }, { enableHighAccuracy: false, timeout: 10000, maximumAge: 300000 });
  }

  function refreshFallback(changed) {
    var form = document.getElementById("fallback-form");
    var params = new URLSearchParams();
    var city = form.elements.city ? form.elements.city.value : "";
    if (city) params.set("city", city);
    if (changed !== "city" && form.elements.district && form.elements.district.value) {
      params.set("district", form.elements.district.value);
    }
    load(root.getAttribute("data-stores-url") + "?" + params, fallbackBody).then(function () {
      var again = fallbackBody.querySelector("[name='" + changed + "']");
      if (again) again.focus();
    });
  }

  fallbackBody.addEventListener("change", function (event) {
    var name = event.target && event.target.name;
    if (name === "city" || name === "district") refreshFallback(name);
  });
  fallbackBody.addEventListener("submit", function (event) {
    event.preventDefault();
    refreshFallback("district");
  });
  button.addEventListener("click", locate);

  if (root.getAttribute("data-has-coordinates") === "1") {
    locateSection.hidden = false;
    locate();
  }
})();
