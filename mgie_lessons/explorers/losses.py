"""Chapter 6's explorer: L_ins, L_edit and L_all = L_ins + alpha L_edit, computed in the page.

Every control of the Jupyter panel: alpha, and (typed in Jupyter, presets here) the probability
of the correct token at each position of y, the true noise and the predicted noise at
t = 3, 2, 1. The page computes L_ins = mean of -log p (Eq. 6.3), L_edit = sum of the squared
noise errors (Eq. 6.4) and L_all (Eq. 6.6); :func:`reference` uses the panel's own computation
(:func:`mgie_lessons.widgets.losses.compute`, i.e. :mod:`mgie_lessons.losses`), and the browser
tests compare the two on every combination.
"""

from __future__ import annotations

from .kit import Explorer, Range, ScriptView, Select
from ..widgets.losses import DEFAULTS, TOKENS, compute
from ..widgets.panel import parse_vector

__all__ = ["make_explorer", "reference", "PROBABILITIES", "TRUE_NOISES", "PREDICTED_NOISES", "SCRIPT"]


def _same(value: float) -> str:
    return ", ".join([f"{value:g}"] * len(TOKENS))


#: p(correct token) at each position of y, as typed into the panel.
PROBABILITIES = {
    "the chapter's toy bigram model": DEFAULTS["p_correct"],
    "0.9 everywhere (a good model)": _same(0.9),
    "0.5 everywhere": _same(0.5),
    "0.12 everywhere (a poor model)": _same(0.12),
    "1 everywhere (certain and right)": _same(1.0),
}
#: True noise eps_t at t = 3, 2, 1.
TRUE_NOISES = {"the seed's: 0.2, 0.2, 0.2": DEFAULTS["true_noise"], "0.1, -0.3, 0.5": "0.1, -0.3, 0.5"}
#: Predicted noise at t = 3, 2, 1.
PREDICTED_NOISES = {"the seed's: 0.6, 0.4, 0.2": DEFAULTS["predicted_noise"],
                    "exact for the seed: 0.2, 0.2, 0.2": "0.2, 0.2, 0.2", "zero: 0, 0, 0": "0, 0, 0"}

SCRIPT = r"""{
compute:function(v,d){
  function parse(s){return s.split(",").map(Number);}
  var p=parse(v.p_correct),tr=parse(v.true_noise),pr=parse(v.predicted_noise);
  var nll=p.map(function(x){return -Math.log(x);}),terms=tr.map(function(x,i){return (x-pr[i])*(x-pr[i]);});
  var lins=0;nll.forEach(function(x){lins+=x;});lins/=nll.length;var ledit=0;terms.forEach(function(x){ledit+=x;});
  return {per_token:nll,terms:terms,l_ins:lins,l_edit:ledit,l_all:lins+v.alpha*ledit};
},
draw:function(el,r,v){
  var P=window.MGIEPlot,s=P.svg(el,680,330),tokens=this.tokens;
  P.bars(s,{values:r.per_token,labels:tokens,digits:2,fontsize:8.5,title:"-log p of each target token",xlabel:"target token y_i",ylabel:"-log p (nats)"},{x:60,y:30,w:270,h:190});
  P.bars(s,{values:[r.l_ins,r.l_edit,v.alpha*r.l_edit,r.l_all],labels:["L_ins","L_edit","\u03b1 L_edit","L_all"],
    colors:["#1f77b4","#9467bd","#c5b0d5","#2ca02c"],title:"L_ins, L_edit and L_all",xlabel:"loss",ylabel:"value"},{x:410,y:30,w:250,h:190});
  var f=function(x){return +x.toPrecision(4);};
  P.text(s,20,278,"L_ins = mean of \u2212log p = "+f(r.l_ins),{"font-size":11.5});
  P.text(s,20,296,"L_edit = "+r.terms.map(f).join(" + ")+" = "+f(r.l_edit),{"font-size":11.5});
  P.text(s,20,314,"L_all = "+f(r.l_ins)+" + "+v.alpha+" \u00d7 "+f(r.l_edit)+" = "+f(r.l_all),{"font-size":11.5,"font-weight":"bold"});
  var worst=r.per_token.indexOf(Math.max.apply(null,r.per_token));
  return "Two bar charts. Left: the loss -log p of each of the "+r.per_token.length+" target tokens; the largest is "+
    f(r.per_token[worst])+" at position "+(worst+1)+". Right: L_ins = "+f(r.l_ins)+", L_edit = "+f(r.l_edit)+
    ", alpha L_edit = "+f(v.alpha*r.l_edit)+" with alpha = "+v.alpha+", and L_all = "+f(r.l_all)+".";
},
tokens:null
}"""


def reference(values: dict) -> dict:
    """What the page's script must compute for ``values``: the panel's own computation."""
    result = compute({**values, "alpha": f"{values['alpha']:g}"})
    return {"per_token": result["per_token"], "terms": result["terms"], "l_ins": result["l_ins"],
            "l_edit": result["l_edit"], "l_all": result["l_all"]}


def make_explorer() -> Explorer:
    """alpha x probabilities x true noise x predicted noise, computed in the page."""
    for presets, length, name in ((PROBABILITIES, len(TOKENS), "p_correct"), (TRUE_NOISES, 3, "true_noise"),
                                  (PREDICTED_NOISES, 3, "predicted_noise")):
        for text in presets.values():
            parse_vector(text, name, length=length)   # the panel would accept every preset
    parameters = [
        Range("alpha", [round(0.1 * k, 1) for k in range(21)], label="weight alpha", initial=0.5),
        Select("p_correct", PROBABILITIES, label="p(correct token) per position"),
        Select("true_noise", TRUE_NOISES, label="true noise eps_t (t = 3, 2, 1)"),
        Select("predicted_noise", PREDICTED_NOISES, label="predicted noise (t = 3, 2, 1)"),
    ]
    script = SCRIPT.replace("tokens:null", "tokens:" + __import__("json").dumps(list(TOKENS)))
    view = ScriptView(script, label="Bar charts of -log p per token and of the three losses",
                      caption="-log p for every token of y, the squared noise errors and the three losses (computed in this page).")
    return Explorer("losses-explorer", parameters, [view], title="The two losses and their sum")
