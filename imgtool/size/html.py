"""A self-contained HTML size report: one file, inline CSS and JavaScript, no network.

The page shows the totals (file, flash image, memory image, flash, ram, unknown, and the
memory regions when given), a squarified treemap with three views and a summary table:

* views: **flash** (what the image stores: file-backed bytes of the PT_LOAD segments; the
  page opens on it), **RAM** (data and BSS) and **file** (every byte of the ELF: debug
  information, symbol table, headers too); a switch selects one;
* nesting module -> package -> symbol; a module with one package of its own name (the
  generated ``<types>``, ``<strings>``, ...) is that package. Leaves are coloured by what
  they are: code, rodata, pclntab (each package's functions' pclntab bytes are one
  ``[pclntab]`` box), data, BSS (hatched), debug/other; an estimated label (a stripped
  ELF's data attributed from code references) is marked ``~``;
* every box big enough shows its name and size; a package box shows its symbols inside;
  clicking a package or module zooms into it, the breadcrumb zooms out; the search box
  marks the boxes whose name contains the text (``data-hit``) and counts the matches;
* under the map, the top packages (flash, RAM, file) and the largest symbols of each view.

Data is embedded as JSON (``<script type="application/json">``): nodes ``{"n": name,
"c": [children]}`` or leaves ``{"n", "v": bytes, "k": kind, "e": 1 when estimated}``,
the symbols of each package cut to the largest 150 plus one ``(N more)`` leaf.
"""

from __future__ import annotations

import html
import json
import re

from imgtool.size.engine import CATEGORIES, SizeReport
from imgtool.size.render import human
from imgtool.size.views import table, totals

_PER_PACKAGE = 150
VIEWS = ("flash", "ram", "file")

_CSS = """
body{font:13px system-ui,sans-serif;margin:0;background:#fafafa;color:#222}
header{padding:8px 12px;background:#24323f;color:#fff}
header h1{font-size:15px;margin:0 0 4px}
#totals span{margin-right:16px}
#bar{padding:6px 12px;display:flex;gap:12px;align-items:center;flex-wrap:wrap}
#bar button{font:inherit;padding:3px 10px;border:1px solid #889;background:#fff;cursor:pointer;border-radius:3px}
#bar button[aria-pressed=true]{background:#24323f;color:#fff}
#search{font:inherit;padding:3px 6px;width:240px}
#crumbs a{cursor:pointer;color:#06c;text-decoration:underline}
#map{position:relative;margin:0 12px;height:calc(100vh - 170px);min-height:420px;background:#fff}
.box{position:absolute;overflow:hidden;box-sizing:border-box;border:1px solid #fff;cursor:pointer;
     font-size:11px;line-height:13px;padding:1px 3px;color:#111;white-space:nowrap;text-overflow:ellipsis}
.box[data-group]{background:#e8ebef;border-color:#9aa4b0;font-weight:600}
.box[data-kind=text]{background:#8db4e2}.box[data-kind=rodata]{background:#9ed39b}
.box[data-kind=pclntab]{background:#f4b76b}.box[data-kind=data]{background:#c6a5dd}
.box[data-kind=bss]{background:repeating-linear-gradient(45deg,#d8d8d8,#d8d8d8 4px,#ececec 4px,#ececec 8px)}
.box[data-kind=debug]{background:#d9d2c5}.box[data-kind=other]{background:#cfd6dc}
.box[data-est]{font-style:italic}
.box[data-hit]{outline:3px solid #e3007a;outline-offset:-3px;z-index:3}
.box:hover{outline:2px solid #000;z-index:2}
#tip{padding:4px 12px;min-height:18px;font-family:monospace}
#legend span{display:inline-block;padding:1px 6px;margin-right:4px;border-radius:2px}
section.summary{padding:8px 12px;display:flex;gap:24px;flex-wrap:wrap}
table.sum{border-collapse:collapse;font-size:12px}
table.sum th,table.sum td{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}
table.sum td:first-child,table.sum th:first-child,table.sum td.l{text-align:left;font-family:monospace}
"""

_JS = r"""
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
function hum(n){const a=Math.abs(n);if(a<1024)return n+" B";if(a<1048576)return (n/1024).toFixed(1)+" KiB";
  return (n/1048576).toFixed(2)+" MiB";}
const T = D.totals, tot = document.getElementById("totals");
[["file","file"],["flash_image","flash image"],["memory","memory image"],["flash","flash"],["ram","ram"],
 ["unknown","unknown"]].forEach(([k,l])=>{const s=document.createElement("span");s.id="total-"+k;
  s.dataset.bytes=T[k];s.textContent=l+": "+hum(T[k])+" ("+T[k]+")";tot.appendChild(s);});
D.regions.forEach(g=>{const s=document.createElement("span");s.className="region";s.dataset.bytes=g.used;
  s.textContent=g.name+": "+hum(g.used)+" of "+hum(g.size)+" ("+g.percent.toFixed(2)+"%)";tot.appendChild(s);});
function prep(n,p){n.parent=p;if(n.c){n.t=0;n.c.forEach(c=>{prep(c,n);n.t+=c.t;});n.c.sort((a,b)=>b.t-a.t);}
  else n.t=n.v;}
Object.values(D.views).forEach(v=>prep(v,null));
function squarify(items,x,y,w,h,out){
  items=items.filter(c=>c.t>0);if(!items.length||w<=0||h<=0)return;
  const sum=items.reduce((a,c)=>a+c.t,0);const scale=w*h/sum;let row=[],rest=items.slice(),short=Math.min(w,h);
  function worst(r){const t=r.reduce((a,c)=>a+c.t*scale,0);let mx=0,mn=Infinity;
    r.forEach(c=>{const v=c.t*scale;mx=Math.max(mx,v);mn=Math.min(mn,v);});
    return Math.max(short*short*mx/(t*t),t*t/(short*short*mn));}
  while(rest.length){const c=rest[0];if(!row.length||worst(row.concat([c]))<=worst(row)){row.push(c);rest.shift();}
    else break;}
  const rs=row.reduce((a,c)=>a+c.t,0)*scale;
  if(w>=h){const rw=rs/h;let yy=y;row.forEach(c=>{const hh=c.t*scale/rw;out.push([c,x,yy,rw,hh]);yy+=hh;});
    squarify(rest,x+rw,y,w-rw,h,out);}
  else{const rh=rs/w;let xx=x;row.forEach(c=>{const ww=c.t*scale/rh;out.push([c,xx,y,ww,rh]);xx+=ww;});
    squarify(rest,x,y+rh,w,h-rh,out);}
}
const map=document.getElementById("map"),tip=document.getElementById("tip"),crumbs=document.getElementById("crumbs");
const search=document.getElementById("search"),hits=document.getElementById("hits");
let view="flash",cur=D.views.flash;
function label(n){return (n.e?"~":"")+n.n+" "+hum(n.t)+(n.k==="bss"?" (bss)":"");}
function draw(n,x,y,w,h,depth){
  const out=[];squarify(n.c||[],x,y,w,h,out);
  out.forEach(([c,bx,by,bw,bh])=>{const b=document.createElement("div");b.className="box";
    b.style.left=bx+"px";b.style.top=by+"px";b.style.width=bw+"px";b.style.height=bh+"px";
    b.dataset.name=c.n;if(c.c)b.dataset.group="1";else b.dataset.kind=c.k;if(c.e)b.dataset.est="1";
    if(bw>=40&&bh>=14){b.textContent=label(c);b.dataset.label="1";}
    b.title=(c.e?"estimate: ":"")+c.n+": "+c.t+" bytes";
    b.onmouseenter=ev=>{ev.stopPropagation();tip.textContent=(c.e?"~ ":"")+c.n+"  "+c.t+" bytes ("
      +(100*c.t/D.views[view].t).toFixed(2)+"% of "+view+")";};
    b.onclick=ev=>{ev.stopPropagation();if(c.c)show(c);else if(c.parent&&c.parent!==cur)show(c.parent);};
    map.appendChild(b);
    if(c.c&&depth<2&&bw>60&&bh>44)draw(c,bx+3,by+15,bw-6,bh-18,depth+1);});
}
function show(n){
  cur=n;map.innerHTML="";crumbs.innerHTML="";const path=[];for(let p=n;p;p=p.parent)path.unshift(p);
  path.forEach((p,i)=>{const a=document.createElement("a");a.textContent=p.n+" ("+hum(p.t)+")";a.onclick=()=>show(p);
    crumbs.appendChild(a);if(i<path.length-1)crumbs.appendChild(document.createTextNode(" / "));});
  draw(n,0,0,map.clientWidth,map.clientHeight,0);mark();
}
function count(n,q){let k=n.n.toLowerCase().includes(q)?1:0;(n.c||[]).forEach(c=>{k+=count(c,q);});return k;}
function mark(){const q=search.value.trim().toLowerCase();let shown=0;
  map.querySelectorAll(".box").forEach(b=>{if(q&&b.dataset.name.toLowerCase().includes(q)){b.dataset.hit="1";shown++;}
    else delete b.dataset.hit;});
  hits.textContent=q?count(D.views[view],q)+" matches, "+shown+" on the map":"";}
search.addEventListener("input",mark);
VIEWS.forEach(v=>{const b=document.getElementById("view-"+v);
  b.onclick=()=>{view=v;VIEWS.forEach(u=>document.getElementById("view-"+u).setAttribute("aria-pressed",u===v));
    show(D.views[v]);};});
show(cur);window.addEventListener("resize",()=>show(cur));
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>imgtool size: __TITLE__</title>
<style>__CSS__</style></head><body>
<header><h1>imgtool size &mdash; __TITLE__</h1>
<div id="totals"></div></header>
<div id="bar"><span>view:</span>
<button id="view-flash" aria-pressed="true" title="what the image stores">flash</button>
<button id="view-ram" aria-pressed="false" title="data and BSS">RAM</button>
<button id="view-file" aria-pressed="false" title="every byte of the ELF file">file</button>
<input id="search" type="search" placeholder="search symbols and packages" aria-label="search">
<span id="hits"></span><span id="crumbs"></span></div>
<div id="map"></div><div id="tip"></div>
<div id="legend" style="padding:0 12px">__LEGEND__</div>
__SUMMARY__
<script type="application/json" id="data">__DATA__</script>
<script>const VIEWS=["flash","ram","file"];__JS__</script></body></html>
"""

_KIND_COLOURS = (("text", "code", "#8db4e2"), ("rodata", "rodata", "#9ed39b"), ("pclntab", "pclntab", "#f4b76b"),
                 ("data", "data", "#c6a5dd"), ("bss", "BSS", "#d8d8d8"), ("debug", "debug", "#d9d2c5"),
                 ("other", "other", "#cfd6dc"))


def _in_view(si, view: str) -> bool:
    if view == "file":
        return bool(si.section.file_size)
    return si.category in CATEGORIES and (si.flash if view == "flash" else si.ram)


def _kind(si) -> str:
    if si.category in CATEGORIES:
        return si.category
    return "debug" if si.section.name.startswith((".debug", ".zdebug")) else "other"


def view_tree(r: SizeReport, view: str) -> dict:
    """module -> package -> symbol tree of ``view`` (flash, ram or file; bytes per leaf)."""
    per: dict[str, dict[str, dict[tuple[str, str], list]]] = {}
    pieces = [(si, p) for si in r.sections.values() if _in_view(si, view) for p in si.pieces]
    if view == "file":
        pieces += [(None, p) for p in r.extra_file]
    for si, p in pieces:
        kind = _kind(si) if si is not None else "other"
        name = "[pclntab]" if kind == "pclntab" and not p.package.startswith("<") else p.symbol
        mod = r.modules.module(p.package).path
        leaf = per.setdefault(mod, {}).setdefault(p.package, {}).setdefault((name, kind), [0, False])
        leaf[0] += p.size
        leaf[1] |= p.estimate
    mods = []
    for mod, pkgs in per.items():
        children = []
        for pkg, syms in pkgs.items():
            items = sorted(syms.items(), key=lambda kv: -kv[1][0])
            leaves = [dict({"n": n, "v": v, "k": k}, **({"e": 1} if est else {}))
                      for (n, k), (v, est) in items[:_PER_PACKAGE]]
            rest = sum(v for _, (v, _e) in items[_PER_PACKAGE:])
            if rest:
                leaves.append({"n": f"({len(items) - _PER_PACKAGE} more)", "v": rest, "k": "other"})
            children.append({"n": pkg, "c": leaves})
        mods.append(children[0] if len(children) == 1 and children[0]["n"] == mod else {"n": mod, "c": children})
    return {"n": {"flash": "flash", "ram": "RAM", "file": "file"}[view], "c": mods}


def _largest(r: SizeReport, view: str, n: int = 15) -> list[tuple[str, str, str, int, bool]]:
    acc: dict[tuple[str, str], list] = {}
    for si in r.sections.values():
        if _in_view(si, view):
            for p in si.pieces:
                a = acc.setdefault((p.symbol, p.package), [0, _kind(si), False])
                a[0] += p.size
                a[2] |= p.estimate
    best = sorted(acc.items(), key=lambda kv: -kv[1][0])[:n]
    return [(s, pkg, kind, size, est) for (s, pkg), (size, kind, est) in best]


def _summary(r: SizeReport) -> str:
    e = html.escape
    rows = table(r, "package")[:25]
    out = ['<section class="summary"><div><h3>Top packages</h3><table class="sum" id="top-packages">',
           "<tr><th>package</th><th>flash</th><th>RAM</th><th>file</th><th>text</th><th>pclntab</th></tr>"]
    for x in rows:
        out.append(f"<tr><td>{e(x['name'])}</td><td>{human(x['flash'])}</td><td>{human(x['ram'])}</td>"
                   f"<td>{human(x['file'])}</td><td>{human(x['text'])}</td><td>{human(x['pclntab'])}</td></tr>")
    out.append("</table></div>")
    for view in VIEWS:
        out.append(f'<div><h3>Largest symbols: {view}</h3><table class="sum" id="largest-{view}">'
                   "<tr><th>symbol</th><th>package</th><th>kind</th><th>bytes</th></tr>")
        for sym, pkg, kind, size, est in _largest(r, view):
            out.append(f"<tr><td>{'~' if est else ''}{e(sym)}</td><td class=l>{e(pkg)}</td><td class=l>{kind}</td>"
                       f"<td>{human(size)}</td></tr>")
        out.append("</table></div>")
    if r.estimated:
        out.append("<p>~ marks an estimate: data of a stripped ELF attributed from code references and the Go "
                   "runtime's tables (docs/size.md).</p>")
    out.append("</section>")
    return "\n".join(out)


def render_html(r: SizeReport, regions: dict | None = None) -> str:
    """The report as one self-contained HTML document; with ``regions`` (a
    :func:`imgtool.size.regions.region_usage` result) the header also shows each region's
    used and total bytes."""
    data = json.dumps({"totals": totals(r), "views": {v: view_tree(r, v) for v in VIEWS},
                       "regions": (regions or {}).get("rows", [])}, separators=(",", ":"))
    data = data.replace("</", "<\\/")
    legend = "".join(f'<span style="background:{c}">{label}</span>' for _, label, c in _KIND_COLOURS)
    title = html.escape(r.source or "ELF")
    parts = {"CSS": _CSS, "JS": _JS, "LEGEND": legend, "SUMMARY": _summary(r), "TITLE": title, "DATA": data}
    # one pass, so a placeholder inside inserted text (a file or symbol named __DATA__) stays text
    return re.sub(r"__(CSS|JS|LEGEND|SUMMARY|TITLE|DATA)__", lambda m: parts[m[1]], _PAGE)
