/* The cooperative picker of the admin forms (progressive enhancement of
   app/templates/admin/_coop_picker.html). Without it, «Buscar» posts the form and the server
   lists the matches. With it, the list follows the search box and the region as one types,
   through the registry API (GET /api/v1/cooperatives, the session's cookie): the boxes
   already checked always stay, first; the others are replaced by at most `data-limit`
   matches. If the API cannot be reached, the boxes on the page are filtered instead.
   Enter in the search box searches; in another field it sends the form as usual. */
(function () {
  "use strict";

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function count(n, one, many) {
    return n.toLocaleString("es-CL") + " " + (n === 1 ? one : many);
  }

  function rut(value) {
    var parts = String(value || "").split("-");
    if (parts.length !== 2 || !/^\d+$/.test(parts[0])) return value || "";
    return Number(parts[0]).toLocaleString("es-CL") + "-" + parts[1];
  }

  function setup(picker) {
    var form = picker.closest("form");
    var input = picker.querySelector("[data-picker-q]");
    var region = picker.querySelector("[data-picker-region]");
    var list = picker.querySelector("[data-picker-list]");
    var status = picker.querySelector("[data-picker-status]");
    var button = picker.querySelector("[data-picker-search]");
    var limit = parseInt(picker.getAttribute("data-limit"), 10) || 50;
    var timer = null;
    var sequence = 0;
    if (!input || !list || !status) return;

    function boxes() {
      return Array.prototype.slice.call(list.querySelectorAll('input[type="checkbox"]'));
    }

    function checkedCount() {
      return boxes().filter(function (box) { return box.checked; }).length;
    }

    function item(coop) {
      var label = document.createElement("label");
      var box = document.createElement("input");
      box.type = "checkbox";
      box.name = "cooperative_ids";
      box.value = String(coop.id);
      var text = document.createElement("span");
      text.appendChild(document.createTextNode(coop.name + " "));
      var detail = document.createElement("span");
      detail.className = "small muted";
      detail.textContent = (coop.rut_formatted || rut(coop.rut)) + " · " + (coop.region_name || "");
      text.appendChild(detail);
      label.appendChild(box);
      label.appendChild(document.createTextNode(" "));
      label.appendChild(text);
      return label;
    }

    function say(shown, total, searching) {
      var chosen = checkedCount();
      var words = chosen ? count(chosen, "cooperativa elegida", "cooperativas elegidas") + " (arriba, marcadas). " : "";
      if (total === 0) {
        words += "Ninguna cooperativa coincide con la búsqueda.";
      } else if (total > shown) {
        words += "Se muestran " + shown.toLocaleString("es-CL") + " de " + count(total, "cooperativa", "cooperativas") +
          (searching ? " que coinciden" : "") + "; busque por nombre, RUT o región para encontrar otras.";
      } else {
        words += searching ? count(total, "cooperativa coincide", "cooperativas coinciden") + "." :
          count(total, "cooperativa registrada", "cooperativas registradas") + ".";
      }
      status.textContent = words;
    }

    function show(page, searching) {
      var kept = {};
      // The checked boxes stay (first, in the order they had); the others make way.
      boxes().forEach(function (box) {
        var label = box.closest("label");
        if (box.checked) {
          kept[box.value] = true;
          label.hidden = false;
        } else {
          label.remove();
        }
      });
      var shown = 0;
      page.items.forEach(function (coop) {
        if (kept[String(coop.id)]) return;
        list.appendChild(item(coop));
        shown += 1;
      });
      var matchingKept = page.items.length - shown;
      say(shown, Math.max(page.total - matchingKept, 0), searching);
    }

    function filterHere(q) {
      var wanted = fold(q);
      var shown = 0;
      boxes().forEach(function (box) {
        var label = box.closest("label");
        var match = box.checked || !wanted || fold(label.textContent).indexOf(wanted) !== -1;
        label.hidden = !match;
        if (match && !box.checked) shown += 1;
      });
      say(shown, shown, Boolean(wanted));
    }

    function search() {
      var q = input.value.trim();
      var params = new URLSearchParams({ approved: "true", per_page: String(limit) });
      if (q) params.set("q", q);
      if (region && region.value) params.set("region", region.value);
      var mine = ++sequence;
      status.textContent = "Buscando…";
      fetch("/api/v1/cooperatives?" + params.toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (reply) {
          if (!reply.ok) throw new Error(String(reply.status));
          return reply.json();
        })
        .then(function (page) {
          if (mine === sequence) show(page, Boolean(q || (region && region.value)));
        })
        .catch(function () {
          if (mine === sequence) filterHere(q);
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, 250);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        window.clearTimeout(timer);
        search();
      }
    });
    if (region) region.addEventListener("change", search);
    if (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        window.clearTimeout(timer);
        search();
      });
    }
    // Enter in another field sends the form with its main button, not with «Buscar» (the
    // first button of the form, which the browser would otherwise use).
    if (form) {
      form.addEventListener("keydown", function (event) {
        var target = event.target;
        if (event.key !== "Enter" || target === input || target.tagName !== "INPUT") return;
        if (["checkbox", "radio", "submit", "button"].indexOf(target.type) !== -1) return;
        var main = form.querySelector("[data-default-submit]");
        if (main && typeof form.requestSubmit === "function") {
          event.preventDefault();
          form.requestSubmit(main);
        }
      });
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-coop-picker]"), setup);
})();
