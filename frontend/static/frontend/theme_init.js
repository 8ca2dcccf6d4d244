// Runs before the stylesheet paints: applies a theme the user chose explicitly (otherwise the
// stylesheet follows prefers-color-scheme). A classic script on purpose, so it blocks first paint.
(function () {
  try {
    var theme = localStorage.getItem("theme");
    if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  } catch (e) { /* storage disabled: follow the system theme */ }
})();
