// kzqa serve: the page works without this file; with it, a citation or an outline entry opens its
// text (the subsection, the passage marked) over the page instead of on a page of its own.
(function () {
  "use strict";
  var reader = document.getElementById("reader");
  var body = reader && reader.querySelector(".reader-body");
  var toc = document.querySelector(".toc-panel");
  if (toc && window.matchMedia && window.matchMedia("(max-width: 60rem)").matches) toc.open = false;
  // the question box: Enter asks (Shift+Enter is a new line, which the server reads as a space);
  // it grows with the question where the browser cannot size it by CSS (field-sizing)
  var q = document.getElementById("q");
  if (q) {
    q.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        if (q.form.reportValidity()) q.form.submit();
      }
    });
    if (!(window.CSS && CSS.supports && CSS.supports("field-sizing", "content"))) {
      var grow = function () { q.style.height = "auto"; q.style.height = q.scrollHeight + 2 + "px"; };
      q.addEventListener("input", grow);
      grow();
    }
  }
  if (!reader || typeof reader.showModal !== "function") return;

  function open(href) {
    var url = new URL(href, window.location.href);
    url.hash = "";
    url.searchParams.set("partial", "1");
    body.textContent = "Loading…";
    if (!reader.open) reader.showModal();
    reader.scrollTop = 0;
    fetch(url, { headers: { Accept: "text/html" } })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        body.replaceChildren.apply(body, Array.prototype.slice.call(doc.body.childNodes));
        var marked = body.querySelector("#passage");
        if (marked) marked.scrollIntoView({ block: "center" });
      })
      .catch(function (err) { body.textContent = "The text could not be loaded (" + err + ")."; });
  }

  document.addEventListener("click", function (ev) {
    var link = ev.target.closest && ev.target.closest("a[data-show]");
    if (!link || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    open(link.href);
  });
  reader.addEventListener("click", function (ev) {
    if (ev.target === reader) reader.close(); // a click on the backdrop
  });
})();
