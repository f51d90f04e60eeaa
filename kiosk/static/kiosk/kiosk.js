// The kiosk's only script: the "Are you still there?" countdown and the progress poll.
// Everything else works without it (every key and button is a form submit).
(function () {
  "use strict";
  var body = document.body;
  var idleAfter = parseInt(body.dataset.idle || "0", 10);
  var countdown = parseInt(body.dataset.countdown || "20", 10);
  var dialog = document.getElementById("idle");

  function startOver() {
    var form = document.getElementById("idle-reset");
    if (form) { form.submit(); }
  }

  if (idleAfter > 0 && dialog) {
    var idleTimer = null;
    var tick = null;
    var left = countdown;
    var count = document.getElementById("idle-count");
    var stay = document.getElementById("idle-stay");
    var before = null;
    var arm = function () {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(warn, idleAfter * 1000);
    };
    var warn = function () {
      before = document.activeElement;
      left = countdown;
      count.textContent = String(left);
      dialog.hidden = false;
      stay.focus();
      tick = setInterval(function () {
        left -= 1;
        count.textContent = String(Math.max(left, 0));
        if (left <= 0) { clearInterval(tick); startOver(); }
      }, 1000);
    };
    stay.addEventListener("click", function () {
      clearInterval(tick);
      dialog.hidden = true;
      // Tell the kiosk the visit goes on, so its own timer does not end it either.
      fetch(body.dataset.alive, {method: "POST", headers: {"X-CSRF-Token": body.dataset.csrf}, credentials: "same-origin"});
      if (before && before.focus) { before.focus(); }
      arm();
    });
    ["pointerdown", "keydown", "touchstart"].forEach(function (name) {
      document.addEventListener(name, function () { if (dialog.hidden) { arm(); } }, true);
    });
    arm();
  }

  // The thank-you screen goes back to the welcome screen by itself.
  var home = document.getElementById("home");
  if (home && home.dataset.after) {
    setTimeout(function () { home.submit(); }, parseInt(home.dataset.after, 10) * 1000);
  }

  // Screens waiting for something (the card, the bank, the printer, the server) look
  // every second and reload when it changed; the page the kiosk renders says the rest.
  if (body.dataset.poll) {
    var shown = body.dataset.state;
    var poll = function () {
      fetch(body.dataset.poll, {credentials: "same-origin", cache: "no-store"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data && data.state !== shown) { window.location.reload(); return; }
          setTimeout(poll, 1000);
        })
        .catch(function () { setTimeout(poll, 2000); });
    };
    setTimeout(poll, 1000);
  }
})();
