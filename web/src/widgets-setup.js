/*
 * mgie-lessons: run the ipywidgets HTML manager (embed-amd.js) offline, under MathJax 3.
 *
 * Loaded on pages that embed widget snapshots, after require.js and before embed-amd.js (the
 * order of `nb_ipywidgets_js` in _config.yml). Three fixes:
 *
 * 1. Font path. embed-amd.js defines named AMD modules ("@jupyter-widgets/base", ...) whose
 *    webpack public path is computed from the module's URL. Without a RequireJS path that URL
 *    is resolved next to the page (book/@jupyter-widgets/...), so the Font Awesome files the
 *    widgets use for icons 404. Point those modules at _static/widgets/, where
 *    web/build_assets.py copies those files.
 * 2. MathJax 2 API. The widgets typeset LaTeX (HTMLMath values, descriptions) with
 *    MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the site loads MathJax 3, which has
 *    no Hub, so every widget label logged a TypeError. Give MathJax 3 a Hub.Queue that forwards
 *    "Typeset" to MathJax.typesetPromise. Widgets write $...$ and $$...$$, which the site's
 *    MathJax does not treat as delimiters (prose math comes from MyST as \(...\)), so inside
 *    that element only they are rewritten to \(...\) and \[...\] first.
 * 3. Accessible names. ipywidgets 8 Image views render <img> without alt. A panel's image
 *    model carries its text alternative in an extra synced trait `alt` (the Image widget has
 *    none; `tooltip` cannot be used: the Image view throws on it because it has no
 *    description); the controls module is wrapped as it is defined so that every ImageView
 *    puts that text on its <img>. Slider handles (role="slider" divs) are not tied to their
 *    description label; they get aria-labelledby pointing at it.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (script && window.require && window.require.config) {
    var widgetsDir = new URL("../widgets", script.src).href;
    // The bundle that carries the Font Awesome CSS is the module
    // "@jupyter-widgets/html-manager/dist/libembed-amd"; RequireJS uses the longest matching
    // prefix, so every module below resolves to a file directly in _static/widgets/.
    window.require.config({ paths: {
      "@jupyter-widgets/html-manager/dist": widgetsDir,
      "@jupyter-widgets": widgetsDir
    } });
  }

  function patchControls(controls) {
    var ImageView = controls && controls.ImageView;
    if (!ImageView || ImageView.prototype.mgieAltText) { return; }
    var update = ImageView.prototype.update;
    ImageView.prototype.update = function () {
      var result = update.apply(this, arguments);
      var alt = this.model.get("alt");
      if (typeof alt === "string" && alt.trim()) { this.el.setAttribute("alt", alt); }
      return result;
    };
    ImageView.prototype.mgieAltText = true;
  }

  // embed-amd.js (loaded next) defines "@jupyter-widgets/controls" with a named define():
  // patch the module's exports the moment its factory runs, before any view exists.
  if (typeof window.define === "function" && window.define.amd) {
    var amdDefine = window.define;
    var definePatched = function (name, deps, factory) {
      if (arguments.length === 3 && name === "@jupyter-widgets/controls" && typeof factory === "function") {
        return amdDefine.call(this, name, deps, function () {
          var exports = factory.apply(this, arguments);
          patchControls(exports);
          return exports;
        });
      }
      return amdDefine.apply(this, arguments);
    };
    definePatched.amd = amdDefine.amd;
    window.define = definePatched;
  }

  var DISPLAY = /\$\$([\s\S]+?)\$\$/g;
  var INLINE = /(^|[^\\$])\$([^$]+?)\$/g;

  function useMathJax3Delimiters(element) {
    var walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT, null);
    var nodes = [];
    while (walker.nextNode()) { nodes.push(walker.currentNode); }
    nodes.forEach(function (node) {
      var text = node.nodeValue;
      if (text.indexOf("$") < 0) { return; }
      var parent = node.parentNode;
      if (parent && /^(SCRIPT|STYLE|TEXTAREA|PRE|CODE)$/.test(parent.nodeName)) { return; }
      node.nodeValue = text
        .replace(DISPLAY, function (_m, tex) { return "\\[" + tex + "\\]"; })
        .replace(INLINE, function (_m, before, tex) { return before + "\\(" + tex + "\\)"; });
    });
  }

  function typeset(element) {
    var mathjax = window.MathJax;
    if (!element || !mathjax || !mathjax.typesetPromise) { return; }
    var ready = (mathjax.startup && mathjax.startup.promise) || Promise.resolve();
    ready.then(function () {
      if (mathjax.typesetClear) { mathjax.typesetClear([element]); }
      useMathJax3Delimiters(element);
      return mathjax.typesetPromise([element]);
    }).catch(function (error) {
      console.warn("mgie-lessons: could not typeset a widget's math:", error);
    });
  }

  function installHub() {
    var mathjax = window.MathJax;
    // No MathJax on this page (nothing to typeset) or a real MathJax 2 (has its own Hub).
    if (!mathjax || mathjax.Hub || !mathjax.version) { return; }
    mathjax.Hub = {
      Queue: function () {
        Array.prototype.forEach.call(arguments, function (job) {
          if (Array.isArray(job) && job[0] === "Typeset") { typeset(job[2]); }
        });
      }
    };
  }

  var labelCount = 0;

  function nameWidgets(root) {
    if (!root.querySelectorAll) { return; }
    Array.prototype.forEach.call(root.querySelectorAll(".widget-slider [role=slider]"), function (handle) {
      if (handle.hasAttribute("aria-label") || handle.hasAttribute("aria-labelledby")) { return; }
      var widget = handle.closest(".widget-slider");
      var label = widget && widget.querySelector(".widget-label");
      if (label && label.textContent.trim()) {
        if (!label.id) { label.id = "mgie-widget-label-" + (++labelCount); }
        handle.setAttribute("aria-labelledby", label.id);
      } else {
        handle.setAttribute("aria-label", (widget && widget.getAttribute("title")) || "slider");
      }
    });
  }

  function watchWidgets() {
    // Widgets render after this runs (and re-render on changes): look again, once per batch
    // of DOM changes.
    var scheduled = false;
    nameWidgets(document);
    new MutationObserver(function () {
      if (scheduled) { return; }
      scheduled = true;
      setTimeout(function () { scheduled = false; nameWidgets(document); }, 0);
    }).observe(document.body, { childList: true, subtree: true });
  }

  // Deferred scripts (MathJax is one) have run by DOMContentLoaded; the widgets render later,
  // on window load.
  function onReady() { installHub(); watchWidgets(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", onReady);
  } else {
    onReady();
  }
})();
