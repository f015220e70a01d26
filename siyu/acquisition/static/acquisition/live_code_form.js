// The live code form: add and remove member rows and their time slots (cloned from the
// <template>s, numbered past the highest number in use: the server takes rows in numeric
// order and tolerates gaps), and show the time slots only in time-slot mode.
(function () {
  "use strict";

  function nextIndex(rows) {
    var max = -1;
    rows.forEach(function (row) {
      var n = parseInt(row.dataset.index, 10);
      if (!isNaN(n) && n > max) max = n;
    });
    return max + 1;
  }

  function init(form) {
    var memberList = form.querySelector("[data-member-list]");
    var memberBlank = form.querySelector("template[data-member-blank]");
    var slotBlank = form.querySelector("template[data-slot-blank]");

    form.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button || !form.contains(button)) return;
      if (button.hasAttribute("data-member-add")) {
        var m = nextIndex(memberList.querySelectorAll(":scope > [data-member-row]"));
        memberList.insertAdjacentHTML("beforeend", memberBlank.innerHTML.replaceAll("__m__", m));
        var added = memberList.lastElementChild;
        added.querySelector("select").focus();
      } else if (button.hasAttribute("data-member-remove")) {
        button.closest("[data-member-row]").remove();
      } else if (button.hasAttribute("data-slot-add")) {
        var row = button.closest("[data-member-row]");
        var list = row.querySelector("[data-slot-list]");
        var s = nextIndex(list.querySelectorAll("[data-slot-row]"));
        list.insertAdjacentHTML("beforeend", slotBlank.innerHTML
          .replaceAll("__m__", row.dataset.index).replaceAll("__s__", s));
      } else if (button.hasAttribute("data-slot-remove")) {
        button.closest("[data-slot-row]").remove();
      }
    });

    form.addEventListener("change", function (event) {
      if (event.target.name === "mode") form.dataset.mode = event.target.value;
    });
  }

  document.querySelectorAll("[data-live-code-form]").forEach(init);
})();
