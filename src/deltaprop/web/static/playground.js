// The deltaprop playground page: draws what the server's engine computes, sends what the user
// changes. No build step, no library: plain DOM, canvas and SVG.
(function () {
  "use strict";

  const token = document.body.dataset.token;
  const $ = (id) => document.getElementById(id);
  const NEG = [245, 147, 34], POS = [8, 119, 189], WHITE = [255, 255, 255];
  const CLASS = [NEG, POS, [60, 160, 80], [150, 70, 170], [200, 60, 60], [90, 90, 90]];
  const LR = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
  const L2 = [0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
  const DELTAS = [1, 0.1, 0.01, 0.001, -0.001, -0.1];
  const NUMERIC = { noise: 1, points: 1, train: 1, seed: 1, lr: 1, batch: 1, l2: 1 };
  const BOX = 36, COLW = 128, ROWH = 76, HEAD = 58, LEFT = 34;

  let ws = null, config = null, choices = null, data = null, frame = null;
  let frameCount = 0, curve = [], graph = null, through = false, stage = 0, timer = null;
  let nudgeTarget = { layer: 1, neuron: 1 };

  // ------------------------------------------------------------------ colour
  const LUT = new Uint8ClampedArray(256 * 3);
  for (let q = 0; q < 256; q++) {
    const t = (q - 127.5) / 127.5, c = t < 0 ? NEG : POS, s = Math.abs(t);
    for (let i = 0; i < 3; i++) LUT[q * 3 + i] = WHITE[i] + (c[i] - WHITE[i]) * s;
  }
  const bytes = (b64) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  const rgb = (c) => `rgb(${c[0]},${c[1]},${c[2]})`;
  const fmt = (v) => (v === null || v === undefined ? "–" : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(4));
  const vec = (a) => "[" + a.map(fmt).join(", ") + "]";
  function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }
  // The parts write formulas with ^{…} and _{…}; shown as superscripts and subscripts.
  function math(s) {
    return esc(s).replace(/\^\{([^}]*)\}/g, "<sup>$1</sup>").replace(/_\{([^}]*)\}/g, "<sub>$1</sub>");
  }

  // ------------------------------------------------------------------ connection
  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(`${proto}//${location.host}/ws?token=${encodeURIComponent(token)}`);
    ws.onmessage = (e) => receive(JSON.parse(e.data));
    ws.onclose = (e) => status(`connection closed (${e.code}); reload the page to reconnect`, true);
  }
  function send(obj) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
  }
  function status(text, error) {
    $("status").textContent = text || "";
    $("status").className = error ? "error" : "";
  }
  function receive(m) {
    if (m.type === "hello") hello(m);
    else if (m.type === "config") { config = m.config; controls(); writeHash(); status(""); }
    else if (m.type === "data") { data = m; }
    else if (m.type === "frame") { onFrame(m); send({ type: "ack" }); }
    else if (m.type === "error") { status(m.message, true); controls(); }
    else if (m.type === "nudge") showNudge(m);
    else if (m.type === "file") download(m);
  }
  function hello(m) {
    choices = m.choices;
    config = m.config;
    fillSelects();
    const fromUrl = readHash();
    if (fromUrl) send({ type: "config", config: fromUrl });
    controls();
    writeHash();
  }
  function setConfig(part) { send({ type: "config", config: part }); }

  // ------------------------------------------------------------------ the URL
  function readHash() {
    const h = location.hash.slice(1);
    if (!h) return null;
    const out = {};
    for (const part of h.split("&")) {
      const i = part.indexOf("=");
      if (i < 0) continue;
      const k = decodeURIComponent(part.slice(0, i)), v = decodeURIComponent(part.slice(i + 1));
      if (k === "layers") out.layers = v ? v.split(",").map(Number) : [];
      else if (k === "activations") out.activations = v ? v.split(",") : [];
      else if (k in NUMERIC) out[k] = Number(v);
      else out[k] = v;
    }
    return out;
  }
  function writeHash() {
    if (!config) return;
    const parts = Object.keys(config).map((k) => {
      const v = config[k];
      return k + "=" + encodeURIComponent(Array.isArray(v) ? v.join(",") : String(v));
    });
    history.replaceState(null, "", location.pathname + location.search + "#" + parts.join("&"));
  }

  // ------------------------------------------------------------------ controls
  function options(sel, values, label) {
    sel.innerHTML = "";
    for (const v of values) {
      const o = document.createElement("option");
      o.value = String(v);
      o.textContent = label ? label(v) : String(v);
      sel.appendChild(o);
    }
  }
  function fillSelects() {
    options($("dataset"), choices.dataset);
    options($("optimizer"), choices.optimizer);
    options($("output"), choices.output);
    options($("loss"), choices.loss);
    options($("nudge-delta"), DELTAS);
    $("nudge-delta").value = "0.01";
  }
  function numberSelect(sel, values, current) {
    const all = values.includes(current) ? values : values.concat([current]).sort((a, b) => a - b);
    options(sel, all);
    sel.value = String(current);
  }
  function controls() {
    if (!config) return;
    $("dataset").value = config.dataset;
    $("optimizer").value = config.optimizer;
    $("output").value = config.output;
    $("loss").value = config.loss;
    numberSelect($("lr"), LR, config.lr);
    numberSelect($("l2"), L2, config.l2);
    $("batch").value = config.batch;
    for (const k of ["noise", "train", "points"]) {
      $(k).value = config[k];
      $(k + "-value").textContent = k === "train" ? Math.round(config[k] * 100) + " %" : config[k];
    }
    $("seed").value = config.seed;
    $("layer-count").textContent = `${config.layers.length} hidden layer${config.layers.length === 1 ? "" : "s"}`;
  }
  function bindControls() {
    $("play").onclick = () => send({ type: "play" });
    $("pause").onclick = () => send({ type: "pause" });
    $("step").onclick = () => send({ type: "step" });
    $("reset").onclick = () => { stopThrough(); send({ type: "reset" }); };
    $("dataset").onchange = (e) => setConfig({ dataset: e.target.value });
    for (const k of ["optimizer", "output", "loss"]) $(k).onchange = (e) => setConfig({ [k]: e.target.value });
    for (const k of ["lr", "l2"]) $(k).onchange = (e) => setConfig({ [k]: Number(e.target.value) });
    for (const k of ["noise", "train", "points"]) {
      $(k).oninput = (e) => { $(k + "-value").textContent = e.target.value; };
      $(k).onchange = (e) => setConfig({ [k]: Number(e.target.value) });
    }
    $("batch").onchange = (e) => setConfig({ batch: parseInt(e.target.value, 10) });
    $("seed").onchange = (e) => setConfig({ seed: parseInt(e.target.value, 10) });
    $("add-layer").onclick = () => {
      const acts = config.activations;
      setConfig({ layers: config.layers.concat([4]), activations: acts.concat([acts.length ? acts[acts.length - 1] : "tanh"]) });
    };
    $("remove-layer").onclick = () => setConfig({ layers: config.layers.slice(0, -1), activations: config.activations.slice(0, -1) });
    $("export-model").onclick = () => send({ type: "export", what: "model" });
    $("export-trace").onclick = () => send({ type: "export", what: "trace-json" });
    $("export-markdown").onclick = () => send({ type: "export", what: "trace-markdown" });
    $("region").onclick = pickPoint;
    $("through").onclick = () => (through ? stopThrough() : startThrough());
    $("stage-prev").onclick = () => { stopTimer(); setStage(stage - 1); };
    $("stage-next").onclick = () => { stopTimer(); setStage(stage + 1); };
    $("apply").onclick = () => { stopTimer(); send({ type: "apply_step" }); stage = 0; };
    $("nudge").onclick = () => send({ type: "nudge", layer: nudgeTarget.layer, neuron: nudgeTarget.neuron, delta: Number($("nudge-delta").value) });
    $("nudge-layer").onchange = (e) => pickNeuron(Number(e.target.value), 1);
    $("nudge-neuron").onchange = (e) => pickNeuron(nudgeTarget.layer, Number(e.target.value));
  }
  function changeWidth(i, by) {
    const layers = config.layers.slice();
    layers[i] = Math.max(1, Math.min(16, layers[i] + by));
    setConfig({ layers: layers, activations: config.activations });
  }
  function changeActivation(i, name) {
    const acts = config.activations.slice();
    acts[i] = name;
    setConfig({ layers: config.layers, activations: acts });
  }

  // ------------------------------------------------------------------ the network graph
  function neuronPos(sizes, l, j) {
    const tallest = Math.max(...sizes);
    const top = HEAD + ((tallest - sizes[l]) * ROWH) / 2;
    return { x: LEFT + l * COLW, y: top + j * ROWH };
  }
  function buildGraph(f) {
    const sizes = f.sizes, res = data ? data.resolution : 50, el = $("graph");
    el.querySelectorAll(".neuron, .column-head").forEach((n) => n.remove());
    const svg = $("edges");
    svg.innerHTML = "";
    const width = LEFT + (sizes.length - 1) * COLW + BOX + 60, height = HEAD + Math.max(...sizes) * ROWH + 24;
    el.style.height = height + "px";
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    const g = { key: sizes.join("-") + "|" + f.layer_activations.join(","), neurons: [], edges: [], res: res };
    for (let l = 0; l < sizes.length; l++) {
      el.appendChild(columnHead(f, l));
      const layer = [];
      for (let j = 0; j < sizes[l]; j++) layer.push(neuronBox(sizes, l, j, res, el));
      g.neurons.push(layer);
    }
    for (let l = 1; l < sizes.length; l++) {
      const rows = [];
      for (let j = 0; j < sizes[l]; j++) {
        const row = [];
        for (let k = 0; k < sizes[l - 1]; k++) row.push(edgePath(svg, sizes, l, j, k));
        rows.push(row);
      }
      g.edges.push(rows);
    }
    graph = g;
    fillNudge(sizes);
  }
  function columnHead(f, l) {
    const L = f.sizes.length - 1, head = document.createElement("div");
    head.className = "column-head";
    head.style.left = LEFT + l * COLW - 42 + "px";
    head.style.top = "4px";
    if (l === 0) head.innerHTML = "input<br>x<sub>1</sub>, x<sub>2</sub>";
    else if (l === L) head.innerHTML = `output<br>${esc(f.layer_activations[l - 1])}`;
    else {
      const i = l - 1;
      head.innerHTML = `<button data-testid="remove-neuron-${l}">−</button> ${f.sizes[l]} neurons <button data-testid="add-neuron-${l}">+</button><br>`;
      const [minus, plus] = head.querySelectorAll("button");
      minus.onclick = () => changeWidth(i, -1);
      plus.onclick = () => changeWidth(i, +1);
      const sel = document.createElement("select");
      sel.dataset.testid = `activation-${l}`;
      options(sel, choices.activation);
      sel.value = f.layer_activations[i];
      sel.onchange = (e) => changeActivation(i, e.target.value);
      head.appendChild(sel);
    }
    return head;
  }
  function neuronBox(sizes, l, j, res, el) {
    const p = neuronPos(sizes, l, j), box = document.createElement("div");
    box.className = "neuron";
    box.style.left = p.x + "px";
    box.style.top = p.y + "px";
    box.dataset.testid = `neuron-${l}-${j + 1}`;
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = res;
    const values = document.createElement("div");
    values.className = "values";
    box.appendChild(canvas);
    box.appendChild(values);
    if (l > 0) box.onclick = () => pickNeuron(l, j + 1);
    el.appendChild(box);
    const ctx = canvas.getContext("2d");
    return { box: box, ctx: ctx, image: ctx.createImageData(res, res), values: values };
  }
  function edgePath(svg, sizes, l, j, k) {
    const a = neuronPos(sizes, l - 1, k), b = neuronPos(sizes, l, j);
    const x0 = a.x + BOX, y0 = a.y + BOX / 2, x1 = b.x, y1 = b.y + BOX / 2, mx = (x0 + x1) / 2;
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", `M${x0},${y0} C${mx},${y0} ${mx},${y1} ${x1},${y1}`);
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    path.appendChild(title);
    svg.appendChild(path);
    return path;
  }
  function drawHeatmaps(f) {
    const layers = f.heatmaps.layers, n = graph.res * graph.res;
    for (let l = 0; l < layers.length; l++) {
      const all = bytes(layers[l].data);
      graph.neurons[l].forEach((nr, j) => {
        const px = nr.image.data;
        for (let i = 0; i < n; i++) {
          const q = all[j * n + i] * 3;
          px[i * 4] = LUT[q];
          px[i * 4 + 1] = LUT[q + 1];
          px[i * 4 + 2] = LUT[q + 2];
          px[i * 4 + 3] = 255;
        }
        nr.ctx.putImageData(nr.image, 0, 0);
      });
    }
  }
  // Edges: the weights, or for a selected point ∂C/∂w (BP4), or in the update stage w − η ∂C/∂w.
  function edgeView(f) {
    const s = f.selected, key = through ? currentStages(f)[stage].key : null;
    if (s && key === "update") return { values: s.new_weights, name: "w − η ∂C/∂w" };
    if (s && (!through || key === "bp34")) return { values: s.gradients.weights, name: "∂C/∂w" };
    return { values: f.weights, name: "w" };
  }
  function drawEdges(f) {
    const view = edgeView(f);
    let max = 1e-12;
    for (const W of view.values) for (const row of W) for (const v of row) max = Math.max(max, Math.abs(v));
    const titles = !f.playing;
    view.values.forEach((W, l) => W.forEach((row, j) => row.forEach((v, k) => {
      const p = graph.edges[l][j][k];
      p.setAttribute("stroke", rgb(v < 0 ? NEG : POS));
      p.setAttribute("stroke-width", (0.3 + (5 * Math.abs(v)) / max).toFixed(2));
      p.setAttribute("stroke-opacity", (0.25 + (0.75 * Math.abs(v)) / max).toFixed(2));
      if (titles) p.firstChild.textContent = `${view.name}: w^${l + 1}_${j + 1}${k + 1} = ${v}`;
    })));
    document.querySelector(".legend").lastChild.textContent = `positive · edge width |${view.name}|`;
  }
  // z, a and δ under each neuron for the selected point (δ as far as the step-through has gone).
  function drawValues(f) {
    const s = f.selected, L = f.sizes.length - 1, st = through ? currentStages(f)[stage] : null;
    const deltaFrom = !st ? 1 : st.key === "forward" ? L + 1 : st.key === "bp1" ? L : st.key === "bp2" ? st.layer : 1;
    graph.neurons.forEach((layer, l) => layer.forEach((nr, j) => {
      nr.box.classList.toggle("stage", !!st && st.layer === l);
      nr.box.classList.toggle("picked", nudgeTarget.layer === l && nudgeTarget.neuron === j + 1);
      if (!s) { nr.values.innerHTML = ""; return; }
      if (l === 0) { nr.values.innerHTML = `x = ${fmt(s.activations[0][j])}`; return; }
      let html = `z ${fmt(s.zs[l - 1][j])}<br>a ${fmt(s.activations[l][j])}`;
      if (l >= deltaFrom) html += `<br><span class="d">δ ${fmt(s.deltas[l - 1][j])}</span>`;
      nr.values.innerHTML = html;
    }));
  }

  // ------------------------------------------------------------------ output, curve, norms
  function drawRegion(f) {
    const c = $("region"), ctx = c.getContext("2d");
    if (!data) return;
    const res = data.resolution, labels = bytes(f.heatmaps.region.labels), conf = bytes(f.heatmaps.region.confidence);
    const off = document.createElement("canvas");
    off.width = off.height = res;
    const octx = off.getContext("2d"), img = octx.createImageData(res, res);
    for (let i = 0; i < res * res; i++) {
      const col = CLASS[labels[i] % CLASS.length], s = 0.15 + 0.55 * (conf[i] / 255);
      for (let k = 0; k < 3; k++) img.data[i * 4 + k] = WHITE[k] + (col[k] - WHITE[k]) * s;
      img.data[i * 4 + 3] = 255;
    }
    octx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(off, 0, 0, c.width, c.height);
    const [x0, x1, y0, y1] = data.domain;
    const P = (x, y) => [((x - x0) / (x1 - x0)) * c.width, ((y1 - y) / (y1 - y0)) * c.height];
    const dot = (pt, stroke) => {
      const [px, py] = P(pt[0], pt[1]);
      ctx.beginPath();
      ctx.arc(px, py, 3.2, 0, 2 * Math.PI);
      ctx.fillStyle = rgb(CLASS[pt[2] % CLASS.length]);
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = stroke;
      ctx.stroke();
    };
    data.train.forEach((pt) => dot(pt, "#fff"));
    data.test.forEach((pt) => dot(pt, "#000"));
    if (f.selected) {
      const [px, py] = P(f.selected.x[0], f.selected.x[1]);
      ctx.beginPath();
      ctx.arc(px, py, 8, 0, 2 * Math.PI);
      ctx.lineWidth = 2.5;
      ctx.strokeStyle = "#000";
      ctx.stroke();
    }
  }
  function pickPoint(e) {
    if (!data) return;
    const c = $("region"), r = c.getBoundingClientRect();
    const mx = ((e.clientX - r.left) / r.width) * c.width, my = ((e.clientY - r.top) / r.height) * c.height;
    const [x0, x1, y0, y1] = data.domain;
    let best = null, bestD = 100;
    data.train.forEach((pt, i) => {
      const px = ((pt[0] - x0) / (x1 - x0)) * c.width, py = ((y1 - pt[1]) / (y1 - y0)) * c.height;
      const d = (px - mx) ** 2 + (py - my) ** 2;
      if (d < bestD) { bestD = d; best = i; }
    });
    select(best);
  }
  function drawCurve() {
    const c = $("curve"), ctx = c.getContext("2d");
    ctx.clearRect(0, 0, c.width, c.height);
    if (curve.length < 1) return;
    const last = curve[curve.length - 1][0] || 1;
    let max = 1e-9;
    for (const p of curve) for (const v of [p[1], p[2]]) if (v !== null) max = Math.max(max, v);
    for (const [idx, colour] of [[2, "#aaa"], [1, "#222"]]) {
      ctx.beginPath();
      curve.forEach((p, i) => {
        if (p[idx] === null) return;
        const x = 4 + (p[0] / last) * (c.width - 8), y = c.height - 4 - (p[idx] / max) * (c.height - 16);
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.strokeStyle = colour;
      ctx.lineWidth = 1.5;
      ctx.stroke();
    }
    ctx.fillStyle = "#777";
    ctx.font = "10px sans-serif";
    ctx.fillText(`cost ≤ ${fmt(max)}   — training   — test (grey)`, 6, 11);
  }
  function drawNorms(f) {
    const el = $("norms");
    if (el.children.length !== f.grad_norms.length + 1) {
      el.innerHTML = f.grad_norms.map(() => `<div class="bar"><span></span><div class="track"><div class="fill"></div></div><span></span></div>`).join("") + `<div class="hint">log scale 10⁻⁸ … 10; over the training set</div>`;
    }
    f.grad_norms.forEach((v, l) => {
      const w = v > 0 ? Math.max(0, Math.min(100, ((Math.log10(v) + 8) / 9) * 100)) : 0;
      const bar = el.children[l];
      bar.firstChild.innerHTML = `W<sup>${l + 1}</sup> ${esc(f.layer_activations[l])}`;
      bar.querySelector(".fill").style.width = w.toFixed(1) + "%";  // CSSOM: allowed by the CSP
      bar.lastChild.textContent = fmt(v);
    });
  }
  function drawCosts(f) {
    $("epoch").textContent = Number.isInteger(f.epoch) ? String(f.epoch) : f.epoch.toFixed(2);
    $("steps").textContent = String(f.step);
    $("train-cost").textContent = fmt(f.cost);
    $("test-cost").textContent = fmt(f.test_cost);
    $("accuracy").textContent = f.accuracy === null ? "–" : (100 * f.accuracy).toFixed(1) + " %";
    $("play").classList.toggle("on", f.playing);
  }

  // ------------------------------------------------------------------ step-through
  function currentStages(f) {
    const L = f.sizes.length - 1, s = [{ key: "forward", name: "forward pass", layer: null }];
    s.push({ key: "bp1", name: `BP1: δ^{${L}}`, layer: L });
    for (let l = L - 1; l >= 1; l--) s.push({ key: "bp2", name: `BP2: δ^{${l}}`, layer: l });
    s.push({ key: "bp34", name: "BP3, BP4: ∂C/∂b, ∂C/∂w", layer: null });
    s.push({ key: "update", name: "update", layer: null });
    return s;
  }
  function startThrough() {
    if (!frame || !frame.selected) { status("select a training point first (click it in the output)", true); return; }
    send({ type: "pause" });
    through = true;
    $("through").classList.add("on");
    setStage(0);
    stopTimer();
    timer = setInterval(() => {
      if (stage >= currentStages(frame).length - 1) stopTimer(); else setStage(stage + 1);
    }, 1600);
  }
  function stopTimer() { if (timer) clearInterval(timer); timer = null; }
  function stopThrough() {
    stopTimer();
    through = false;
    stage = 0;
    $("through").classList.remove("on");
    if (frame) redrawSelection(frame);
  }
  function setStage(i) {
    if (!frame) return;
    stage = Math.max(0, Math.min(currentStages(frame).length - 1, i));
    redrawSelection(frame);
  }
  function redrawSelection(f) {
    drawEdges(f);
    drawValues(f);
    drawEquations(f);
  }
  function transposeTimes(W, d) {
    return W[0].map((_, k) => W.reduce((s, row, j) => s + row[k] * d[j], 0));
  }
  function drawEquations(f) {
    const s = f.selected, el = $("equations");
    $("selected-text").textContent = s ? `point ${s.index}: x = ${vec(s.x)}, class ${s.label}, C_x = ${fmt(s.cost)}` : "click a training point in the output to select it";
    const st = currentStages(f);
    $("stage-name").innerHTML = through ? math(`${stage + 1}/${st.length} ${st[stage].name}`) : "";
    if (!s) { el.innerHTML = ""; return; }
    const L = f.sizes.length - 1, F = f.formulas, key = through ? st[stage].key : null;
    const rows = [];
    const eq = (k, html, nums) => rows.push(`<div class="eq${key === k ? " active" : ""}">${html}</div>` + (nums && (!through || key === k) ? `<div class="num">${esc(nums)}</div>` : ""));
    eq("forward", math("z^{l} = W^{l} a^{l−1} + b^{l}") + " &emsp; " + math("a^{l} = σ(z^{l})"),
      s.zs.map((z, l) => `l=${l + 1} (${f.layer_activations[l]}): z = ${vec(z)}  a = ${vec(s.activations[l + 1])}`).join("\n"));
    const bp1 = F.output_rule === "fused" ? math(F.fused) + " &nbsp;(the loss's fused error, BP1)" : F.output_rule === "BP1" ? math("BP1: δ^{L} = ∇_{a} C ⊙ σ′(z^{L}),  ∂C/∂a_{j} = " + F.gradient) : math("BP1: δ^{L} = (∂a/∂z)ᵀ ∇_{a} C");
    eq("bp1", bp1, `a^${L} = ${vec(s.activations[L])}\ny   = ${vec(s.y)}\nδ^${L} = ${vec(s.deltas[L - 1])}`);
    const bp2 = [];
    const lowest = key === "bp2" ? st[stage].layer : 1;  // δ as far back as the step has gone
    for (let l = L - 1; l >= lowest; l--) {
      const back = transposeTimes(f.weights[l], s.deltas[l]);
      bp2.push(`l=${l}: (W^${l + 1})ᵀδ^${l + 1} = ${vec(back)}  ⊙ σ′ (${F.activations[l - 1].derivative})\n      δ^${l} = ${vec(s.deltas[l - 1])}`);
    }
    if (L > 1) eq("bp2", math("BP2: δ^{l} = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ′(z^{l})"), bp2.join("\n"));
    eq("bp34", math("BP3: ∂C/∂b^{l}_{j} = δ^{l}_{j}") + " &emsp;&emsp; " + math("BP4: ∂C/∂w^{l}_{jk} = a^{l−1}_{k} δ^{l}_{j}"),
      s.gradients.biases.map((b, l) => `∂C/∂b^${l + 1} = ${vec(b)}   ‖∂C/∂W^${l + 1}‖ = ${fmt(norm(s.gradients.weights[l]))}`).join("\n") + "\n(edges: width and colour show ∂C/∂w; hover an edge for its value)");
    eq("update", math(`w ← w − η ∂C/∂w,  b ← b − η ∂C/∂b   (η = ${s.lr})`),
      `C_x before = ${fmt(s.cost)}   after this one-point step = ${fmt(s.cost_after)}\n(edges show the new weights; "apply update" makes the step)`);
    el.innerHTML = rows.join("");
  }
  const norm = (W) => Math.sqrt(W.reduce((s, row) => s + row.reduce((t, v) => t + v * v, 0), 0));

  // ------------------------------------------------------------------ nudge
  function fillNudge(sizes) {
    options($("nudge-layer"), sizes.slice(1).map((_, i) => i + 1));
    if (nudgeTarget.layer > sizes.length - 1) nudgeTarget = { layer: 1, neuron: 1 };
    if (nudgeTarget.neuron > sizes[nudgeTarget.layer]) nudgeTarget.neuron = 1;
    $("nudge-layer").value = String(nudgeTarget.layer);
    options($("nudge-neuron"), Array.from({ length: sizes[nudgeTarget.layer] }, (_, i) => i + 1));
    $("nudge-neuron").value = String(nudgeTarget.neuron);
  }
  function pickNeuron(l, j) {
    nudgeTarget = { layer: l, neuron: j };
    if (frame) { fillNudge(frame.sizes); drawValues(frame); }
  }
  function showNudge(m) {
    $("nudge-result").innerHTML = esc(`z^${m.layer}_${m.neuron} + Δ (Δ = ${m.delta}) at point ${m.index}:\n`).replace("\n", "<br>") +
      `ΔC = ${fmt(m.delta_cost)}<br>δΔ = ${fmt(m.predicted)} &nbsp;(δ = ${fmt(m.error)})<br>ΔC / δΔ = ${m.ratio === null ? "–" : m.ratio.toFixed(6)}`;
  }

  // ------------------------------------------------------------------ frames and files
  function onFrame(f) {
    frame = f;
    frameCount++;
    if (f.curve_reset) curve = f.curve.slice(); else curve.push(...f.curve);
    if (f.selected === null && through) stopThrough();
    if (!graph || graph.key !== f.sizes.join("-") + "|" + f.layer_activations.join(",") || graph.res !== (data ? data.resolution : 50)) buildGraph(f);
    if (through && stage >= currentStages(f).length) stage = 0;
    drawCosts(f);
    drawHeatmaps(f);
    redrawSelection(f);
    drawRegion(f);
    drawCurve();
    drawNorms(f);
  }
  function download(m) {
    const blob = new Blob([bytes(m.data)], { type: m.mime });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = m.name;
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    status(`${m.name} downloaded`);
  }
  function select(i) {
    send({ type: "select", index: i === null || i === undefined ? null : i });
  }

  // For tests and the console: the state the page shows, and selection as a click makes it.
  window.deltaprop = {
    state: function () {
      if (!frame) return null;
      const f = frame;
      return {
        epoch: f.epoch, step: f.step, cost: f.cost, test_cost: f.test_cost, accuracy: f.accuracy,
        sizes: f.sizes, layer_activations: f.layer_activations, loss: f.loss,
        weights: f.weights, biases: f.biases, selected: f.selected, playing: f.playing,
        grad_norms: f.grad_norms, frames: frameCount, config: config, domain: data ? data.domain : null,
        stage: through ? currentStages(f)[stage].key : null,
      };
    },
    select: select,
    stage: setStage,
  };

  bindControls();
  // A configuration pasted into the address bar applies at once (our own updates of the
  // hash use history.replaceState, which fires no hashchange).
  window.addEventListener("hashchange", () => { const c = readHash(); if (c) setConfig(c); });
  connect();
})();
