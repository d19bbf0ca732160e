// Find the record for a pasted error: generator/lookup.py's steps on the index it built
// (search/index.json). Change both together; the tests compare them query by query.
"use strict";
(() => {
  const memo = new WeakMap();

  // The index carries the rules and constants lookup.py used (norm, scoring); the inverted
  // index files each form only under the heavy tokens it cannot score without (see _prepare).
  function prepare(ix) {
    let p = memo.get(ix);
    if (p) return p;
    const n = ix.norm, V = ix.vocab.length, W = ix.weights, sc = ix.scoring;
    const g = (s) => new RegExp(s, "g"), post = ix.vocab.map(() => []);
    p = { before: n.before.map(g), escape: g(n.escape), noise: n.noise.map(g), token: g(n.token),
      stop: new Set(n.stop), max: n.max, V, post, ids: new Map(ix.vocab.map((t, i) => [t, i])) };
    p.forms = ix.forms.map((f, k) => {
      const seq = f.slice(1), uniq = [], pairs = new Set();
      let total = 0, rest = 0;
      seq.forEach((t, i) => {
        if (!uniq.includes(t)) { uniq.push(t); total += W[t]; }
        if (i) pairs.add(seq[i - 1] * V + t);
      });
      const limit = Math.min(sc.threshold * total, sc.part_evidence * ix.unit) * (1 - 1e-9);
      const heavy = uniq.slice().sort((a, b) => W[b] - W[a] || a - b);
      while (heavy.length && rest + W[heavy[heavy.length - 1]] < limit) rest += W[heavy.pop()];
      heavy.forEach((t) => post[t].push(k));
      return { rec: f[0], uniq, total, pairs };
    });
    memo.set(ix, p);
    return p;
  }

  function keep(t, stop) {
    if (t.length < 2 || stop.has(t)) return false;
    if (/^[0-9]/.test(t)) return t.length === 3 && /^[0-9]+$/.test(t) && +t >= 100 && +t <= 599;
    if (/[0-9]/.test(t)) return t.length < 8 && !(t.length >= 6 && /^[0-9a-f]+$/.test(t));
    return true;
  }

  function normalise(ix, text) {
    const p = prepare(ix), blank = (re) => { text = text.replace(re, " "); };
    text = text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
    p.before.forEach(blank);
    text = text.replace(p.escape, (m, hex) => {
      const c = hex === undefined ? " " : String.fromCharCode(parseInt(hex, 16));
      return /^[A-Za-z0-9]$/.test(c) ? c.toLowerCase() : " ";
    });
    p.noise.forEach(blank);
    return (text.match(p.token) || []).filter((t) => keep(t, p.stop)).slice(0, p.max);
  }

  function search(ix, text, limit = 5) {
    const p = prepare(ix), V = p.V, w = ix.weights, c = ix.scoring, ps = c.pair_share;
    const seq = normalise(ix, text).map((t) => p.ids.has(t) ? p.ids.get(t) : -1);
    const qpairs = new Set(), qset = new Set(), cands = new Set(), best = new Map();
    let qweight = 0;
    seq.forEach((t, i) => {
      if (i && seq[i - 1] >= 0 && t >= 0) qpairs.add(seq[i - 1] * V + t);
      if (t < 0 || qset.has(t)) return;
      qset.add(t);
      qweight += w[t];
      p.post[t].forEach((f) => cands.add(f));
    });
    cands.forEach((f) => {
      const form = p.forms[f];
      let m = 0, n = 0, hits = 0;
      form.uniq.forEach((t) => { if (qset.has(t)) { m += w[t]; n++; } });
      if (n < 2 && !(form.uniq.length === 1 && ix.vocab[form.uniq[0]].length >= 8)) return;
      const cov = m / form.total, part = n >= 3 && m >= c.part_evidence * ix.unit;
      if (cov < c.threshold && !part) return;
      form.pairs.forEach((k) => { if (qpairs.has(k)) hits++; });
      const share = form.pairs.size ? hits / form.pairs.size : cov;
      let score = cov * (1 - ps + ps * share);
      if (part) {
        const qshare = qpairs.size ? hits / qpairs.size : 0;
        score = Math.max(score, c.part_cap * (m / qweight) * (1 - ps + ps * qshare));
      }
      const old = best.get(form.rec);
      if (score >= c.threshold && (!old || score > old.s || (score === old.s && m > old.m))) {
        best.set(form.rec, { r: ix.records[form.rec], s: score, m });
      }
    });
    const ranked = [...best.values()].sort((a, b) => b.s - a.s || b.m - a.m || (a.r[0] < b.r[0] ? -1 : 1));
    const low = ranked.length ? ranked[0].s - c.margin : 0;
    return ranked.slice(0, limit).filter((b) => b.s >= low).map(({ r, s }) =>
      ({ slug: r[0], title: r[1], signature: r[2], url: r[3], score: s }));
  }

  const api = window.fixdexLookup = { normalise, search, index: null };
  // The /search/ page: results as the user types or pastes, and for ?q= from any search box.
  const form = document.querySelector("form[data-index]");
  if (!form) return;
  const box = form.querySelector("textarea"), list = document.getElementById("lookup-results");
  const none = document.getElementById("lookup-none");
  let timer = 0, index = null;
  const el = (tag, text) => { const e = document.createElement(tag); e.textContent = text; return e; };

  function run() {
    if (index === false) return;
    const q = box.value, results = index && q.trim() ? search(index, q) : [];
    list.replaceChildren(...results.map((m) => {
      const li = el("li", ""), a = el("a", m.title), score = el("span", " score " + m.score.toFixed(2));
      a.href = m.url;
      score.className = "score";
      li.append(a, score, el("br", ""), el("code", m.signature));
      return li;
    }));
    none.hidden = !index || !q.trim() || results.length > 0;
    list.dataset.q = index ? q : "";
  }

  box.value = new URLSearchParams(location.search).get("q") || box.value;
  api.index = fetch(form.dataset.index).then((r) => {
    if (!r.ok) throw new Error(r.status);
    return r.json();
  }).then((ix) => { prepare(ix); index = ix; run(); return ix; }).catch(() => {
    index = false; // not loaded, or this browser cannot read its patterns
    document.getElementById("lookup-failed").hidden = false;
  });
  box.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 60); });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run();
    history.replaceState(null, "", "?q=" + encodeURIComponent(box.value));
  });
})();
