/* Questionnaire pages: autosave on change, live relevance and consistency checks, and the
   «No sé» note beside a question answered so. Progressive enhancement only:
   without this file every page works with its "Guardar" buttons (plain form posts). */
(function () {
  "use strict";
  var form = document.querySelector("form.q-form[data-autosave]");
  if (!form || form.getAttribute("data-readonly") || !window.fetch || !window.DOMParser) return;
  var versionInput = form.querySelector("[data-version]");
  var statusBox = form.querySelector("[data-save-status]");
  var pending = {};
  var busy = false;
  var stopped = false;
  var waiting = null; // a "Guardar" pressed while an autosave was on its way

  /* Post the form once the autosave in flight is back, with the version it returned (so the
     explicit save is not mistaken for a stale one). */
  function release() {
    var submitter = waiting;
    waiting = null;
    if (submitter && form.requestSubmit) { form.requestSubmit(submitter); return; }
    if (submitter && submitter.name) {
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = submitter.name; hidden.value = submitter.value;
      form.appendChild(hidden);
    }
    form.submit();
  }

  function say(text, isError) {
    if (!statusBox) return;
    statusBox.textContent = text;
    statusBox.classList.toggle("is-error", !!isError);
  }

  function parseNumber(text) {
    var t = text.replace(/[\s$\u00a0]/g, "");
    if (/^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$/.test(t)) t = t.replace(/\./g, "").replace(",", ".");
    else if (/^[+-]?(\d+([.,]\d*)?|[.,]\d+)$/.test(t)) t = t.replace(",", ".");
    else return undefined;
    var n = Number(t);
    return isFinite(n) ? n : undefined;
  }

  function controls(fs, name) {
    return Array.prototype.filter.call(fs.querySelectorAll("input, textarea"), function (el) { return el.name === name; });
  }

  /* The typed answer of a question (null = empty); undefined when it cannot be read here. */
  function valueOf(fs) {
    var qid = fs.getAttribute("data-qid"), type = fs.getAttribute("data-type");
    var inputs = controls(fs, "a." + qid);
    var special = controls(fs, "e." + qid).filter(function (el) { return el.checked; });
    if (type === "yes_no" || type === "choice") {
      var picked = inputs.filter(function (el) { return el.checked; })[0];
      if (!picked) return null;
      if (type === "yes_no" && picked.value === "si") return true;
      if (type === "yes_no" && picked.value === "no") return false;
      return picked.value;
    }
    if (special.length > 1) return undefined;
    var sp = special.length ? special[0].value : null;
    if (type === "multi") {
      var chosen = inputs.filter(function (el) { return el.checked; }).map(function (el) { return el.value; });
      if (sp) return chosen.length ? undefined : sp;
      return chosen.length ? chosen : null;
    }
    var input = inputs[0];
    if (input && input.validity && input.validity.badInput) return undefined;
    var text = input ? input.value.trim() : "";
    if (sp) return text ? undefined : sp;
    if (!text) return null;
    return type === "number" ? parseNumber(text) : text;
  }

  function flush() {
    var ids = Object.keys(pending);
    if (busy || stopped || !ids.length) return;
    var answers = pending;
    pending = {};
    busy = true;
    say("Guardando…");
    fetch(form.getAttribute("data-autosave"), {
      method: "PATCH",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRF-Token": form.getAttribute("data-csrf") || "" },
      body: JSON.stringify({ answers: answers, version: Number(versionInput.value) })
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) { return { res: res, body: body }; });
    }).then(function (r) {
      busy = false;
      var error = (r.body && r.body.error) || {};
      if (r.res.ok) versionInput.value = r.body.version;
      if (waiting) { release(); return; }
      if (r.res.ok) {
        say("Guardado");
        refresh();
        flush();
      } else if (r.res.status === 409) {
        stopped = true;
        say(error.code === "stale_version"
          ? "Otra persona (o usted en otra pestaña) guardó respuestas más recientes. No se guardó su cambio: presione «Guardar» para ver los valores nuevos junto a cada pregunta."
          : (error.message || "No se pudo guardar."), true);
      } else if (r.res.status === 422) {
        var detail = (error.details || [])[0];
        say("No se guardó automáticamente: " + (detail ? detail.message : error.message || "hay una respuesta no válida") +
            ". Corrija la respuesta o presione «Guardar».", true);
      } else {
        stopped = r.res.status === 401 || r.res.status === 403;
        say(error.message || "No se pudo guardar automáticamente; presione «Guardar».", true);
      }
    }).catch(function () {
      busy = false;
      if (waiting) { release(); return; }
      Object.keys(answers).forEach(function (k) { if (!(k in pending)) pending[k] = answers[k]; });
      say("Sin conexión: su respuesta se guardará cuando vuelva la conexión (o presione «Guardar»).", true);
    });
  }

  /* Put a question that now applies where the fresh page has it: after the question before it
     when both are in the same group (a subcategory of the field team's dimension pages), else
     first in its group (after the group's heading); a group not on the page comes whole. */
  function place(mine, freshParent, fresh, here, before) {
    var group = here;
    if (freshParent !== fresh && freshParent.id) {
      group = document.getElementById(freshParent.id);
      if (!group) {
        group = document.importNode(freshParent, false);
        var heading = freshParent.querySelector("h2, h3");
        if (heading) group.appendChild(document.importNode(heading, true));
        var previousGroup = before ? before.closest("[data-group]") : null;
        here.insertBefore(group, previousGroup ? previousGroup.nextSibling : here.firstChild);
      }
    }
    if (before && before.parentNode === group) {
      group.insertBefore(mine, before.nextSibling);
    } else {
      var head = group === here ? null : group.querySelector("h2, h3");
      group.insertBefore(mine, head ? head.nextSibling : group.firstChild);
    }
  }

  /* Live relevance: fetch the section again and add or remove the questions that changed. */
  function refresh() {
    fetch(form.getAttribute("data-section"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (res) { return res.ok ? res.text().then(function (t) { return { url: res.url, html: t }; }) : null; })
      .then(function (r) {
        // Redirected elsewhere (nothing of this section applies any more): leave the page as it is.
        if (!r || new URL(r.url).pathname !== form.getAttribute("data-section")) return;
        var doc = new DOMParser().parseFromString(r.html, "text/html");
        var fresh = doc.getElementById("preguntas"), here = document.getElementById("preguntas");
        if (!fresh || !here) return;
        var before = null;
        Array.prototype.forEach.call(fresh.querySelectorAll("fieldset.question"), function (node) {
          var mine = document.getElementById(node.id);
          if (!mine) {
            mine = document.importNode(node, true);
            place(mine, node.parentNode, fresh, here, before);
          } else if (node.getAttribute("data-type") === "computed") {
            mine.innerHTML = node.innerHTML;
          } else {
            // Consistency checks are worked out on the server: show what the saved answers say now.
            var checks = node.querySelector("[data-checks]"), mineChecks = mine.querySelector("[data-checks]");
            if (checks && mineChecks) mineChecks.innerHTML = checks.innerHTML;
          }
          before = mine;
        });
        Array.prototype.forEach.call(here.querySelectorAll("fieldset.question, [data-group]"), function (node) {
          if (node.id && !doc.getElementById(node.id) && node.parentNode) node.parentNode.removeChild(node);
        });
        var bar = doc.querySelector(".q-progress"), mineBar = document.querySelector(".q-progress");
        if (bar && mineBar) mineBar.innerHTML = bar.innerHTML;
        var part = doc.querySelector("[data-section-progress]"), minePart = document.querySelector("[data-section-progress]");
        if (part && minePart) minePart.innerHTML = part.innerHTML;
      }).catch(function () { /* relevance refreshes on the next save */ });
  }

  form.addEventListener("change", function (event) {
    var target = event.target;
    var fs = target.closest ? target.closest("fieldset.question") : null;
    if (!fs || stopped) return;
    if (target.name && target.name.indexOf("e.") === 0 && target.checked) {
      controls(fs, target.name).forEach(function (el) { if (el !== target) el.checked = false; });
    }
    var value = valueOf(fs);
    var nsNote = fs.querySelector("[data-ns-note]");
    if (nsNote) nsNote.hidden = value !== "ns";
    if (value === undefined) {
      say("Revise esta respuesta: no se pudo leer. Se comprobará al presionar «Guardar».", true);
      return;
    }
    pending[fs.getAttribute("data-qid")] = value;
    flush();
  });
  form.addEventListener("submit", function (event) {
    if (!busy) return;
    event.preventDefault();
    waiting = event.submitter || form.querySelector("button[type=submit]");
    say("Guardando…");
  });
  window.addEventListener("online", flush);
})();
