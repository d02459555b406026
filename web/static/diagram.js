// Flow diagrams: open on the step in progress (or where the flow starts, not on empty lanes), and on the
// full-size page zoom with the buttons and pan by dragging. The drawing carries where to look in
// data-focus-x / data-focus-y (its own coordinates).
(function () {
  "use strict";

  function scaleOf(svg) {
    var view = svg.viewBox && svg.viewBox.baseVal;
    return view && view.width ? svg.getBoundingClientRect().width / view.width : 1;
  }

  function focus(box) {
    var svg = box.querySelector("svg");
    if (!svg || !svg.hasAttribute("data-focus-x")) return;
    var scale = scaleOf(svg);
    var x = parseFloat(svg.getAttribute("data-focus-x")) * scale;
    var y = parseFloat(svg.getAttribute("data-focus-y")) * scale;
    box.scrollLeft = Math.max(0, x - box.clientWidth / 3);
    box.scrollTop = Math.max(0, y - box.clientHeight / 2);
  }

  function zoomable(box) {
    var svg = box.querySelector("svg");
    if (!svg) return;
    var view = svg.viewBox.baseVal;
    var natural = view.width;
    var level = 1;
    function apply(next) {
      var centreX = (box.scrollLeft + box.clientWidth / 2) / scaleOf(svg);
      var centreY = (box.scrollTop + box.clientHeight / 2) / scaleOf(svg);
      level = Math.min(4, Math.max(0.25, next));
      svg.style.width = natural * level + "px";
      svg.style.height = view.height * level + "px";
      box.scrollLeft = centreX * scaleOf(svg) - box.clientWidth / 2;
      box.scrollTop = centreY * scaleOf(svg) - box.clientHeight / 2;
    }
    document.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        var how = button.getAttribute("data-zoom");
        if (how === "in") apply(level * 1.25);
        else if (how === "out") apply(level / 1.25);
        else if (how === "fit") apply(Math.min(box.clientWidth / natural, box.clientHeight / view.height));
        else { apply(1); focus(box); }
      });
    });
    var start = null;
    box.addEventListener("pointerdown", function (event) {
      if (event.pointerType !== "mouse") return; // fingers scroll the box natively
      start = { x: event.clientX, y: event.clientY, left: box.scrollLeft, top: box.scrollTop };
      box.classList.add("dragging");
    });
    window.addEventListener("pointermove", function (event) {
      if (!start) return;
      box.scrollLeft = start.left - (event.clientX - start.x);
      box.scrollTop = start.top - (event.clientY - start.y);
    });
    window.addEventListener("pointerup", function () {
      start = null;
      box.classList.remove("dragging");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".diagram").forEach(function (box) {
      if (box.classList.contains("full")) zoomable(box);
      focus(box);
    });
  });
})();
