// Copy buttons on every code block. No framework, no third-party requests.
"use strict";
document.querySelectorAll(".code").forEach(function (block) {
  var code = block.querySelector("code");
  if (!code) return;
  var button = document.createElement("button");
  button.type = "button";
  button.className = "copy";
  button.textContent = "Copy";
  button.setAttribute("aria-label", "Copy to clipboard");
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(code.textContent).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    }, function () { button.textContent = "Copy failed"; });
  });
  block.appendChild(button);
});
