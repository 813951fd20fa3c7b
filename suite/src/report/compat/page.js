(function(){
"use strict";
var data=JSON.parse(document.getElementById("data").textContent);
var table=document.getElementById("matrix"),tbody=table.tBodies[0];
var rows=Array.prototype.slice.call(tbody.querySelectorAll("tr[data-op]"));
var ctl={q:byId("q"),area:byId("f-area"),category:byId("f-category"),seed:byId("f-seed"),status:byId("f-status"),target:byId("f-target"),group:byId("f-group")};
var sortKey="name",sortDir=1;
function byId(id){return document.getElementById(id);}
function esc(s){return String(s==null?"":s).replace(/[&<>"']/g,function(c){return{"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;","'":"&#39;"}[c];});}
function setControlsHeight(){document.documentElement.style.setProperty("--controls-h",byId("controls").offsetHeight+"px");}
window.addEventListener("resize",setControlsHeight);setControlsHeight();
if(window.ResizeObserver)new ResizeObserver(setControlsHeight).observe(byId("controls"));
function matches(tr){
  var q=ctl.q.value.trim().toLowerCase();
  if(q&&tr.dataset.op.toLowerCase().indexOf(q)<0)return false;
  var a=ctl.area.value;
  if(a){if(a==="not covered"){if(tr.dataset.areas!=="")return false;}else if((" "+tr.dataset.areas+" ").indexOf(" "+a+" ")<0)return false;}
  if(ctl.category.value&&tr.dataset.category!==ctl.category.value)return false;
  if(ctl.seed.value==="seed"&&tr.dataset.seed!=="1")return false;
  if(ctl.seed.value==="non-seed"&&tr.dataset.seed!=="0")return false;
  var st=ctl.status.value;
  if(st){var sts=tr.dataset.statuses.split(" ");var t=ctl.target.value;
    if(t!==""){if(sts[+t]!==st)return false;}else if(sts.indexOf(st)<0)return false;}
  return true;
}
function key(tr){
  if(sortKey==="name")return tr.dataset.op.toLowerCase();
  if(sortKey==="area")return tr.dataset.area+" "+tr.dataset.op.toLowerCase();
  if(sortKey==="category")return tr.dataset.category+" "+tr.dataset.op.toLowerCase();
  var i=+sortKey.slice(1);var td=tr.querySelectorAll("td.cell")[i];return td?parseFloat(td.dataset.score):0;
}
function groupOf(tr){var g=ctl.group.value;return g==="area"?tr.dataset.area:g==="category"?tr.dataset.category:"";}
function apply(){
  var sorted=rows.slice().sort(function(x,y){
    var gx=groupOf(x),gy=groupOf(y);if(gx!==gy)return gx<gy?-1:1;
    var kx=key(x),ky=key(y);if(kx<ky)return -sortDir;if(kx>ky)return sortDir;
    return x.dataset.op<y.dataset.op?-1:1;});
  Array.prototype.slice.call(tbody.querySelectorAll("tr.group-row")).forEach(function(g){g.remove();});
  var shown=0,cols=table.tHead.rows[0].cells.length,current=null,header=null,inGroup=0;
  function closeGroup(){if(header){header.querySelector("small").textContent=inGroup+" operation"+(inGroup===1?"":"s");header.hidden=inGroup===0;}}
  sorted.forEach(function(tr){
    var g=groupOf(tr);
    if(ctl.group.value&&g!==current){closeGroup();current=g;inGroup=0;
      header=document.createElement("tr");header.className="group-row";
      header.innerHTML='<th colspan="'+cols+'">'+esc(g)+'<small></small></th>';tbody.appendChild(header);}
    tbody.appendChild(tr);
    var ok=matches(tr);tr.hidden=!ok;if(ok){shown++;inGroup++;}
  });
  closeGroup();
  byId("count").textContent="Showing "+shown+" of "+rows.length+" operations";
  setControlsHeight();
}
["input","change"].forEach(function(ev){Object.keys(ctl).forEach(function(k){ctl[k].addEventListener(ev,apply);});});
Array.prototype.forEach.call(table.tHead.querySelectorAll("th.sortable"),function(th){
  th.addEventListener("click",function(){
    var k=th.dataset.sort;
    if(sortKey===k)sortDir=-sortDir;else{sortKey=k;sortDir=k.charAt(0)==="t"&&k!=="name"?-1:1;}
    Array.prototype.forEach.call(table.tHead.querySelectorAll("th.sortable"),function(o){o.removeAttribute("aria-sort");});
    th.setAttribute("aria-sort",sortDir>0?"ascending":"descending");apply();});
});
var drawer=byId("detail"),lastCell=null;
var VCLASS={pass:"s-pass",fail:"s-fail",known_failure:"s-partial",unsupported:"s-unsupported",skipped:"s-skipped"};
function diffHtml(d){return d.split("\n").map(function(l){var c=l.indexOf("@@")===0?"hunk":l.charAt(0)==="+"&&l.indexOf("+++")!==0?"add":l.charAt(0)==="-"&&l.indexOf("---")!==0?"del":"";return c?'<span class="'+c+'">'+esc(l)+'</span>':esc(l)+"\n";}).join("");}
function findingHtml(f){
  var at=f.step==null?"Cleanup":"Step "+esc(f.step)+(f.label?" <code>"+esc(f.label)+"</code>":"");
  var h='<div class="finding ax-'+esc(f.axis)+' sev-'+esc(f.severity)+'" data-axis="'+esc(f.axis)+'" data-severity="'+esc(f.severity)+'"><p class="fh">'+at+' · <b>'+esc(f.axis)+"/"+esc(f.check)+'</b> <span class="sevtag">'+esc(f.severity)+'</span> at <code>'+esc(f.path)+"</code>: "+esc(f.summary)+' '+(f.known!=null?'<span class="tag known">known: '+esc(f.known)+"</span>":'<span class="tag new">new</span>')+"</p>";
  if(f.expected)h+='<div class="lbl">expected</div><pre>'+esc(f.expected)+"</pre>";
  if(f.actual)h+='<div class="lbl">actual</div><pre>'+esc(f.actual)+"</pre>";
  if(f.diff)h+='<div class="lbl">diff</div><pre class="diff">'+diffHtml(f.diff)+"</pre>";
  if(f.source)h+='<p class="src">evidence: '+esc(f.source)+"</p>";
  return h+"</div>";
}
function open(td){
  var op=td.parentNode.dataset.op,ti=+td.dataset.target,t=data.targets[ti],cell=data.cells[op][ti];
  byId("detail-title").innerHTML="<code>"+esc(op)+"</code> on "+esc(t.name)+" <small>"+esc(t.version)+"</small>";
  var h='<p>'+(cell.total?cell.passed+" of "+cell.total+" behaviour checks pass.":"No behaviour checks.")+(cell.unsupported?" "+cell.unsupported+" check(s) reached an operation "+esc(t.name)+" does not implement (counted apart, not as failures).":"")+' Scenarios covering this operation on '+esc(t.name)+':</p>';
  cell.checks.forEach(function(c){
    var name=c[0],status=c[1],verdict=c[2],shape=c[3],protocol=c[4],s=data.scenarios[name]||{},r=(s.results||[])[ti];
    h+='<section class="check" data-status="'+esc(status)+'"><h3><span class="o-'+esc(status)+'">'+(data.icons[status]||"")+'</span><code>'+esc(name)+'</code><span class="badge '+(VCLASS[status]||"")+'">behaviour: '+esc(status.replace(/_/g," "))+'</span>'+(shape?'<span class="badge wire" data-axis="shape">shape ×'+shape+'</span>':"")+(protocol?'<span class="badge wire" data-axis="protocol">protocol ×'+protocol+'</span>':"")+'</h3><div class="body">';
    if(r){
      if(r.outcome==="unsupported")h+="<p>Step "+esc(r.step)+": the target does not implement <code>"+esc(r.action)+"</code>"+(r.outcome_reason?" ("+esc(r.outcome_reason)+")":"")+".</p>";
      else if(r.outcome==="skipped")h+="<p>Skipped: "+esc(r.outcome_reason)+"</p>";
      else if(r.outcome==="stopped")h+="<p>Stopped at step "+esc(r.step)+(r.label?" <code>"+esc(r.label)+"</code>":"")+": "+esc(r.outcome_reason)+"</p>";
      if(r.reason&&r.outcome!=="skipped")h+='<p class="reason">Verdict '+esc(verdict.replace(/_/g," "))+": "+esc(r.reason)+"</p>";
      if(!r.findings.length&&r.outcome==="completed")h+="<p>Every assertion held.</p>";
      r.findings.forEach(function(f){h+=findingHtml(f);});
      if(r.stale&&r.stale.length)h+='<p class="reason">Known deviations that no longer occur: '+esc(r.stale.join("; "))+"</p>";
    }else h+="<p>Not run on this target.</p>";
    if(s.source)h+='<p class="src">scenario source: '+esc(s.source)+(s.file?" · "+esc(s.file):"")+"</p>";
    h+="</div></section>";
  });
  byId("detail-body").innerHTML=h;drawer.hidden=false;lastCell=td;byId("detail-close").focus();
}
function close(){drawer.hidden=true;if(lastCell)lastCell.focus();}
tbody.addEventListener("click",function(e){var td=e.target.closest("td.clickable");if(td)open(td);});
tbody.addEventListener("keydown",function(e){if(e.key==="Enter"||e.key===" "){var td=e.target.closest("td.clickable");if(td){e.preventDefault();open(td);}}});
byId("detail-close").addEventListener("click",close);
document.addEventListener("keydown",function(e){if(e.key==="Escape"&&!drawer.hidden)close();});
apply();
})();
