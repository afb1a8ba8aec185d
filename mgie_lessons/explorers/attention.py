"""Chapter 2's explorer: self-attention of the seed instruction, computed in the page.

Every control of the Jupyter panel: the weights W^Q, W^K, W^V (typed matrices in Jupyter, a
few presets here), the 1/sqrt(d_k) scaling, the temperature tau and the causal mask. The page
computes A = softmax(Q K^T / (sqrt(d_k) tau) + M) and H = A V (Eqs. 2.1-2.5) in JavaScript;
:func:`reference` computes the same with :mod:`mgie_lessons.attention`, and the browser tests
compare the two on every combination of the controls.
"""

from __future__ import annotations

import numpy as np

from .. import attention, pipeline
from .kit import Checkbox, Explorer, Range, ScriptView, Select

__all__ = ["make_explorer", "reference", "WEIGHT_PRESETS", "TEMPERATURES", "SCRIPT"]

_I = [[1.0, 0.0], [0.0, 1.0]]
#: The matrices W^Q, W^K, W^V the explorer offers.
WEIGHT_PRESETS = {
    "the seed's: W^Q = W^K = W^V = I": {"W_q": _I, "W_k": _I, "W_v": _I},
    "W^Q = W^K = 3 I (sharper scores)": {"W_q": [[3.0, 0.0], [0.0, 3.0]], "W_k": [[3.0, 0.0], [0.0, 3.0]], "W_v": _I},
    "W^Q = W^K = 10 I (one token wins)": {"W_q": [[10.0, 0.0], [0.0, 10.0]], "W_k": [[10.0, 0.0], [0.0, 10.0]], "W_v": _I},
    "W^Q swaps the two coordinates": {"W_q": [[0.0, 1.0], [1.0, 0.0]], "W_k": _I, "W_v": _I},
    "W^V = diag(1, -1) (flips H's second column)": {"W_q": _I, "W_k": _I, "W_v": [[1.0, 0.0], [0.0, -1.0]]},
}
#: tau from 0.05 to 2 (the panel's slider goes from 0 to 2; tau = 0 is refused there).
TEMPERATURES = tuple(round(0.05 * k, 2) for k in range(1, 41))

SCRIPT = r"""{
compute:function(v,d){
  function mm(A,B){return A.map(function(r){return B[0].map(function(_,j){var s=0;for(var k=0;k<B.length;k++){s+=r[k]*B[k][j];}return s;});});}
  var W=v.weights,Q=mm(d.X,W.W_q),K=mm(d.X,W.W_k),V=mm(d.X,W.W_v),dk=W.W_q[0].length;
  var div=(v.scale?Math.sqrt(dk):1)*v.temperature;
  var A=Q.map(function(q,i){
    var s=K.map(function(k,j){if(v.causal&&j>i){return -Infinity;}var t=0;for(var c=0;c<dk;c++){t+=q[c]*k[c];}return t/div;});
    var m=Math.max.apply(null,s),e=s.map(function(x){return x===-Infinity?0:Math.exp(x-m);}),z=0;
    e.forEach(function(x){z+=x;});return e.map(function(x){return x/z;});});
  var H=mm(A,V),largest=-Infinity,smallest=Infinity,dev=0,ratio=Infinity;
  A.forEach(function(row,i){var m=v.causal?i+1:row.length,h=0;
    row.forEach(function(a,j){if(v.causal&&j>i){return;}largest=Math.max(largest,a);smallest=Math.min(smallest,a);
      dev=Math.max(dev,Math.abs(a-1/m));if(a>0){h-=a*Math.log(a);}});
    if(m>1){ratio=Math.min(ratio,h/Math.log(m));}});
  return {weights:A,output:H,largest_weight:largest,smallest_weight:smallest,max_abs_deviation:dev,
          min_entropy_ratio:isFinite(ratio)?ratio:1};
},
draw:function(el,r,v){
  var P=window.MGIEPlot,s=P.svg(el,560,585),labels=this.labels;
  P.heatmap(s,{values:r.weights,vmin:0,vmax:1,digits:3,fontsize:8.5,rowLabels:labels,colLabels:labels,
    title:"Attention weights A (tau = "+v.temperature+(v.causal?", causal mask":"")+")",
    xlabel:"key token j (column: attended to)",ylabel:"query token i (row: who attends)",cbarlabel:"weight a_ij"},
    {x:90,y:40,w:380,h:380});
  var rows=r.output.map(function(h,i){return labels[i]+": ("+h.map(function(x){return x.toFixed(3);}).join(", ")+")";});
  P.text(s,20,490,"H = AV, one row per token:",{"font-weight":"bold"});
  rows.forEach(function(t,i){P.text(s,20+(i%2)*270,508+13*Math.floor(i/2),t,{"font-size":10.5});});
  var top=r.weights[3].indexOf(Math.max.apply(null,r.weights[3]));
  P.text(s,280,490,"largest weight "+r.largest_weight.toFixed(3)+", smallest "+r.smallest_weight.toFixed(3),{"font-size":10.5});
  return "Heatmap of the 10 by 10 attention weights of the seed instruction at temperature "+v.temperature+
    (v.scale?" with":" without")+" the 1/sqrt(d_k) scaling"+(v.causal?", causal mask on":", no mask")+
    ". Largest weight "+r.largest_weight.toFixed(3)+", smallest "+r.smallest_weight.toFixed(3)+
    "; the row of 'hat' puts its largest weight, "+r.weights[3][top].toFixed(3)+", on '"+labels[top].replace(/^\d+ /,"")+"'."+
    " Least spread row: entropy ratio "+r.min_entropy_ratio.toFixed(3)+".";
},
labels:null
}"""


def _data() -> dict:
    run = pipeline.seed_run()
    return {"X": np.asarray(run.X, dtype=float).tolist(), "tokens": [f"{i + 1} {w}" for i, w in enumerate(run.words)]}


def reference(values: dict) -> dict:
    """What the page's script must compute for ``values``, computed by the package."""
    weights = values["weights"]
    result = attention.self_attention(pipeline.seed_run().X, weights["W_q"], weights["W_k"], weights["W_v"],
                                      causal=bool(values["causal"]), scale=bool(values["scale"]),
                                      temperature=values["temperature"])
    spread = attention.weight_spread(result.weights, causal=bool(values["causal"]))
    return {"weights": result.weights, "output": result.output, "largest_weight": spread.largest_weight,
            "smallest_weight": spread.smallest_weight, "max_abs_deviation": spread.max_abs_deviation,
            "min_entropy_ratio": spread.min_entropy_ratio}


def make_explorer() -> Explorer:
    """Weights preset x scaling x temperature x causal mask, computed in the page."""
    parameters = [
        Select("weights", WEIGHT_PRESETS, label="W^Q, W^K, W^V", covers=("W_q", "W_k", "W_v")),
        Checkbox("scale", label="divide by sqrt(d_k)", initial=True),
        Range("temperature", TEMPERATURES, label="temperature tau", initial=1.0),
        Checkbox("causal", label="causal mask", initial=False),
    ]
    data = _data()
    script = SCRIPT.replace("labels:null", "labels:" + __import__("json").dumps(data["tokens"]))
    view = ScriptView(script, data=data, label="Heatmap of the attention weights A and the output H = AV",
                      caption="The 10 x 10 weights A of the seed instruction (computed in this page) and H = AV.")
    return Explorer("attention-explorer", parameters, [view], title="Self-attention of the seed instruction")
