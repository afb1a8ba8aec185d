/*
 * mgie-lessons: accessibility fixes for markup that the theme and extensions generate.
 *
 * Loaded on every page (html_js_files in _config.yml). Each fix answers a serious or critical
 * axe-core finding of the browser tests (tests/browser/) on markup this project does not
 * write itself:
 *
 * - pydata-sphinx-theme's search buttons carry aria-label="Search" while showing
 *   "Search Ctrl+K": the accessible name must contain the visible text (WCAG 2.5.3), so the
 *   name is taken from the content instead.
 * - its colour-mode button is labelled "Color mode" while showing the current mode's icon
 *   titled "Light", "Dark" or "System Settings": the label names the current mode too, and
 *   follows it when the reader switches.
 * - MyST-NB's hidden-cell toggles are <summary aria-label="Toggle hidden content"> showing
 *   "Show code cell content": the name is taken from the content instead.
 * - docutils writes the bibliography as role="list" holding role="doc-biblioentry" entries,
 *   a role axe no longer counts as a list item; entries get role="listitem" (the same meaning).
 */
(function () {
  "use strict";

  function each(selector, action) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), action);
  }

  // The titles of the theme's three mode icons (its theme-switcher template). Read from this
  // table, not from the icons: Font Awesome's script may already have replaced them by SVGs.
  var MODE_TITLES = { light: "Light", dark: "Dark", auto: "System Settings" };

  function labelColourModeButtons() {
    var mode = document.documentElement.dataset.mode || "auto";
    each(".theme-switch-button", function (button) {
      button.setAttribute("aria-label", "Color mode: " + (MODE_TITLES[mode] || mode));
    });
  }

  function fix() {
    each(".search-button-field[aria-label]", function (button) { button.removeAttribute("aria-label"); });
    each('summary[aria-label="Toggle hidden content"]', function (summary) { summary.removeAttribute("aria-label"); });
    each('[role="list"] > [role="doc-biblioentry"]', function (entry) { entry.setAttribute("role", "listitem"); });
    labelColourModeButtons();
    new MutationObserver(labelColourModeButtons)
      .observe(document.documentElement, { attributes: true, attributeFilter: ["data-mode"] });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fix);
  } else {
    fix();
  }
})();
