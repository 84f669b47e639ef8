// Where JavaScript runs, a Print button replaces the hint (without it, the hint stays).
(function () {
  var button = document.getElementById("print");
  if (!button || !window.print) return;
  button.hidden = false;
  var hint = document.querySelector(".print-hint");
  if (hint) hint.hidden = true;
  button.addEventListener("click", function () { window.print(); });
})();
