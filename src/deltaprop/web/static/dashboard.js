// The deltaprop dashboard: draws a command-line training run as the server streams it, epoch
// by epoch. Read-only: the page sends nothing. No build step, no library: canvas and SVG.
(function () {
  "use strict";

  const token = document.body.dataset.token;
  const $ = (id) => document.getElementById(id);
  const NEG = [245, 147, 34], POS = [8, 119, 189], WHITE = [255, 255, 255];
  const LAYER = ["#0877bd", "#e8710a", "#1e8e3e", "#a142f4", "#d93025", "#12a4af", "#795548", "#5f6368"];
  const ROWH = 22, HEAD = 30, LEFT = 40, NODE = 14;

  let GAP = 110;  // between layers of the weights drawing; widened to fill the panel
  let run = null, records = [], weights = null, updates = 0, connected = false, ended = false;

  const rgb = (c) => `rgb(${c[0]},${c[1]},${c[2]})`;
  const fmt = (v) => (v === null || v === undefined ? "–" : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(4));
  const pct = (v) => (v === null || v === undefined ? "–" : (100 * v).toFixed(1) + " %");
  const column = (key) => records.map((r) => (r[key] === undefined ? null : r[key]));
  const perLayer = (key) => records.map((r) => r[key] || null);
  const ENDED = { finished: 1, interrupted: 1, stopped: 1 };

  // ------------------------------------------------------------------ connection
  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/ws?token=${encodeURIComponent(token)}`);
    ws.onopen = () => { connected = true; };
    ws.onmessage = (e) => receive(JSON.parse(e.data));
    ws.onclose = (e) => {
      connected = false;
      if (ended) status("the run has ended and its server has stopped; this page keeps its final state");
      else status(`connection closed (${e.code}): the run's server has stopped`, true);
    };
  }
  function status(text, error) {
    $("status").textContent = text || "";
    $("status").className = error ? "error" : "";
  }
  function receive(m) {
    if (m.type !== "update") return;
    updates++;
    if (m.run) run = m.run;
    records.push(...m.records);
    if (m.weights) weights = m.weights;
    ended = !!(run && ENDED[run.status]);
    draw();
  }

  // ------------------------------------------------------------------ header
  function drawHeader() {
    if (!run) return;
    $("title").textContent = run.title || "";
    const pill = $("run-status"), last = records[records.length - 1] || {};
    let text = run.status === "waiting" ? "waiting for the run" : run.status;
    if (ended && run.stop_reason) text += ": " + run.stop_reason;
    if (run.status === "finished" && run.kept_epoch !== null && run.kept_epoch !== undefined) text += ` · kept epoch ${run.kept_epoch}`;
    pill.textContent = text;
    pill.className = "pill " + run.status;
    $("epoch").textContent = last.epoch === undefined ? "–" : `${last.epoch} / ${run.epochs}`;
    $("cost").textContent = fmt(last.cost);
    $("val-cost").textContent = fmt(last.val_cost);
    $("val-accuracy").textContent = pct(last.val_accuracy);
  }

  // ------------------------------------------------------------------ charts
  // One chart: series of {label, colour, ys (one per record, null for none), dash}; x = epoch.
  function chart(canvas, series, opt) {
    const dpr = window.devicePixelRatio || 1, w = canvas.clientWidth, h = canvas.clientHeight || 210;
    if (canvas.width !== Math.round(w * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const L = 58, R = 10, T = 8 + 16 * Math.ceil(series.length / 4), B = 22;
    const xs = column("epoch"), ok = (v) => v !== null && Number.isFinite(v) && (!opt.log || v > 0);
    const tf = (v) => (opt.log ? Math.log10(v) : v);
    let lo = Infinity, hi = -Infinity;
    for (const s of series) for (const v of s.ys) if (ok(v)) { lo = Math.min(lo, tf(v)); hi = Math.max(hi, tf(v)); }
    if (opt.min !== undefined) lo = Math.min(lo, tf(opt.min));
    if (opt.max !== undefined) hi = Math.max(hi, tf(opt.max));
    ctx.font = "11px system-ui, sans-serif";
    legend(ctx, series, L, w);
    if (!(hi >= lo) || !xs.length) {
      const zeros = series.some((s) => s.ys.some((v) => v === 0));
      ctx.fillStyle = "#999";
      ctx.fillText(zeros && opt.zero ? opt.zero : opt.empty || "waiting for the first epoch", L + 8, T + 20);
      return;
    }
    if (hi - lo < 1e-12) { lo -= opt.log ? 0.5 : Math.abs(lo) * 0.05 + 1e-6; hi += opt.log ? 0.5 : Math.abs(hi) * 0.05 + 1e-6; }
    const x0 = Math.min(...xs.filter((x) => x !== null)), x1 = Math.max(x0 + 1, xs[xs.length - 1]);
    const X = (x) => L + ((x - x0) / (x1 - x0)) * (w - L - R), Y = (v) => h - B - ((tf(v) - lo) / (hi - lo)) * (h - B - T);
    axes(ctx, { L, R, T, B, w, h, lo, hi, x0, x1, log: opt.log, percent: opt.percent });
    for (const s of series) {
      ctx.beginPath();
      let pen = false;
      s.ys.forEach((v, i) => {
        if (!ok(v) || xs[i] === null) { pen = false; return; }
        if (pen) ctx.lineTo(X(xs[i]), Y(v)); else ctx.moveTo(X(xs[i]), Y(v));
        pen = true;
      });
      ctx.setLineDash(s.dash ? [5, 3] : []);
      ctx.strokeStyle = s.colour;
      ctx.lineWidth = 1.6;
      ctx.stroke();
    }
    ctx.setLineDash([]);
    if (run && run.kept_epoch && ended && run.kept_epoch >= x0) {
      ctx.strokeStyle = "rgba(0,0,0,.25)";
      ctx.beginPath(); ctx.moveTo(X(run.kept_epoch), T); ctx.lineTo(X(run.kept_epoch), h - B); ctx.stroke();
    }
  }
  function legend(ctx, series, L, w) {
    let x = L, y = 12;
    for (const s of series) {
      const label = s.label + (s.last !== undefined ? " " + s.last : "");
      const width = ctx.measureText(label).width + 30;
      if (x + width > w) { x = L; y += 16; }
      ctx.strokeStyle = s.colour; ctx.lineWidth = 2; ctx.setLineDash(s.dash ? [5, 3] : []);
      ctx.beginPath(); ctx.moveTo(x, y - 4); ctx.lineTo(x + 18, y - 4); ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = "#333"; ctx.fillText(label, x + 22, y);
      x += width;
    }
  }
  function axes(ctx, a) {
    ctx.strokeStyle = "#ccc"; ctx.lineWidth = 1; ctx.fillStyle = "#777";
    ctx.beginPath(); ctx.moveTo(a.L, a.T); ctx.lineTo(a.L, a.h - a.B); ctx.lineTo(a.w - a.R, a.h - a.B); ctx.stroke();
    for (let i = 0; i <= 4; i++) {
      const t = a.lo + ((a.hi - a.lo) * i) / 4, y = a.h - a.B - (i / 4) * (a.h - a.B - a.T);
      const v = a.log ? Math.pow(10, t) : t;
      const text = a.percent ? (100 * v).toFixed(0) + " %" : a.log ? tick(v) : fmt(v);
      ctx.fillText(text, 4, y + 4);
      ctx.strokeStyle = "#f0f0f0"; ctx.beginPath(); ctx.moveTo(a.L + 1, y); ctx.lineTo(a.w - a.R, y); ctx.stroke();
    }
    ctx.fillText(`epoch ${a.x0}`, a.L, a.h - 6);
    const end = `epoch ${a.x1}`;
    ctx.fillText(end, a.w - a.R - ctx.measureText(end).width, a.h - 6);
  }
  // A log axis's label: one significant figure, in exponent form outside 0.001 … 10⁴.
  function tick(v) {
    return v >= 1e4 || v < 1e-3 ? v.toExponential(0) : String(Number(v.toPrecision(1)));
  }
  function layerName(l) {
    return `W${l + 1} ${run && run.layer_activations ? run.layer_activations[l] : ""}`;
  }
  function drawCharts() {
    const cost = column("cost"), vcost = column("val_cost");
    const all = cost.concat(vcost).filter((v) => v !== null && v > 0);
    const log = all.length > 1 && Math.max(...all) / Math.min(...all) >= 30;
    $("cost-scale").textContent = log ? "log scale" : "";
    const last = (ys) => fmt(ys.length ? ys[ys.length - 1] : null);
    chart($("cost-chart"), [
      { label: "training", colour: "#222", ys: cost, last: last(cost) },
      { label: "validation", colour: "#0877bd", ys: vcost, last: last(vcost), dash: true },
    ], { log: log });
    const acc = column("accuracy"), vacc = column("val_accuracy");
    const lastPct = (ys) => pct(ys.length ? ys[ys.length - 1] : null);
    chart($("accuracy-chart"), [
      { label: "training", colour: "#222", ys: acc, last: lastPct(acc) },
      { label: "validation", colour: "#0877bd", ys: vacc, last: lastPct(vacc), dash: true },
    ], { percent: true, max: 1, empty: "no accuracy: the run is not a classification" });
    const norms = perLayer("grad_w_norm"), layers = run && run.sizes ? run.sizes.length - 1 : 0;
    const series = [];
    for (let l = 0; l < layers; l++) {
      const ys = norms.map((n) => (n ? n[l] : null));
      series.push({ label: layerName(l), colour: LAYER[l % LAYER.length], ys: ys, last: last(ys) });
    }
    chart($("norm-chart"), series, { log: true, empty: "no gradient norms yet", zero: "‖∂C/∂W‖ = 0 in every layer: no gradient flows back" });
    chart($("saturation-chart"), saturationSeries(layers), { percent: true, min: 0, max: 1, empty: "no layer here saturates or dies (softmax, identity, …)" });
  }
  function saturationSeries(layers) {
    const sat = perLayer("saturated"), dead = perLayer("dead"), out = [];
    for (let l = 0; l < layers; l++) {
      for (const [values, word, dash] of [[sat, "saturated", false], [dead, "dead", true]]) {
        const ys = values.map((v) => (v ? v[l] : null));
        if (!ys.some((v) => v !== null)) continue;
        out.push({ label: `${layerName(l)} ${word}`, colour: LAYER[l % LAYER.length], ys: ys, dash: dash, last: pct(ys[ys.length - 1]) });
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ weights
  function drawWeights() {
    const box = $("weights"), svg = $("edges");
    if (!weights || !run || !run.sizes) {
      $("weights-caption").textContent = run && run.sizes ? "too many weights to draw" : "";
      return;
    }
    const kept = ended && run.status === "finished" ? " (the weights the run kept)" : "";
    $("weights-caption").textContent = `after epoch ${weights.epoch}${kept} · ` + (weights.mode === "edges" ? "edge width and colour: w" : "one pixel per w_jk: row j, column k");
    box.querySelectorAll(".node, .layer-head, .matrix-box").forEach((n) => n.remove());
    svg.innerHTML = "";
    if (weights.mode === "edges") drawEdges(box, svg, run.sizes, weights.values);
    else drawMatrices(box, weights.layers);
  }
  function nodeAt(sizes, l, j) {
    const tallest = Math.max(...sizes);
    return { x: LEFT + l * GAP, y: HEAD + ((tallest - sizes[l]) * ROWH) / 2 + j * ROWH };
  }
  function drawEdges(box, svg, sizes, W) {
    GAP = Math.max(110, Math.min(260, (box.clientWidth - LEFT - 90) / Math.max(1, sizes.length - 1)));
    const width = LEFT + (sizes.length - 1) * GAP + 80, height = HEAD + Math.max(...sizes) * ROWH + 10;
    box.style.height = height + "px";
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    let max = 1e-12;
    for (const M of W) for (const row of M) for (const v of row) max = Math.max(max, Math.abs(v));
    W.forEach((M, l) => M.forEach((row, j) => row.forEach((v, k) => {
      const a = nodeAt(sizes, l, k), b = nodeAt(sizes, l + 1, j);
      const x0 = a.x + NODE, y0 = a.y + NODE / 2, x1 = b.x, y1 = b.y + NODE / 2, mx = (x0 + x1) / 2;
      const p = document.createElementNS("http://www.w3.org/2000/svg", "path");
      p.setAttribute("d", `M${x0},${y0} C${mx},${y0} ${mx},${y1} ${x1},${y1}`);
      p.setAttribute("stroke", rgb(v < 0 ? NEG : POS));
      p.setAttribute("stroke-width", (0.3 + (4 * Math.abs(v)) / max).toFixed(2));
      p.setAttribute("stroke-opacity", (0.2 + (0.8 * Math.abs(v)) / max).toFixed(2));
      const t = document.createElementNS("http://www.w3.org/2000/svg", "title");
      t.textContent = `w^${l + 1}_${j + 1},${k + 1} = ${v}`;
      p.appendChild(t);
      svg.appendChild(p);
    })));
    sizes.forEach((n, l) => {
      const head = document.createElement("div");
      head.className = "layer-head";
      head.style.left = LEFT + l * GAP - 48 + "px";
      head.style.top = "6px";
      head.textContent = l === 0 ? `input (${n})` : `${run.layer_activations[l - 1]} (${n})`;
      box.appendChild(head);
      for (let j = 0; j < n; j++) {
        const p = nodeAt(sizes, l, j), node = document.createElement("div");
        node.className = "node";
        node.style.left = p.x + "px";
        node.style.top = p.y + "px";
        box.appendChild(node);
      }
    });
  }
  function drawMatrices(box, layers) {
    box.style.height = "auto";
    const bytes = (b64) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    layers.forEach((m, l) => {
      const wrap = document.createElement("div"), c = document.createElement("canvas");
      wrap.className = "matrix-box";
      c.className = "matrix";
      c.width = m.cols;
      c.height = m.rows;
      const zoom = Math.max(1, Math.min(8, Math.floor(260 / Math.max(m.rows, m.cols))));
      c.style.width = m.cols * zoom + "px";  // CSSOM: allowed by the CSP
      c.style.height = m.rows * zoom + "px";
      const ctx = c.getContext("2d"), img = ctx.createImageData(m.cols, m.rows), q = bytes(m.data);
      for (let i = 0; i < q.length; i++) {
        const t = (q[i] - 127.5) / 127.5, col = t < 0 ? NEG : POS, s = Math.abs(t);
        for (let k = 0; k < 3; k++) img.data[i * 4 + k] = WHITE[k] + (col[k] - WHITE[k]) * s;
        img.data[i * 4 + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
      const label = document.createElement("div");
      label.textContent = `W${l + 1}: ${m.rows} × ${m.cols}, |w| ≤ ${fmt(m.scale)}`;
      wrap.appendChild(label);
      wrap.appendChild(c);
      box.appendChild(wrap);
    });
  }

  let lastWeights = null;
  function draw() {
    drawHeader();
    drawCharts();
    if (weights !== lastWeights) { lastWeights = weights; drawWeights(); }
  }
  window.addEventListener("resize", () => { if (run) drawCharts(); });

  // For tests and the console: what the page shows, as data.
  window.deltaprop = {
    state: function () {
      if (!run) return null;
      return {
        mode: "dashboard", status: run.status, stop_reason: run.stop_reason, connected: connected,
        updates: updates, title: run.title, sizes: run.sizes || null,
        layer_activations: run.layer_activations || null, loss: run.loss || null,
        epochs_planned: run.epochs === undefined ? null : run.epochs,
        best_epoch: run.best_epoch === undefined ? null : run.best_epoch,
        kept_epoch: run.kept_epoch === undefined ? null : run.kept_epoch,
        epochs: column("epoch"), cost: column("cost"), accuracy: column("accuracy"),
        val_cost: column("val_cost"), val_accuracy: column("val_accuracy"), lr: column("lr"),
        gradient_norms: perLayer("grad_w_norm"), saturated: perLayer("saturated"), dead: perLayer("dead"),
        weights_epoch: weights ? weights.epoch : null, weights_mode: weights ? weights.mode : null,
        weights: weights && weights.mode === "edges" ? weights.values : null,
      };
    },
  };

  connect();
})();
