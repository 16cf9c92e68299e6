// Every page's frame: the colour theme and the navigation menus.
// Loaded in <head> without defer, so the stored theme is set before the first paint (no flash
// of the wrong theme). The CSP allows no inline script, hence this file.
(function () {
  "use strict";
  var root = document.documentElement;
  var KEY = "alerting-theme";
  var stored = null;
  try { stored = localStorage.getItem(KEY); } catch (e) { /* storage off: follow the system */ }
  if (stored === "dark" || stored === "light") { root.dataset.theme = stored; }
  root.classList.add("js");

  function systemDark() {
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  }
  function isDark() {
    return root.dataset.theme ? root.dataset.theme === "dark" : systemDark();
  }
  function showTheme(button) {
    var dark = isDark();
    button.setAttribute("aria-pressed", dark ? "true" : "false");
    button.querySelector(".theme-word").textContent = dark ? "Dark" : "Light";
  }

  // Without the clipboard API (plain HTTP on another host): select the text and copy it.
  function selectAndCopy(source, done) {
    if (source.select) {
      source.select();
    } else {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    try { if (document.execCommand("copy")) { done(); } } catch (e) { /* selected: Ctrl-C */ }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var themeButton = document.getElementById("theme-toggle");
    if (themeButton) {
      showTheme(themeButton);
      themeButton.addEventListener("click", function () {
        var next = isDark() ? "light" : "dark";
        root.dataset.theme = next;
        try { localStorage.setItem(KEY, next); } catch (e) { /* kept for this page only */ }
        showTheme(themeButton);
      });
    }

    // List filters: folded on a phone unless one is active (the page marks those), so the
    // list, not the form, fills the first screen; open on a wider screen.
    var phone = window.matchMedia && window.matchMedia("(max-width: 40rem)").matches;
    document.querySelectorAll("details.filter-box:not([data-active])").forEach(function (box) {
      box.open = !phone;
    });

    var navButton = document.getElementById("nav-toggle");
    var nav = document.getElementById("main-nav");
    if (navButton && nav) {
      navButton.addEventListener("click", function () {
        var open = navButton.getAttribute("aria-expanded") !== "true";
        navButton.setAttribute("aria-expanded", open ? "true" : "false");
        nav.classList.toggle("is-open", open);
      });
    }

    // Copy buttons: <button data-copy-target="id"> copies that input's value or element's text.
    document.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest("[data-copy-target]");
      if (!button) { return; }
      var source = document.getElementById(button.getAttribute("data-copy-target"));
      if (!source) { return; }
      var text = source.value !== undefined ? source.value : source.textContent;
      var done = function () {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = "Copy"; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { selectAndCopy(source, done); });
      } else {
        selectAndCopy(source, done);
      }
    });

    // One menu open at a time; Escape or a click elsewhere closes it.
    var menus = Array.prototype.slice.call(document.querySelectorAll("details.menu"));
    menus.forEach(function (menu) {
      menu.addEventListener("toggle", function () {
        if (!menu.open) { return; }
        menus.forEach(function (other) { if (other !== menu) { other.open = false; } });
      });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") { return; }
      menus.forEach(function (menu) {
        if (menu.open) { menu.open = false; menu.querySelector("summary").focus(); }
      });
    });
    document.addEventListener("click", function (event) {
      menus.forEach(function (menu) {
        if (menu.open && !menu.contains(event.target)) { menu.open = false; }
      });
    });
  });
})();
