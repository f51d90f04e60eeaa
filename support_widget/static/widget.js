/* Paydesk help widget. One script, no dependencies. A page embeds it with
     <div id="paydesk-help" data-context="SIGNED"><a href="https://PAYDESK/support/?ctx=SIGNED">Help</a></div>
     <script src="https://PAYDESK/support/widget.js" defer></script>
   The link is the help without JavaScript; with it, it becomes a button opening a panel in
   a shadow root (our stylesheet, none of the page's). Every screen and every word comes
   from the server, in the page's language (<html lang>); forms are posted with fetch and
   no cookie. data-kiosk on the mount: reset after data-idle-seconds (90) without a touch,
   and on the "paydesk:session-end" event; nothing is kept anywhere between residents. */
(function (d, w) {
  "use strict";
  var me = d.currentScript;
  var mount = d.getElementById((me && me.getAttribute("data-mount")) || "paydesk-help");
  if (!me || !mount || mount.hasAttribute("data-ready") || !w.fetch || !d.head.attachShadow) return;
  mount.setAttribute("data-ready", "");
  var base = new URL("./", me.src).href;
  var fallback = mount.querySelector("a[href]");
  var kiosk = mount.hasAttribute("data-kiosk");
  var idle = 1000 * (Number(mount.getAttribute("data-idle-seconds")) || 90);
  var host = d.createElement("div");
  var root = host.attachShadow({ mode: "open" });
  var opened = false;
  var timer = 0;

  function el(tag, cls) {
    var node = d.createElement(tag);
    if (cls) node.className = cls;
    return node;
  }

  var sheet = el("link");
  sheet.rel = "stylesheet";
  sheet.href = base + "widget.css";
  var launcher = el("button", "pd-launcher");
  launcher.type = "button";
  launcher.textContent = fallback ? fallback.textContent : "?";
  launcher.setAttribute("aria-haspopup", "dialog");
  launcher.setAttribute("aria-expanded", "false");
  var backdrop = el("div", "pd-backdrop");
  var panel = el("div", "pd-panel");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-modal", "true");
  panel.setAttribute("aria-labelledby", "pd-title");
  backdrop.hidden = panel.hidden = true;
  // Changes are read out from here: it exists before anything is said in it. No role:
  // the page's own status messages stay the only "status" on it.
  var live = el("div", "pd-vh pd-live");
  live.setAttribute("aria-live", "polite");
  root.append(sheet, launcher, backdrop, panel, live);
  if (fallback) fallback.hidden = true;
  mount.appendChild(host);

  function lang() {
    return (d.documentElement.lang || "").slice(0, 2).toLowerCase();
  }

  function start() {
    var url = new URL(base);
    var ctx = mount.getAttribute("data-context");
    if (ctx) url.searchParams.set("ctx", ctx);
    if (lang()) url.searchParams.set("lang", lang());
    return url.href;
  }

  function show(html) {
    panel.innerHTML = html; // our own server's markup, escaped there
    var screen = panel.firstElementChild;
    live.textContent = (screen && screen.getAttribute("data-announce")) || "";
    if (!opened) {
      opened = true;
      backdrop.hidden = panel.hidden = false;
      launcher.setAttribute("aria-expanded", "true");
    }
    var title = root.getElementById("pd-title");
    if (title) title.focus();
  }

  function load(href, init) {
    init = init || {};
    init.headers = { "HX-Request": "true" };
    init.credentials = "omit";
    init.cache = "no-store";
    return w.fetch(href, init).then(function (response) {
      // 4xx screens (a mistake in the form, too many tries) are shown; anything else
      // sends the person to the same help as a page.
      if (response.status >= 500 || response.status === 403) throw new Error(response.status);
      return response.text();
    }).then(show, function () {
      w.location.href = fallback ? fallback.href : start();
    });
  }

  function close(forget) {
    opened = false;
    backdrop.hidden = panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    if (forget) panel.textContent = live.textContent = "";
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (opened) close();
    else load(start());
  });
  backdrop.addEventListener("click", function () {
    close();
  });
  panel.addEventListener("click", function (event) {
    var target = event.target.closest("[data-widget-get],[data-widget-close]");
    if (!target) return;
    event.preventDefault();
    if (target.hasAttribute("data-widget-close")) close();
    else load(target.href);
  });
  panel.addEventListener("submit", function (event) {
    var form = event.target;
    event.preventDefault();
    load(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)) });
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
      return;
    }
    if (event.key !== "Tab") return;
    // Focus stays in the panel while it is open: the last stop leads back to the first.
    var stops = Array.prototype.filter.call(
      panel.querySelectorAll("a[href],button,input,select,textarea,summary"),
      function (node) {
        return !node.disabled && node.tabIndex >= 0 && node.getClientRects().length > 0;
      }
    );
    var at = stops.indexOf(root.activeElement);
    if (!stops.length) return;
    if (event.shiftKey && at <= 0) {
      event.preventDefault();
      stops[stops.length - 1].focus();
    } else if (!event.shiftKey && at === stops.length - 1) {
      event.preventDefault();
      stops[0].focus();
    }
  });

  if (kiosk) {
    // A kiosk forgets the last resident: on the session's end, or after a quiet spell.
    var reset = function () {
      if (opened) close(true);
      else panel.textContent = live.textContent = "";
    };
    var poke = function () {
      w.clearTimeout(timer);
      timer = w.setTimeout(reset, idle);
    };
    ["pointerdown", "keydown", "input"].forEach(function (name) {
      d.addEventListener(name, poke, true);
    });
    d.addEventListener("paydesk:session-end", reset);
    poke();
  }
})(document, window);
