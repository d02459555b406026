// Administrators' pages: the unit list of a role grant offers only the units of the chosen role's level
// (the server refuses any other with a worded error).
(function () {
  "use strict";
  document.querySelectorAll("select[data-filters]").forEach(function (role) {
    var units = document.getElementById(role.getAttribute("data-filters"));
    if (!units) return;
    function filter() {
      var chosen = role.options[role.selectedIndex];
      var level = chosen ? chosen.getAttribute("data-level") : null;
      var first = null;
      units.querySelectorAll("optgroup").forEach(function (group) {
        var shown = group.getAttribute("data-level") === level;
        group.hidden = !shown;
        group.disabled = !shown;
        if (shown && !first) first = group.querySelector("option");
      });
      var current = units.options[units.selectedIndex];
      if (!current || current.parentNode.disabled) {
        if (first) first.selected = true;
      }
    }
    role.addEventListener("change", filter);
    filter();
  });
})();
