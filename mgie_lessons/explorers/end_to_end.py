"""Chapter 12's explorer: the whole toy pipeline from an instruction to L_all, computed in the page.

Every control of the Jupyter dashboard: the word whose embedding moves and its shift (typed as
"dx, dy" in Jupyter, a few presets here), the scale of W^Q = W^K, the scale of both FFN weights,
the coupling kappa, eta, T and alpha. The page runs the chain of
:func:`mgie_lessons.end_to_end.run_pipeline` in JavaScript (embedding, one causal attention +
FFN layer over [X; E_IMG], the toy edit head with its fixed parameters handed over as data, the
conditioned noise, the denoising loop, the tied LM head's cross-entropy and the losses);
:func:`reference` runs the package, and the browser tests compare the two on many combinations.
"""

from __future__ import annotations


import numpy as np

from .. import walkthrough, visual_tokens
from .kit import Explorer, Range, ScriptView, Select
from ..widgets.end_to_end import DEFAULTS, pipeline_for

__all__ = ["make_explorer", "reference", "SCRIPT", "SHIFTS", "N_IMG_TOKENS", "N_QUERIES"]

#: Shifts (dx, dy) of the chosen word's embedding, as typed into the dashboard.
SHIFTS = {"none: (0, 0)": "0, 0", "(+0.5, 0)": "0.5, 0", "(0, +0.5)": "0, 0.5", "(-0.5, -0.5)": "-0.5, -0.5",
          "(+1, +1)": "1, 1"}
#: run_pipeline's defaults, which the dashboard keeps.
N_IMG_TOKENS, N_QUERIES, EDIT_HEAD_SEED = 4, 4, 0


def _grid(low: float, high: float, step: float) -> list[float]:
    return [round(low + k * step, 10) for k in range(int(round((high - low) / step)) + 1)]


SCRIPT = r"""{
compute:function(v,d){
  function mm(A,B){return A.map(function(r){return B[0].map(function(_,j){var s=0;for(var k=0;k<B.length;k++){s+=r[k]*B[k][j];}return s;});});}
  function add(A,b){return A.map(function(r){return r.map(function(x,j){return x+b[j];});});}
  function scale(A,c){return A.map(function(r){return r.map(function(x){return c*x;});});}
  function softmaxRows(S){return S.map(function(s){var m=Math.max.apply(null,s),e=s.map(function(x){return x===-Infinity?0:Math.exp(x-m);}),z=0;
    e.forEach(function(x){z+=x;});return e.map(function(x){return x/z;});});}
  function attend(Q,K,V,causal){var dk=Q[0].length;var S=Q.map(function(q,i){return K.map(function(k,j){if(causal&&j>i){return -Infinity;}
    var t=0;for(var c=0;c<dk;c++){t+=q[c]*k[c];}return t/Math.sqrt(dk);});});var A=softmaxRows(S);return {A:A,H:mm(A,V)};}
  var shift=v.shift.split(",").map(Number),table={};
  d.vocabulary.forEach(function(w){table[w]=d.table[w].slice();});
  table[v.word]=[table[v.word][0]+shift[0],table[v.word][1]+shift[1]];
  var words=d.words,n=words.length,X=words.map(function(w){return table[w];}),inputs=X.concat(d.E_img);
  var att=attend(mm(inputs,scale(d.W_Q,v.attention_scale)),mm(inputs,scale(d.W_K,v.attention_scale)),mm(inputs,d.W_V),true);
  var P=add(mm(att.H,scale(d.W1,v.ffn_scale)),d.b1),Z=P.map(function(r){return r.map(function(x){return Math.max(x,0);});});
  var F=add(mm(Z,scale(d.W2,v.ffn_scale)),d.b2),m=d.E_img.length;
  var S0=[];for(var i=0;i<m;i++){S0.push(F[n-1+i].map(function(x,j){return x+d.E_img[i][j];}));}
  var h=d.head,S=add(mm(S0,h.W_in),h.b_in),cross=attend(mm(h.queries,h.W_q),mm(S,h.W_k),mm(S,h.W_v),false);
  var U=add(mm(cross.H,h.W_out),h.b_out),u=0;U.forEach(function(r){r.forEach(function(x){u+=x;});});u/=U.length*U[0].length;
  var pred=[],traj=[d.z_start],z=d.z_start,ledit=0;
  for(var t=v.T;t>=1;t--){var e=d.slope*t+v.coupling*u;pred.push(e);z=z-v.eta*e;traj.push(z);ledit+=(d.true_noise-e)*(d.true_noise-e);}
  var E=d.vocabulary.map(function(w){return table[w];}),logits=mm(F.slice(0,n),E[0].map(function(_,j){return E.map(function(r){return r[j];});}));
  var lins=0;for(var i=0;i<n-1;i++){var row=logits[i],mx=Math.max.apply(null,row),se=0;row.forEach(function(x){se+=Math.exp(x-mx);});
    lins+=mx+Math.log(se)-row[d.vocabulary.indexOf(words[i+1])];}
  lins=n>1?lins/(n-1):0;
  return {weights:att.A,U:U,mean_U:u,predicted_noise:pred,trajectory:traj,l_ins:lins,l_edit:ledit,l_all:lins+v.alpha*ledit,
          labels:words.concat(d.E_img.map(function(_,i){return "[IMG"+i+"]";}))};
},
draw:function(el,r,v){
  var P=window.MGIEPlot,s=P.svg(el,760,640);
  P.heatmap(s,{values:r.weights,vmin:0,vmax:1,rowLabels:r.labels,colLabels:r.labels,title:"Causal attention weights A (Eq. 2.4)",
    xlabel:"key token",ylabel:"query token",ylabelgap:70,cbarlabel:"weight"},{x:90,y:30,w:230,h:230});
  var lim=Math.max(1e-9,Math.max.apply(null,[].concat.apply([],r.U).map(Math.abs)));
  P.heatmap(s,{values:r.U,vmin:-lim,vmax:lim,cmap:"RdBu",digits:3,fontsize:10,rowLabels:r.U.map(function(_,i){return "q"+(i+1);}),
    colLabels:["1","2"],title:"Visual condition U (edit head output)",xlabel:"feature",xlabelgap:30,ylabel:"query",ylabelgap:34,colorbar:false},{x:500,y:30,w:160,h:200});
  var steps=r.trajectory.map(function(_,i){return i;});
  P.lines(s,{series:[{x:steps,y:r.trajectory,markers:true,color:"#1f77b4",label:"z_t"}],hlines:[{y:0.5,color:"#2ca02c",label:"clean image I"}],
    legend:true,title:"Denoising trajectory (chapter 5)",xlabel:"step (0 = start z_T)",ylabel:"z value",xlim:[0,Math.max(1,v.T)],xinteger:true},{x:70,y:350,w:290,h:190});
  P.bars(s,{values:[r.l_ins,v.alpha*r.l_edit,r.l_all],labels:["L_ins","\u03b1 L_edit","L_all"],colors:["#ff7f0e","#9467bd","#d62728"],
    title:"Losses (chapter 6)",xlabel:"loss term",ylabel:"value"},{x:470,y:350,w:250,h:190});
  P.text(s,20,600,"mean(U) = "+r.mean_U.toFixed(4)+"; predicted noise (t = T..1): "+r.predicted_noise.map(function(x){return x.toFixed(4);}).slice(0,6).join(", ")+(r.predicted_noise.length>6?", \u2026":""),{"font-size":11});
  P.text(s,20,618,"final z_0 = "+r.trajectory[r.trajectory.length-1].toFixed(4)+"; L_ins = "+r.l_ins.toFixed(4)+", L_edit = "+r.l_edit.toFixed(4)+
    ", L_all = L_ins + "+v.alpha+" \u00d7 L_edit = "+r.l_all.toFixed(4),{"font-size":11,"font-weight":"bold"});
  return "Four panels. Causal attention weights over "+(r.labels.length-r.U.length)+" words and "+r.U.length+" [IMG] tokens; the visual condition U ("+
    r.U.length+" by "+r.U[0].length+"); a denoising trajectory from "+r.trajectory[0].toFixed(3)+" to "+r.trajectory[r.trajectory.length-1].toFixed(3)+
    "; losses L_ins "+r.l_ins.toFixed(3)+", L_edit "+r.l_edit.toFixed(3)+", L_all "+r.l_all.toFixed(3)+".";
}
}"""


def _matrix(value) -> list:
    return np.atleast_2d(np.asarray(value, dtype=float)).tolist()


def _data() -> dict:
    words = walkthrough.INSTRUCTION.split()
    d = 2
    head = visual_tokens.edit_head_parameters(d, N_QUERIES, 4, d, EDIT_HEAD_SEED)
    return {
        "words": words, "vocabulary": list(walkthrough.EMBEDDING_TABLE),
        "table": {w: [float(x) for x in v] for w, v in walkthrough.EMBEDDING_TABLE.items()},
        "E_img": _matrix(visual_tokens.image_token_embeddings(N_IMG_TOKENS)),
        "W_Q": _matrix(walkthrough.W_Q), "W_K": _matrix(walkthrough.W_K), "W_V": _matrix(walkthrough.W_V),
        "W1": _matrix(walkthrough.W1), "b1": [float(x) for x in np.ravel(walkthrough.B1)],
        "W2": _matrix(walkthrough.W2), "b2": [float(x) for x in np.ravel(walkthrough.B2)],
        "head": {"W_in": _matrix(head.W_in), "b_in": np.ravel(head.b_in).tolist(), "queries": _matrix(head.queries),
                 "W_q": _matrix(head.W_q), "W_k": _matrix(head.W_k), "W_v": _matrix(head.W_v),
                 "W_out": _matrix(head.W_out), "b_out": np.ravel(head.b_out).tolist()},
        "z_start": float(walkthrough.PRINTED_Z_START), "slope": float(walkthrough.NOISE_SLOPE), "true_noise": float(walkthrough.TRUE_NOISE[1]),
    }


def reference(values: dict) -> dict:
    """What the page's script must compute for ``values``: the dashboard's own pipeline run."""
    result = pipeline_for(values)
    return {"weights": result.attention.weights, "U": result.U, "mean_U": float(np.mean(result.U)),
            "predicted_noise": result.predicted_noise, "trajectory": np.ravel(result.denoise.trajectory),
            "l_ins": result.l_ins, "l_edit": result.l_edit, "l_all": result.l_all}


def make_explorer() -> Explorer:
    """word x shift x attention scale x FFN scale x kappa x eta x T x alpha, computed in the page."""
    parameters = [
        # The word matters only once its embedding moves.
        Select("word", list(walkthrough.EMBEDDING_TABLE), label="word to move", initial=DEFAULTS["word"],
               visible_when={"shift": [text for text in SHIFTS.values() if text != "0, 0"]}),
        Select("shift", SHIFTS, label="shift (dx, dy) of its embedding"),
        Range("attention_scale", _grid(0.0, 6.0, 0.25), label="W^Q, W^K scale", initial=1.0),
        Range("ffn_scale", _grid(-3.0, 3.0, 0.25), label="W1, W2 scale", initial=1.0),
        Range("coupling", _grid(-5.0, 5.0, 0.1), label="coupling kappa", initial=0.5),
        Range("eta", _grid(0.0, 0.5, 0.01), label="step size eta", initial=0.1),
        Range("T", list(range(1, 13)), label="steps T", initial=3),
        Range("alpha", _grid(0.0, 2.0, 0.1), label="weight alpha", initial=0.5),
    ]
    data = _data()
    view = ScriptView(SCRIPT, data=data, label="The whole pipeline: attention weights, U, trajectory and losses",
                      caption="Computed in this page: every stage of run_pipeline, from the instruction to L_all.")
    return Explorer("end-to-end-explorer", parameters, [view], title="The whole pipeline: instruction to L_all")
