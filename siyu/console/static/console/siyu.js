/* Siyu console behaviour: toasts for django messages and failed htmx requests. */
(function () {
  "use strict";

  var TOAST_MS = { error: 9000, warning: 7000 };

  function dismiss(toast) {
    if (!toast || toast.classList.contains("is-leaving")) return;
    toast.classList.add("is-leaving");
    setTimeout(function () { toast.remove(); }, 260);
  }

  function arm(toast) {
    if (toast.dataset.armed) return;
    toast.dataset.armed = "1";
    var level = (toast.className.match(/toast-(\w+)/) || [])[1];
    setTimeout(function () { dismiss(toast); }, TOAST_MS[level] || 4500);
  }

  function armAll(root) {
    root.querySelectorAll(".toast").forEach(arm);
  }

  function showToast(text, level) {
    var stack = document.getElementById("toasts");
    if (!stack) return;
    var toast = document.createElement("div");
    toast.className = "toast toast-" + (level || "info");
    toast.setAttribute("role", "status");
    var span = document.createElement("span");
    span.className = "toast-text";
    span.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "×");
    close.textContent = "×";
    toast.append(span, close);
    stack.append(toast);
  }

  document.addEventListener("DOMContentLoaded", function () {
    // The sidebar is long; keep the current page's item in view.
    var current = document.querySelector(".nav .is-active");
    if (current) current.scrollIntoView({ block: "nearest" });
    var stack = document.getElementById("toasts");
    if (!stack) return;
    armAll(stack);
    // Toasts also arrive from htmx out-of-band swaps; arm whatever is added.
    new MutationObserver(function () { armAll(stack); }).observe(stack, { childList: true });
    stack.addEventListener("click", function (event) {
      if (event.target.closest(".toast-close")) dismiss(event.target.closest(".toast"));
    });
  });

  // htmx may have pushed a new URL (filters, pages) since the switch was rendered: come back
  // to where the user is now, not to where the page started.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches(".lang-switch")) return;
    var next = form.querySelector("input[name=next]");
    if (next) next.value = window.location.pathname + window.location.search;
  });

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : "";
    showToast(document.body.dataset.msgRequestFailed + (status ? " (" + status + ")" : ""), "error");
  });
  document.addEventListener("htmx:sendError", function () {
    showToast(document.body.dataset.msgNetworkFailed, "error");
  });

  window.siyu = { showToast: showToast };
})();
