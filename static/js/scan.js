// The scan page: reads ticket QR codes with the camera and sends them through the code form (which always works,
// also without this script or a camera). Uses the browser's BarcodeDetector where it reads qr_code, else the
// vendored polyfill (static/vendor/barcode-detector-*) with its WebAssembly file from this host.
(function () {
  "use strict";

  // A ticket held in front of the camera is sent once and keeps its first answer: the same code is sent again only
  // after it has been out of view this long (a read can miss a few frames while the ticket stays in view).
  var GONE_MS = 3000;
  var INTERVAL_MS = 200;

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  async function qrDetector(section) {
    if ("BarcodeDetector" in window) {
      try {
        var formats = await window.BarcodeDetector.getSupportedFormats();
        if (formats.indexOf("qr_code") !== -1) return new window.BarcodeDetector({ formats: ["qr_code"] });
      } catch (e) { /* fall through to the polyfill */ }
      window.BarcodeDetector = undefined;
    }
    await loadScript(section.dataset.polyfill);
    var wasm = section.dataset.wasm;
    window.BarcodeDetectionAPI.prepareZXingModule({
      overrides: {
        locateFile: function (path, prefix) { return path.endsWith(".wasm") ? wasm : prefix + path; }
      },
      fireImmediately: true
    });
    return new window.BarcodeDetector({ formats: ["qr_code"] });
  }

  function newNonce() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  document.addEventListener("DOMContentLoaded", function () {
    var section = document.getElementById("scanner");
    var form = document.getElementById("scan-form");
    if (!form) return;
    // Every check is its own action: a fresh nonce before each send (the page keeps the form between answers).
    document.addEventListener("submit", function (event) {
      if (event.target === form) form.querySelector("[data-nonce]").value = newNonce();
    }, true);
    if (!section || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    section.hidden = false;
    var video = document.getElementById("scan-video");
    var status = section.querySelector("[data-scan-status]");
    var toggle = section.querySelector("[data-scan-toggle]");
    var input = form.querySelector("input[name=code]");
    var stream = null, timer = null, detector = null, last = "", lastAt = 0;

    function say(key) { status.textContent = section.dataset[key] || ""; }

    function stop() {
      if (timer) clearInterval(timer);
      timer = null;
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null;
      toggle.textContent = toggle.dataset.startText || toggle.textContent;
    }

    async function tick() {
      if (!detector || video.readyState < 2) return;
      var codes;
      try { codes = await detector.detect(video); } catch (e) { return; }
      if (!codes || !codes.length) return;
      var value = codes[0].rawValue || "";
      var now = Date.now();
      if (!value) return;
      var stillInView = value === last && now - lastAt < GONE_MS;
      lastAt = now;
      if (stillInView) return;
      last = value;
      input.value = value;
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    }

    async function start() {
      say("textStarting");
      try {
        detector = detector || await qrDetector(section);
      } catch (e) { say("textUnsupported"); return; }
      try {
        stream = await navigator.mediaDevices.getUserMedia({
          audio: false,
          video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } }
        });
      } catch (e) { say("textDenied"); return; }
      var track = stream.getVideoTracks()[0];
      try {
        var caps = track.getCapabilities ? track.getCapabilities() : {};
        if (caps.focusMode && caps.focusMode.indexOf("continuous") !== -1) {
          await track.applyConstraints({ advanced: [{ focusMode: "continuous" }] });
        }
      } catch (e) { /* focus stays as the camera has it */ }
      video.srcObject = stream;
      try { await video.play(); } catch (e) { /* muted inline video plays without a gesture */ }
      say("textReady");
      timer = setInterval(tick, INTERVAL_MS);
    }

    toggle.addEventListener("click", function () { if (stream) { stop(); say(""); } else { start(); } });
    document.addEventListener("visibilitychange", function () { if (document.hidden) stop(); });
    window.addEventListener("pagehide", stop);
    start();
  });
})();
