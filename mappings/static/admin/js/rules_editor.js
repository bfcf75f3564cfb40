/* The mapping rules table: row buttons, transform choices and the mode switch re-render the
   editor on the server (its one source of truth) without saving; Preview shows its result in
   place. Without this script the same buttons submit the form, which is not saved while the
   table is being rearranged. */
"use strict";
(function () {
  function editor() { return document.getElementById("rules-editor"); }

  function post(url, form, extra) {
    var data = new FormData(form);
    Object.keys(extra || {}).forEach(function (key) { data.set(key, extra[key]); });
    return fetch(url, {method: "POST", body: data, credentials: "same-origin",
                       headers: {"X-Requested-With": "XMLHttpRequest"}})
      .then(function (response) {
        return response.text().then(function (text) {
          if (!response.ok) { throw new Error(text || response.statusText); }
          return text;
        });
      });
  }

  // One re-render at a time, each reading the form as the previous one left it.
  var queue = Promise.resolve();

  function render(op) {
    var box = editor();
    var form = box.closest("form");
    var name = box.querySelector("input[name$='-mode']").name.replace(/-mode$/, "");
    var extra = {};
    extra[name + "-op"] = op;
    return post(box.dataset.editorUrl, form, extra).then(function (html) {
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var fresh = holder.querySelector("#rules-editor");
      if (fresh) { editor().replaceWith(fresh); }
      document.dispatchEvent(new CustomEvent("rules-editor:rendered"));
    }).catch(function (error) { window.alert("The editor could not update: " + error.message); });
  }

  function rerender(op) {
    var box = editor();
    if (!box || !box.dataset.editorUrl) { return false; }
    queue = queue.then(function () { return render(op); });
    return true;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("#rules-editor button[name$='-op']");
    if (button && rerender(button.value)) { event.preventDefault(); return; }
    var preview = event.target.closest("button[data-preview-url]");
    if (preview) {
      event.preventDefault();
      var target = document.getElementById("mapping-preview-result");
      target.textContent = "Previewing…";
      var extra = {};
      extra[preview.name] = preview.value;
      post(preview.dataset.previewUrl, preview.closest("form"), extra).then(function (html) {
        target.innerHTML = html;
        target.scrollIntoView({block: "start"});
      }).catch(function (error) { target.textContent = "Preview failed: " + error.message; });
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("#rules-editor select.rule-step-name")) { rerender("refresh"); }
    // The fields offered depend on what the mapping is about.
    if (event.target.matches("#id_entity, #id_direction, #id_location, #id_operation_key")) {
      rerender("refresh");
    }
  });
})();
