/* Welcome editor (engagement/_welcome_editor.html): placeholder buttons, a UTF-8 byte counter,
 * and attachment rows added, removed, reordered and switched between kinds in place.
 * Event delegation on the document, so editors swapped in by htmx need no set-up; the script
 * may be loaded more than once (each include carries it) and installs itself only once. */
(function () {
  "use strict";
  if (window.siyuWelcomeEditor) return;

  var encoder = new TextEncoder();

  function rowsOf(editor) {
    return Array.prototype.filter.call(
      editor.querySelector("[data-welcome-rows]").children,
      function (el) { return el.matches("[data-welcome-row]"); });
  }

  function countBytes(editor) {
    var text = editor.querySelector("[data-welcome-text]");
    var size = encoder.encode(text.value).length;
    editor.querySelector("[data-welcome-bytes]").textContent = size;
    editor.querySelector("[data-welcome-counter]").classList.toggle(
      "is-over", size > Number(editor.dataset.maxBytes));
  }

  // Fields of other kinds are hidden and disabled (not posted) but keep what was typed,
  // so switching back and forth loses nothing.
  function showKind(row) {
    var kind = row.querySelector("[data-welcome-kind]").value;
    row.querySelectorAll("[data-kinds]").forEach(function (field) {
      var on = field.dataset.kinds.split(" ").indexOf(kind) >= 0;
      field.hidden = !on;
      field.querySelectorAll("input, textarea").forEach(function (input) {
        input.disabled = !on;
      });
    });
  }

  function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  // Rows are posted as <prefix>-attachments-<n>-<key>; keep n equal to the shown order.
  function renumber(editor) {
    var base = editor.dataset.prefix + "-attachments-";
    var pattern = new RegExp("^" + escapeRegExp(base) + "(\\d+|__index__)-");
    var rows = rowsOf(editor);
    rows.forEach(function (row, index) {
      row.querySelectorAll("[name], [id], label[for]").forEach(function (el) {
        ["name", "id", "for"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value && pattern.test(value)) {
            el.setAttribute(attr, value.replace(pattern, base + index + "-"));
          }
        });
      });
      row.querySelector("[data-welcome-number]").textContent = index + 1;
      row.querySelector("[data-welcome-up]").disabled = index === 0;
      row.querySelector("[data-welcome-down]").disabled = index === rows.length - 1;
    });
    editor.querySelector("[data-welcome-count]").textContent = rows.length;
    var full = rows.length >= Number(editor.dataset.maxAttachments);
    editor.querySelectorAll("[data-welcome-add]").forEach(function (button) {
      button.disabled = full;
    });
  }

  function insertPlaceholder(editor, token) {
    var text = editor.querySelector("[data-welcome-text]");
    // Never focused yet: the caret is meaningless, so add to the end.
    var start = text.dataset.touched ? text.selectionStart : text.value.length;
    var end = text.dataset.touched ? text.selectionEnd : text.value.length;
    text.setRangeText(token, start, end, "end");
    text.dataset.touched = "1";
    text.focus();
    countBytes(editor);
  }

  function addRow(editor, kind) {
    if (rowsOf(editor).length >= Number(editor.dataset.maxAttachments)) return;
    var blank = editor.querySelector("template[data-welcome-blank]");
    var row = blank.content.firstElementChild.cloneNode(true);
    row.querySelector("[data-welcome-kind]").value = kind;
    editor.querySelector("[data-welcome-rows]").append(row);
    showKind(row);
    renumber(editor);
    var first = row.querySelector("[data-kinds]:not([hidden]) input, [data-kinds]:not([hidden]) textarea");
    if (first) first.focus();
  }

  function moveRow(editor, row, step) {
    var rows = rowsOf(editor);
    var target = rows[rows.indexOf(row) + step];
    if (!target) return;
    if (step < 0) target.before(row); else target.after(row);
    renumber(editor);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-welcome-insert], [data-welcome-add], " +
      "[data-welcome-remove], [data-welcome-up], [data-welcome-down]");
    var editor = button && button.closest("[data-welcome-editor]");
    if (!editor) return;
    var row = button.closest("[data-welcome-row]");
    if (button.hasAttribute("data-welcome-insert")) {
      insertPlaceholder(editor, button.dataset.welcomeInsert);
    } else if (button.hasAttribute("data-welcome-add")) {
      addRow(editor, button.dataset.welcomeAdd);
    } else if (button.hasAttribute("data-welcome-remove")) {
      row.remove();
      renumber(editor);
    } else {
      moveRow(editor, row, button.hasAttribute("data-welcome-up") ? -1 : 1);
    }
  });

  document.addEventListener("input", function (event) {
    if (!event.target.matches("[data-welcome-text]")) return;
    event.target.dataset.touched = "1";
    countBytes(event.target.closest("[data-welcome-editor]"));
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-welcome-text]")) {
      event.target.dataset.touched = "1";
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-welcome-kind]")) {
      showKind(event.target.closest("[data-welcome-row]"));
    }
  });

  window.siyuWelcomeEditor = { countBytes: countBytes, renumber: renumber };
})();
