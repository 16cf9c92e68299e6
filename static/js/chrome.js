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

    var navButton = document.getElementById("nav-toggle");
    var nav = document.getElementById("main-nav");
    if (navButton && nav) {
      navButton.addEventListener("click", function () {
        var open = navButton.getAttribute("aria-expanded") !== "true";
        navButton.setAttribute("aria-expanded", open ? "true" : "false");
        nav.classList.toggle("is-open", open);
      });
    }

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
