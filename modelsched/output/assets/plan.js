// modelsched HTML plan: the node x model grid. Reads the embedded data, applies the
// filters, and draws only the rows and columns in view, so 5,000 nodes x 500 models
// stay fast. With `full` data (the plan lists its nodes) every node has a row and each
// cell shows the replicas kept (=n) beside those added (+n) and removed (-n). Every string from the data is HTML-escaped before it enters the page.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("plan-data").textContent);
  var ROW_H = 24, COL_W = 64, HEAD_W = 300, HEAD_H = 150, TOT_H = 34, OVER = 3, KIND = ["", "added", "removed"];
  var grid = document.getElementById("grid"), canvas = document.getElementById("canvas");
  var fModel = document.getElementById("f-model"), fLabel = document.getElementById("f-label");
  var fAdd = document.getElementById("f-add"), fRemove = document.getElementById("f-remove");
  var fKept = document.getElementById("f-kept"), FULL = !!D.full;
  var shown = document.getElementById("shown"), detail = document.getElementById("detail");

  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  function counts(a, r, k) {
    var out = [];
    if (k) out.push("=" + k);
    if (a) out.push("+" + a);
    if (r) out.push("\u2212" + r);
    return out.join(" ");
  }
  function plural(n, w) { return n + " " + w + (n === 1 ? "" : "s"); }

  var C = D.changes, nChanges = C.length / 4;
  var groupOrder = D.groups.map(function (_, i) { return i; })
    .sort(function (a, b) { return D.groups[a][0] < D.groups[b][0] ? -1 : D.groups[a][0] > D.groups[b][0] ? 1 : 0; });
  var nodeOrder = D.nodes.map(function (_, i) { return i; })
    .sort(function (a, b) { return D.nodes[a][0] < D.nodes[b][0] ? -1 : D.nodes[a][0] > D.nodes[b][0] ? 1 : a - b; });
  var byNode = D.nodes.map(function () { return []; });
  for (var i = 0; i < nChanges; i++) byNode[C[4 * i]].push(i);
  // Replicas kept per node: keptBy[node][model] = count (full data only).
  var K = D.kept || [], keptBy = D.nodes.map(function () { return null; });
  for (var j = 0; j < K.length; j += 3) (keptBy[K[j]] = keptBy[K[j]] || {})[K[j + 1]] = K[j + 2];
  if (!FULL) fKept.closest("label").hidden = true;
  var groupNodes = D.groups.map(function () { return []; });
  nodeOrder.forEach(function (n) { groupNodes[D.nodes[n][1]].push(n); });

  // Filter choices: every model with a column, every label pair of a changed node.
  var opts = [];
  D.models.forEach(function (m, i) { opts.push('<option value="' + i + '">' + esc(m[0]) + "</option>"); });
  fModel.insertAdjacentHTML("beforeend", opts.join(""));
  var pairs = {};
  D.groups.forEach(function (g) { g[1].forEach(function (p) { pairs[p] = 1; }); });
  fLabel.insertAdjacentHTML("beforeend", Object.keys(pairs).sort().map(function (p) {
    return '<option value="' + esc(p) + '">' + esc(p) + "</option>";
  }).join(""));

  var expanded = {}, touched = false, view = null;

  // The filtered view: columns, groups with their nodes, per-cell change lists, totals.
  function build() {
    var model = fModel.value === "" ? -1 : +fModel.value, label = fLabel.value;
    var kinds = [false, fAdd.checked, fRemove.checked], showKept = FULL && fKept.checked;
    var groupOk = D.groups.map(function (g) { return label === "" || g[1].indexOf(label) >= 0; });
    var colUsed = D.models.map(function () { return false; });
    var colTot = D.models.map(function () { return [0, 0, 0]; });
    var groups = [], adds = 0, removes = 0, kept = 0, nodes = 0;
    groupOrder.forEach(function (g) {
      if (!groupOk[g]) return;
      var entry = { g: g, nodes: [], cells: {}, a: 0, r: 0, k: 0 };
      groupNodes[g].forEach(function (n) {
        var cells = {}, keep = {}, any = false;
        if (showKept && keptBy[n]) {
          for (var km in keptBy[n]) {
            var mk = +km, cnt = keptBy[n][km];
            if (model >= 0 && mk !== model) continue;
            keep[mk] = cnt;
            var gk = entry.cells[mk] = entry.cells[mk] || [0, 0, 0];
            gk[2] += cnt; colTot[mk][2] += cnt; colUsed[mk] = true; any = true;
            entry.k += cnt; kept += cnt;
          }
        }
        byNode[n].forEach(function (ci) {
          var m = C[4 * ci + 1], k = C[4 * ci + 2];
          if ((model >= 0 && m !== model) || !kinds[k]) return;
          (cells[m] = cells[m] || []).push(ci);
          var gc = entry.cells[m] = entry.cells[m] || [0, 0, 0];
          gc[k - 1]++; colTot[m][k - 1]++; colUsed[m] = true; any = true;
          if (k === 1) { entry.a++; adds++; } else { entry.r++; removes++; }
        });
        // Full data lists every node (also one holding nothing) while kept replicas are shown.
        if (any || (showKept && model < 0)) entry.nodes.push({ n: n, cells: cells, keep: keep });
      });
      if (entry.nodes.length) { groups.push(entry); nodes += entry.nodes.length; }
    });
    var cols = [];
    colUsed.forEach(function (u, m) { if (u || m === model) cols.push(m); });
    view = { groups: groups, cols: cols, colTot: colTot, adds: adds, removes: removes, kept: kept, nodes: nodes, rows: [] };
    if (!touched && nodes <= 200) groups.forEach(function (e) { expanded[e.g] = true; });
    layout();
    shown.textContent = "Shown: " + (FULL ? kept + " kept, " : "") + adds + " to add, " + removes + " to remove on " + plural(nodes, "node") +
      " in " + plural(groups.length, "label group") + ", " + plural(cols.length, "model") + ".";
    if (FULL) shown.dataset.kept = kept;
    shown.dataset.adds = adds; shown.dataset.removes = removes; shown.dataset.nodes = nodes;
    shown.dataset.groups = groups.length; shown.dataset.models = cols.length;
    var rows = document.querySelectorAll("#models tbody tr");
    for (var r = 0; r < rows.length; r++) {
      rows[r].hidden = model >= 0 && +rows[r].dataset.model !== model;
      rows[r].classList.toggle("picked", +rows[r].dataset.model === model);
    }
  }

  function layout() {
    var rows = [];
    view.groups.forEach(function (e) {
      rows.push({ e: e });
      if (expanded[e.g]) e.nodes.forEach(function (nd) { rows.push({ e: e, nd: nd }); });
    });
    view.rows = rows;
    canvas.style.width = HEAD_W + view.cols.length * COL_W + "px";
    canvas.style.height = HEAD_H + TOT_H + rows.length * ROW_H + "px";
    grid.setAttribute("aria-rowcount", rows.length + 1);
    grid.setAttribute("aria-colcount", view.cols.length + 1);
    draw();
  }

  function cellCounts(nd, m) {
    var a = 0, r = 0;
    (nd.cells[m] || []).forEach(function (ci) { if (C[4 * ci + 2] === 1) a++; else r++; });
    return [a, r, nd.keep[m] || 0];
  }

  function keptText(n) { return n + " kept"; }

  function describe(row, m) {
    var name = D.models[m][0];
    if (row.nd) {
      var list = row.nd.cells[m] || [], node = D.nodes[row.nd.n], k = row.nd.keep[m] || 0;
      var said = list.map(function (ci) {
        return node[0] + ", " + name + ": " + KIND[C[4 * ci + 2]] + " (" + D.reasons[C[4 * ci + 3]] + ")";
      });
      if (k) said.unshift(node[0] + ", " + name + ": " + keptText(k));
      return said.length ? said.join("; ") : node[0] + ", " + name + ": no change";
    }
    var gc = row.e.cells[m] || [0, 0, 0];
    return D.groups[row.e.g][0] + ", " + name + ": " + (FULL ? gc[2] + " kept, " : "") + gc[0] + " added, " +
      gc[1] + " removed on " + plural(row.e.nodes.length, "node");
  }

  function draw() {
    if (!view) return;
    var top = grid.scrollTop, left = grid.scrollLeft, h = grid.clientHeight, w = grid.clientWidth;
    var bodyTop = HEAD_H + TOT_H;
    var r0 = Math.max(0, Math.floor(Math.max(0, top - bodyTop) / ROW_H) - OVER);
    var r1 = Math.min(view.rows.length, Math.ceil((top + h - bodyTop) / ROW_H) + OVER + 1);
    var c0 = Math.max(0, Math.floor(left / COL_W) - OVER);
    var c1 = Math.min(view.cols.length, Math.ceil((left + w - HEAD_W) / COL_W) + OVER + 1);
    var width = HEAD_W + view.cols.length * COL_W, out = [];
    out.push('<div id="colhead" role="row" aria-rowindex="1" style="width:' + width + "px;height:" + (HEAD_H + TOT_H) + 'px">');
    out.push('<div class="corner" role="columnheader" style="width:' + HEAD_W + 'px">' + esc(plural(view.nodes, "node")) +
      " in " + esc(plural(view.groups.length, "group")) + "<br>kept / + added / \u2212 removed</div>");
    for (var c = c0; c < c1; c++) {
      var m = view.cols[c], md = D.models[m], t = view.colTot[m], x = HEAD_W + c * COL_W;
      var title = md[0] + (md[4] ? " (not listed: pruned)" : "") + ": kept " + md[1] + ", current " + md[2] +
        ", target " + md[3] + "; shown " + (FULL ? t[2] + " kept, " : "") + t[0] + " added, " + t[1] + " removed";
      out.push('<div class="ch" role="columnheader" data-col="' + m + '" title="' + esc(title) + '" style="left:' + x +
        "px;width:" + COL_W + "px;height:" + (HEAD_H - 4) + 'px">' + esc(md[0]) + "</div>");
      out.push('<div class="ct" aria-label="' + esc(title) + '" style="left:' + x + "px;width:" + COL_W + 'px">' +
        '<span title="kept">' + (FULL ? t[2] : md[1]) + "</span><br>" + esc(counts(t[0], t[1])) + "</div>");
    }
    out.push("</div>");
    for (var r = r0; r < r1; r++) {
      var row = view.rows[r], y = bodyTop + r * ROW_H;
      var cls = row.nd ? "row node" : "row grp";
      out.push('<div class="' + cls + '" role="row" aria-rowindex="' + (r + 2) + '" data-row="' + r +
        '" style="top:' + y + "px;width:" + width + "px;height:" + ROW_H + 'px">');
      if (row.nd) {
        var node = D.nodes[row.nd.n];
        var label = node[0] + (node[2] ? " (" + node[2] + ")" : "");
        out.push('<div class="rh" role="rowheader" title="' + esc(label) + '" style="width:' + HEAD_W + 'px">' + esc(label) + "</div>");
      } else {
        var e = row.e, open = !!expanded[e.g];
        out.push('<div class="rh" role="rowheader" tabindex="0" data-g="' + e.g + '" aria-expanded="' + open +
          '" title="' + esc(D.groups[e.g][0]) +
          '" style="width:' + HEAD_W + 'px">' + (open ? "\u25be " : "\u25b8 ") + esc(D.groups[e.g][0]) + " \u00b7 " +
          esc(plural(e.nodes.length, "node")) + " \u00b7 " + esc(counts(e.a, e.r, e.k)) + "</div>");
      }
      for (var cc = c0; cc < c1; cc++) {
        var mm = view.cols[cc], ar = row.nd ? cellCounts(row.nd, mm) : (row.e.cells[mm] || [0, 0, 0]);
        var k = ar[0] && ar[1] ? " ar" : ar[0] ? " a" : ar[1] ? " r" : ar[2] ? " k" : "";
        var text = !FULL && row.nd && (ar[0] + ar[1] === 1) ? (ar[0] ? "+" : "\u2212") : counts(ar[0], ar[1], ar[2]);
        var say = k ? describe(row, mm) : "";
        out.push('<div class="c' + k + '" role="gridcell" data-col="' + mm + '"' +
          (k ? ' title="' + esc(say) + '" aria-label="' + esc(say) + '"' : "") +
          ' style="left:' + (HEAD_W + cc * COL_W) + "px;width:" + COL_W + 'px">' + text + "</div>");
      }
      out.push("</div>");
    }
    canvas.innerHTML = out.join("");
  }

  var pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; draw(); });
  }

  grid.addEventListener("scroll", schedule);
  window.addEventListener("resize", schedule);
  grid.addEventListener("click", function (ev) {
    var cell = ev.target.closest(".c, .rh, .ch");
    if (!cell) return;
    if (cell.classList.contains("ch")) { fModel.value = cell.dataset.col; build(); return; }
    var rowEl = cell.closest(".row"), row = view.rows[+rowEl.dataset.row];
    if (cell.classList.contains("rh")) {
      if (!row.nd) {
        expanded[row.e.g] = !expanded[row.e.g]; touched = true; layout();
        var again = canvas.querySelector('.rh[data-g="' + row.e.g + '"]');
        if (again) again.focus();
      }
      else {
        var node = D.nodes[row.nd.n];
        var lines = [], kk = keptBy[row.nd.n] || {};
        for (var km2 in kk) lines.push(node[0] + ", " + D.models[+km2][0] + ": " + keptText(kk[km2]));
        byNode[row.nd.n].forEach(function (ci) {
          lines.push(node[0] + ", " + D.models[C[4 * ci + 1]][0] + ": " + KIND[C[4 * ci + 2]] + " (" + D.reasons[C[4 * ci + 3]] + ")");
        });
        detail.textContent = lines.length ? lines.join("\n") : node[0] + ": no replicas, no change";
      }
      return;
    }
    detail.textContent = describe(row, +cell.dataset.col);
  });
  grid.addEventListener("keydown", function (ev) {
    if ((ev.key === "Enter" || ev.key === " ") && ev.target.classList.contains("rh")) {
      ev.preventDefault(); ev.target.click();
    }
  });
  [fModel, fLabel, fAdd, fRemove, fKept].forEach(function (el) { el.addEventListener("change", build); });
  document.getElementById("expand-all").addEventListener("click", function () {
    view.groups.forEach(function (e) { expanded[e.g] = true; }); touched = true; layout();
  });
  document.getElementById("collapse-all").addEventListener("click", function () {
    expanded = {}; touched = true; layout();
  });
  document.getElementById("models").addEventListener("click", function (ev) {
    var b = ev.target.closest("button.pick");
    if (!b) return;
    fModel.value = b.closest("tr").dataset.model; build();
    grid.scrollIntoView({ block: "nearest" });
  });
  build();
  document.body.dataset.readyMs = performance.now().toFixed(1);
})();
