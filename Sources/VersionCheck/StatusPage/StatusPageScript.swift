/// The status page's script, inline in the page. The page reads fully without it; with it:
/// - a file (`status --format html`) applies the query parameters' filters (`?service=…&env=…
///   &since=…&until=…`) to its own content by hiding what does not match;
/// - a served page (`serve`) applies the filters as they are typed, without a reload, and
///   redraws the grid, the timeline and the events from `/api/status` and `/api/history` every
///   `data-refresh` seconds.
///
/// Data only ever reaches the document as text (`textContent`, `setAttribute`), never as markup.
enum StatusPageScript {
    static let source = #"""
(function () {
  "use strict";
  var body = document.body, live = body.getAttribute("data-mode") === "live";
  var SVG = "http://www.w3.org/2000/svg";
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs) { if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, attrs[k]); }
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function sv(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    for (var k in attrs) { if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, attrs[k]); }
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function params() { return new URLSearchParams(location.search); }
  function ago(text, now) {
    if (!text) return null;
    var m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
    if (m) { return now - parseFloat(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[m[2]]; }
    var t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? text + "T00:00:00Z" : text);
    if (!isNaN(t)) return t / 1000;
    if (/^\d+(\.\d+)?$/.test(text)) return parseFloat(text);
    return null;
  }

  // A file: hide what the query's filters leave out.
  function filterFile() {
    var p = params(), service = (p.get("service") || "").toLowerCase(), env = p.get("env") || "";
    var now = Date.now() / 1000, since = ago(p.get("since"), now), until = ago(p.get("until"), now);
    var form = $("filters");
    if (form) {
      ["service", "since", "until"].forEach(function (n) { if (p.get(n) !== null && form.elements[n]) form.elements[n].value = p.get(n); });
      if (form.elements.env) form.elements.env.value = env;
    }
    function serviceOK(name) { return !service || (name || "").toLowerCase().indexOf(service) >= 0; }
    function timeOK(t) { t = parseFloat(t); return (since === null || t >= since) && (until === null || t <= until); }
    document.querySelectorAll("#grid-table tbody tr").forEach(function (tr) {
      tr.hidden = !serviceOK(tr.getAttribute("data-service")) ||
        (env && !tr.querySelector('td.c[data-env="' + CSS.escape(env) + '"]'));
    });
    document.querySelectorAll("#grid-table [data-env]").forEach(function (cell) { cell.hidden = !!env && cell.getAttribute("data-env") !== env; });
    document.querySelectorAll("#timeline-svg g.row").forEach(function (g) { g.style.display = serviceOK(g.getAttribute("data-service")) ? "" : "none"; });
    // An empty environment: an approval decision for every environment of its service.
    document.querySelectorAll("#timeline-svg g.row use").forEach(function (u) {
      var envs = (u.getAttribute("data-env") || "").split(",");
      var show = timeOK(u.getAttribute("data-t")) && (!env || envs.indexOf(env) >= 0 || envs.indexOf("") >= 0);
      u.parentNode.style.display = show ? "" : "none";
    });
    document.querySelectorAll("table.events tbody tr").forEach(function (tr) {
      var trEnv = tr.getAttribute("data-env");
      tr.hidden = !serviceOK(tr.getAttribute("data-service")) || (env && trEnv !== env && trEnv !== "") || !timeOK(tr.getAttribute("data-t"));
    });
  }

  // Served: the grid, the timeline and the events from the API.
  function renderGrid(status) {
    var table = $("grid-table");
    if (!table) return;
    var head = el("tr");
    head.appendChild(el("th", { scope: "col" }, "Service"));
    status.environments.forEach(function (e) { head.appendChild(el("th", { scope: "col", "data-env": e }, e)); });
    head.appendChild(el("th", { scope: "col" }, "Notes"));
    var rows = [], byService = {};
    status.services.forEach(function (c) {
      if (!byService.hasOwnProperty(c.service)) { byService[c.service] = {}; rows.push(c.service); }
      byService[c.service][c.environment] = c;
    });
    var notes = {};
    (status.stagingProduction || []).forEach(function (n) { notes[n.service] = n.note; });
    var tbody = el("tbody"), drift = 0, down = 0, mixed = 0, diff = 0;
    rows.forEach(function (name) {
      var tr = el("tr", { "data-service": name });
      tr.appendChild(el("th", { scope: "row" }, name));
      status.environments.forEach(function (e) {
        var c = byService[name][e];
        if (!c) { tr.appendChild(el("td", { "class": "none", "data-env": e }, "—")); return; }
        var mix = c.versions.length > 1;
        var state = c.drift ? "drift" : c.unreachable > 0 ? "down" : mix ? "mixed" : "ok";
        var td = el("td", { "class": "c " + state, "data-env": e });
        if (c.drift) { drift++; td.appendChild(el("span", { "class": "b drift" }, "⚠ drift")); td.appendChild(document.createTextNode(" ")); }
        if (c.unreachable > 0) {
          down++;
          td.appendChild(el("span", { "class": "b down" }, "✖ " + (c.versions.length ? c.unreachable + " of " + c.instances + " unreachable" : "unreachable")));
          td.appendChild(document.createTextNode(" "));
        }
        if (mix) { mixed++; td.appendChild(el("span", { "class": "b mixed" }, "◐ mixed")); td.appendChild(document.createTextNode(" ")); }
        if (c.versions.length === 1) td.appendChild(document.createTextNode(c.versions[0].version));
        else if (mix) td.appendChild(document.createTextNode(c.versions.map(function (v) { return v.count + "× " + v.version; }).join(", ")));
        if (c.expected !== null) td.appendChild(el("small", { "class": "x" }, "expected " + c.expected));
        tr.appendChild(td);
      });
      var n = el("td", { "class": "n" });
      if (notes[name]) { diff++; n.appendChild(el("span", { "class": "b diff", title: notes[name] }, "⇄ staging ≠ production")); }
      tr.appendChild(n);
      tbody.appendChild(tr);
    });
    var thead = el("thead");
    thead.appendChild(head);
    table.replaceChildren(thead, tbody);
    var meta = $("meta");
    if (meta) {
      var parts = [el("time", { datetime: status.generated }, status.generated.replace(/\.\d+Z$/, "Z")),
        document.createTextNode(" · " + rows.length + " service" + (rows.length === 1 ? "" : "s") + " × " + status.environments.length +
          " environment" + (status.environments.length === 1 ? "" : "s") + " · "),
        el("span", { "class": drift ? "b drift" : "ok" }, (drift ? "⚠ " : "") + drift + " drifting"), document.createTextNode(" · "),
        el("span", { "class": down ? "b down" : "ok" }, (down ? "✖ " : "") + down + " unreachable"), document.createTextNode(" · "),
        el("span", { "class": mixed ? "b mixed" : "ok" }, (mixed ? "◐ " : "") + mixed + " mixed"),
        document.createTextNode(" · " + diff + " with staging ≠ production · "), el("span", { id: "live", "class": "live" }, "live")];
      meta.replaceChildren.apply(meta, parts);
    }
  }

  function renderTimeline(history) {
    var svg = $("timeline-svg"), t = history.timeline;
    if (!svg) return;
    var defs = svg.querySelector("defs");
    svg.setAttribute("viewBox", "0 0 " + t.width + " " + t.height);
    svg.setAttribute("height", t.height);
    var nodes = [sv("title", { id: "tl-title" }, "Timeline: " + history.total + " events, " + t.rowCount + " services"), defs];
    t.ticks.forEach(function (k) {
      nodes.push(sv("line", { "class": "axis", x1: k.x, x2: k.x, y1: 16, y2: t.height - 4 }));
      nodes.push(sv("text", { "class": "tick", x: k.x + 2, y: 12 }, k.label));
    });
    var fleet = sv("g", { "class": "fleet" });
    fleet.appendChild(sv("text", { "class": "lbl", x: 4, y: 42 }, "all services"));
    t.fleet.forEach(function (b) {
      var a = sv("a", { href: b.href });
      var rect = sv("rect", { "class": "bar", x: b.x, y: b.y, width: b.width, height: b.height, "data-count": b.count });
      rect.appendChild(sv("title", {}, b.start + ": " + b.count + " event" + (b.count === 1 ? "" : "s") + ": " +
        Object.keys(b.kinds).map(function (k) { return b.kinds[k] + " " + k; }).join(", ")));
      a.appendChild(rect);
      fleet.appendChild(a);
    });
    nodes.push(fleet);
    t.rows.forEach(function (r) {
      var g = sv("g", { "class": "row", "data-service": r.service });
      g.appendChild(sv("line", { "class": "lane", x1: 190, x2: t.width - 14, y1: r.y, y2: r.y }));
      var label = sv("text", { "class": "lbl", x: 4, y: r.y + 4 }, r.service.length > 26 ? r.service.slice(0, 25) + "…" : r.service);
      g.appendChild(label);
      r.marks.forEach(function (m) {
        var a = sv("a", { href: m.href });
        a.appendChild(sv("use", { href: "#k-" + m.kind, x: +(m.x - 6).toFixed(1), y: r.y - 6,
          "data-t": Math.floor(Date.parse(m.first) / 1000), "data-env": m.environments.join(",") }));
        if (m.count > 1) a.appendChild(sv("text", { x: +(m.x + 7).toFixed(1), y: r.y - 2 }, m.count > 999 ? "999+" : String(m.count)));
        a.appendChild(sv("title", {}, m.title));
        g.appendChild(a);
      });
      nodes.push(g);
    });
    svg.replaceChildren.apply(svg, nodes);
    var meta = $("timeline-meta");
    if (meta) meta.textContent = history.total + " event" + (history.total === 1 ? "" : "s") + " from " + history.since.replace(/\.\d+Z$/, "Z") +
      " to " + history.until.replace(/\.\d+Z$/, "Z") + "; " + t.rowCount + " service" + (t.rowCount === 1 ? "" : "s") +
      " with events, most recently active first" + (t.pages > 1 ? " (page " + t.page + " of " + t.pages + ")" : "");
    var listed = $("events-meta");
    if (listed) listed.textContent = history.events.length < history.total ? "the latest " + history.events.length + " of " + history.total : "all " + history.total;
    var tbody = document.querySelector("table.events tbody");
    if (tbody) {
      var rows = history.events.map(function (e) {
        var tr = el("tr", { id: e.anchor, "data-service": e.service, "data-env": e.environment, "data-kind": e.kind,
          "data-t": Math.floor(Date.parse(e.time) / 1000) });
        var time = el("td");
        time.appendChild(el("time", {}, e.time.replace(/\.\d+Z$/, "Z")));
        tr.appendChild(time);
        tr.appendChild(el("td", {}, e.service));
        tr.appendChild(el("td", {}, e.environment || "all"));
        tr.appendChild(el("td", { "class": "k-" + e.kind }, e.label));
        tr.appendChild(el("td", {}, e.change));
        tr.appendChild(el("td", { "class": "i" }, e.instance));
        return tr;
      });
      tbody.replaceChildren.apply(tbody, rows);
    }
  }

  var lastStatus = "", lastHistory = "", timer = null, busy = false;
  function query() {
    var form = $("filters"), p = new URLSearchParams();
    if (form) {
      ["service", "env", "since", "until"].forEach(function (n) { var v = form.elements[n] && form.elements[n].value.trim(); if (v) p.set(n, v); });
    }
    var page = params().get("page");
    if (page) p.set("page", page);
    return p;
  }
  function refresh() {
    if (busy) return;
    busy = true;
    var p = query(), q = p.toString();
    var sp = new URLSearchParams();
    if (p.get("service")) sp.set("service", p.get("service"));
    if (p.get("env")) sp.set("env", p.get("env"));
    Promise.all([
      fetch("api/status" + (sp.toString() ? "?" + sp : ""), { cache: "no-cache", credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error("status " + r.status); return r.text(); }),
      fetch("api/history?" + q + (q ? "&" : "") + "limit=100", { cache: "no-cache", credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error("history " + r.status); return r.text(); })
    ]).then(function (texts) {
      if (texts[0] !== lastStatus) { lastStatus = texts[0]; renderGrid(JSON.parse(texts[0])); }
      if (texts[1] !== lastHistory) { lastHistory = texts[1]; renderTimeline(JSON.parse(texts[1])); }
      var badge = $("live");
      if (badge) { badge.className = "live"; badge.textContent = "live · updated " + new Date().toISOString().slice(11, 19) + "Z"; }
      body.setAttribute("data-updated", String(Date.now()));
    }).catch(function (error) {
      var badge = $("live");
      if (badge) { badge.className = "live stale"; badge.textContent = "not updating: " + error.message; }
    }).then(function () { busy = false; });
  }

  if (!live) { filterFile(); return; }
  var form = $("filters");
  if (form) {
    var apply = function (event) {
      if (event) event.preventDefault();
      var q = query();
      q.delete("page");
      history.replaceState(null, "", "?" + q.toString() + location.hash);
      refresh();
    };
    form.addEventListener("submit", apply);
    form.addEventListener("change", apply);
    var typing = null;
    form.addEventListener("input", function () { clearTimeout(typing); typing = setTimeout(apply, 300); });
  }
  var seconds = Math.max(1, parseInt(body.getAttribute("data-refresh"), 10) || 5);
  timer = setInterval(refresh, seconds * 1000);
  refresh();
})();
"""#
}
