// Copy buttons on the error signature and every code block. No framework, no third-party
// requests, no inline handlers (the pages forbid them). Without JavaScript the page is whole;
// this only adds the buttons.
(function () {
  "use strict";

  var status = null;

  // One polite live region for the whole page, so screen readers hear "Copied".
  function announce(message) {
    if (!status) {
      status = document.createElement("div");
      status.className = "visually-hidden";
      status.setAttribute("role", "status");
      status.setAttribute("aria-live", "polite");
      status.id = "copy-status";
      (document.querySelector("main") || document.body).appendChild(status);
    }
    status.textContent = "";
    window.setTimeout(function () { status.textContent = message; }, 50);
  }

  // Older browsers and pages served over plain http have no async clipboard: fall back to a
  // hidden textarea and execCommand, which works from a click handler.
  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    area.tabIndex = -1;
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  // When nothing works, select the text so that Ctrl+C / long-press copies it.
  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function addButton(pre) {
    if (pre.querySelector(".copy")) return;
    var code = pre.querySelector("code");
    if (!code) return;
    var isSignature = code.classList.contains("signature");
    var what = isSignature ? "error signature" : "code";
    var button = document.createElement("button");
    var timer = 0;
    button.type = "button";
    button.className = "copy";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy " + what);
    button.addEventListener("click", function () {
      var text = code.textContent;
      window.clearTimeout(timer);
      copyText(text).then(function () {
        button.textContent = "Copied";
        button.setAttribute("data-state", "done");
        announce("Copied " + what + " to the clipboard");
      }, function () {
        selectText(code);
        button.textContent = "Select";
        button.removeAttribute("data-state");
        announce("Could not copy; the text is selected, press Ctrl+C to copy it");
      }).then(function () {
        timer = window.setTimeout(function () {
          button.textContent = "Copy";
          button.removeAttribute("data-state");
        }, 2000);
      });
    });
    // Inside the <pre>, in the corner the stylesheet keeps free. The copied text is the
    // <code> element's, so the button's own label never gets copied.
    pre.insertBefore(button, pre.firstChild);
  }

  function init() {
    var blocks = document.querySelectorAll("main pre");
    for (var i = 0; i < blocks.length; i++) addButton(blocks[i]);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
