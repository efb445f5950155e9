"""A self-contained HTML size report: one file, inline CSS and JavaScript, no network.

The page shows the totals (file, flash image, memory image, flash, ram, unknown, and
the memory regions when given) and a
squarified treemap of the memory image: module -> package -> symbol. Clicking a box zooms
into it; the breadcrumb zooms out. Data is embedded as JSON (``<script
type="application/json">``), with the symbols of each package cut to the largest 150
plus one ``(other)`` box so the file stays small.
"""

from __future__ import annotations

import html
import json

from imgtool.size.engine import SizeReport
from imgtool.size.views import totals

_PER_PACKAGE = 150

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>imgtool size: __TITLE__</title>
<style>
body{font:13px system-ui,sans-serif;margin:0;background:#fafafa;color:#222}
header{padding:8px 12px;background:#24323f;color:#fff}
header h1{font-size:15px;margin:0 0 4px}
#totals span{margin-right:16px}
#crumbs{padding:6px 12px}#crumbs a{cursor:pointer;color:#06c;text-decoration:underline}
#map{position:relative;margin:0 12px;height:calc(100vh - 120px);min-height:400px}
.box{position:absolute;overflow:hidden;box-sizing:border-box;border:1px solid #fff;cursor:pointer;
     font-size:11px;padding:2px;color:#111}
.box:hover{outline:2px solid #000;z-index:2}
#tip{padding:4px 12px;height:18px;font-family:monospace}
</style></head><body>
<header><h1>imgtool size &mdash; __TITLE__</h1>
<div id="totals"></div></header>
<div id="crumbs"></div><div id="map"></div><div id="tip"></div>
<script type="application/json" id="data">__DATA__</script>
<script>
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
function size(n){return n.children?n.children.reduce((a,c)=>a+size(c),0):n.value;}
function prep(n){n.total=size(n);if(n.children){n.children.forEach(c=>{c.parent=n;prep(c);});
  n.children.sort((a,b)=>b.total-a.total);}}
prep(D.tree);
const colors=["#8dd3c7","#ffffb3","#bebada","#fb8072","#80b1d3","#fdb462","#b3de69","#fccde5","#d9d9d9","#bc80bd"];
function squarify(items,x,y,w,h,out){
  if(!items.length)return; const sum=items.reduce((a,c)=>a+c.total,0); if(sum<=0)return;
  let row=[],rest=items.slice(),short=Math.min(w,h),scale=w*h/sum;
  function worst(r,s){const t=r.reduce((a,c)=>a+c.total*scale,0);let mx=0,mn=Infinity;
    r.forEach(c=>{const v=c.total*scale;mx=Math.max(mx,v);mn=Math.min(mn,v);});
    return Math.max(s*s*mx/(t*t),t*t/(s*s*mn));}
  while(rest.length){const c=rest[0];
    if(!row.length||worst(row.concat([c]),short)<=worst(row,short)){row.push(c);rest.shift();}
    else break;}
  const rs=row.reduce((a,c)=>a+c.total,0)*scale;
  if(w>=h){const rw=rs/h;let yy=y;row.forEach(c=>{const hh=c.total*scale/rw;out.push([c,x,yy,rw,hh]);yy+=hh;});
    squarify(rest,x+rw,y,w-rw,h,out);}
  else{const rh=rs/w;let xx=x;row.forEach(c=>{const ww=c.total*scale/rh;out.push([c,xx,y,ww,rh]);xx+=ww;});
    squarify(rest,x,y+rh,w,h-rh,out);}
}
const map=document.getElementById("map"),tip=document.getElementById("tip"),crumbs=document.getElementById("crumbs");
function show(node){
  map.innerHTML="";crumbs.innerHTML="";const path=[];for(let n=node;n;n=n.parent)path.unshift(n);
  path.forEach((n,i)=>{const a=document.createElement("a");a.textContent=n.name+" ("+hum(n.total)+")";
    a.onclick=()=>show(n);crumbs.appendChild(a);if(i<path.length-1)crumbs.appendChild(document.createTextNode(" / "));});
  const out=[];squarify((node.children||[]).filter(c=>c.total>0),0,0,map.clientWidth,map.clientHeight,out);
  out.forEach(([c,x,y,w,h],i)=>{const b=document.createElement("div");b.className="box";
    b.style.left=x+"px";b.style.top=y+"px";b.style.width=w+"px";b.style.height=h+"px";
    b.style.background=colors[i%colors.length];
    if(w>40&&h>14)b.textContent=c.name+" "+hum(c.total);
    b.title=c.name+": "+c.total+" bytes";
    b.onmouseenter=()=>{tip.textContent=c.name+"  "+c.total+" bytes ("+(100*c.total/D.tree.total).toFixed(2)+"%)";};
    if(c.children)b.onclick=()=>show(c);map.appendChild(b);});
}
show(D.tree);window.addEventListener("resize",()=>show(D.tree));
</script></body></html>
"""


def tree(r: SizeReport) -> dict:
    """module -> package -> symbol tree of the loaded memory image (bytes per leaf)."""
    per: dict[str, dict[str, dict[str, int]]] = {}
    for si in r.sections.values():
        if si.category not in ("text", "rodata", "pclntab", "data", "bss"):
            continue
        for p in si.pieces:
            mod = r.modules.module(p.package).path
            syms = per.setdefault(mod, {}).setdefault(p.package, {})
            syms[p.symbol] = syms.get(p.symbol, 0) + p.size
    mods = []
    for mod, pkgs in per.items():
        children = []
        for pkg, syms in pkgs.items():
            items = sorted(syms.items(), key=lambda kv: -kv[1])
            leaves = [{"name": n, "value": v} for n, v in items[:_PER_PACKAGE]]
            rest = sum(v for _, v in items[_PER_PACKAGE:])
            if rest:
                leaves.append({"name": f"(other {len(items) - _PER_PACKAGE})", "value": rest})
            children.append({"name": pkg, "children": leaves})
        mods.append({"name": mod, "children": children})
    return {"name": "memory image", "children": mods}


def render_html(r: SizeReport, regions: dict | None = None) -> str:
    """The report as one self-contained HTML document; with ``regions`` (a
    :func:`imgtool.size.regions.region_usage` result) the header also shows each region's
    used and total bytes."""
    data = json.dumps({"totals": totals(r), "tree": tree(r), "regions": (regions or {}).get("rows", [])},
                      separators=(",", ":"))
    data = data.replace("</", "<\\/")
    title = html.escape(r.source or "ELF")
    return _PAGE.replace("__TITLE__", title).replace("__DATA__", data)
