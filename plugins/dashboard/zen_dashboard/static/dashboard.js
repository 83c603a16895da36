// The dashboard's only script (served from /static, allowed by the page CSP's script-src 'self').
// 1. Graphs: fit the box at load (or centre the highlighted node at the minimum readable zoom),
//    pan by dragging, zoom with the wheel and the +/-/Fit/All buttons.
// 2. Sandboxed HTML visualizations: grow each frame to the height its resize script reports,
//    accepting a message only from that frame's own window.
"use strict";

(function () {
  const MAX_ZOOM = 3;
  const FLOOR_ZOOM = 0.05;

  function setUpGraph(box) {
    const svg = box.querySelector("svg.dag");
    const viewport = svg.querySelector("g.viewport");
    const width = Number(svg.dataset.width);
    const height = Number(svg.dataset.height);
    const minZoom = Number(svg.dataset.minZoom);
    const focal = svg.querySelector("a.node.focal");
    let k = 1, tx = 0, ty = 0, touched = false;

    function apply() {
      viewport.setAttribute("transform", `translate(${tx.toFixed(1)},${ty.toFixed(1)}) scale(${k.toFixed(4)})`);
      svg.classList.toggle("overview", k < minZoom);
    }
    function centreOn(cx, cy, zoom) {
      k = zoom;
      tx = svg.clientWidth / 2 - cx * k;
      ty = svg.clientHeight / 2 - cy * k;
    }
    function fit(all) {
      const W = svg.clientWidth, H = svg.clientHeight;
      const whole = Math.min(W / width, H / height, 1);
      if (whole >= minZoom || all) {
        k = Math.max(whole, FLOOR_ZOOM);
        tx = (W - width * k) / 2;
        ty = (H - height * k) / 2;
        svg.classList.remove("focus");
      } else {
        if (focal) {
          centreOn(Number(focal.dataset.x) + Number(focal.dataset.w) / 2,
                   Number(focal.dataset.y) + Number(focal.dataset.h) / 2, minZoom);
        } else {  // where the data starts
          centreOn(Math.min(W / 2 / minZoom, width / 2), Math.min(H / 2 / minZoom, height / 2), minZoom);
        }
        svg.classList.add("focus");
      }
      apply();
    }
    function zoomAt(factor, px, py) {
      const next = Math.min(MAX_ZOOM, Math.max(FLOOR_ZOOM, k * factor));
      tx = px - (px - tx) * (next / k);
      ty = py - (py - ty) * (next / k);
      k = next;
      touched = true;
      apply();
    }

    box.querySelectorAll("button[data-zoom]").forEach((button) => {
      button.addEventListener("click", () => {
        const how = button.dataset.zoom;
        if (how === "in" || how === "out") {
          zoomAt(how === "in" ? 1.25 : 0.8, svg.clientWidth / 2, svg.clientHeight / 2);
        } else {
          touched = how === "all";
          fit(how === "all");
        }
      });
    });
    svg.addEventListener("wheel", (event) => {
      event.preventDefault();
      const r = svg.getBoundingClientRect();
      zoomAt(Math.exp(-event.deltaY / 400), event.clientX - r.left, event.clientY - r.top);
    }, { passive: false });

    let drag = null;
    svg.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      drag = { x: event.clientX, y: event.clientY, tx, ty, moved: false, id: event.pointerId };
    });
    svg.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 4) return;
      if (!drag.moved) svg.setPointerCapture(drag.id);
      drag.moved = true;
      svg.classList.add("dragging");
      tx = drag.tx + dx;
      ty = drag.ty + dy;
      touched = true;
      apply();
    });
    function endDrag() {
      if (drag && drag.moved) {
        // a drag that ends on a node is not a click on it
        svg.addEventListener("click", (e) => { e.preventDefault(); e.stopPropagation(); },
                             { capture: true, once: true });
      }
      drag = null;
      svg.classList.remove("dragging");
    }
    svg.addEventListener("pointerup", endDrag);
    svg.addEventListener("pointercancel", endDrag);
    window.addEventListener("resize", () => { if (!touched) fit(false); });
    fit(false);
  }

  document.querySelectorAll("div.graph-box").forEach(setUpGraph);

  const frames = Array.from(document.querySelectorAll("iframe.vis-frame"));
  window.addEventListener("message", (event) => {
    const frame = frames.find((f) => f.contentWindow === event.source);
    if (!frame || !event.data || typeof event.data.zenFrameHeight !== "number") return;
    const h = Math.max(40, Math.min(Math.ceil(event.data.zenFrameHeight) + 2, 4000));
    frame.style.height = `${h}px`;
  });
  // A frame that loaded before this script ran posted its height to no one: ask again.
  frames.forEach((frame) => {
    const ask = () => frame.contentWindow && frame.contentWindow.postMessage("zenFrameHeight?", "*");
    ask();
    frame.addEventListener("load", ask);
  });
})();
