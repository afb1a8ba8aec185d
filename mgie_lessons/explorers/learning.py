"""Chapter 13's explorer: a parameter's gradient and Adam runs at 25 learning rates, drawn in the page.

Every control of the Jupyter panel: the parameter whose gradient is shown, the learning rate
(the panel's 25 rates, 10^-3 to 1), the number of Adam steps k (0 to 300 in fives, as the
panel's slider) and what is trained. Training is not redone in the page: the package trains the
25 runs once when the book is built (:func:`mgie_lessons.plots.learning.explore_runs`, as the
panel does when it opens) and hands the recorded gradients and loss curves to the page as data
(float32); the page looks them up and draws them. :func:`reference` reads the same runs, and the
browser tests compare the page's numbers with it.
"""

from __future__ import annotations

import base64

import numpy as np

from ..plots import learning as learning_plots
from .kit import Explorer, Range, ScriptView, Select
from ..widgets.learning import DEFAULTS, PARAMETER_OPTIONS, TRAINING_OPTIONS

__all__ = ["make_explorer", "reference", "SCRIPT", "STEPS", "TOLERANCE"]

#: Adam steps offered: the panel's slider (0 to MAX_STEPS in fives).
STEPS = tuple(range(0, learning_plots.MAX_STEPS + 1, 5))
#: The page holds the runs as float32: its numbers agree with the package to this relative tolerance.
TOLERANCE = 1e-6

SCRIPT = r"""{
decode:function(text){var raw=atob(text),bytes=new Uint8Array(raw.length);for(var i=0;i<raw.length;i++){bytes[i]=raw.charCodeAt(i);}
  return new Float32Array(bytes.buffer);},
compute:function(v,d){
  if(!this.grads){this.grads=this.decode(d.gradients);this.losses=this.decode(d.losses);}
  var w=d.trainings.indexOf(v.train),p=d.parameters.indexOf(v.parameter),r=d.rates.indexOf(v.lr),k=d.steps.indexOf(v.steps);
  var nR=d.rates.length,nK=d.steps.length,nS=d.max_steps+1,self=this;
  function grad(step){var o=((((w*d.parameters.length+p)*nR+r)*nK+step)*4),g=self.grads;return [[g[o],g[o+1]],[g[o+2],g[o+3]]];}
  function curve(rate){var o=(w*nR+rate)*nS,out=[];for(var s=0;s<nS;s++){out.push(self.losses[o+s]);}return out;}
  var losses=curve(r),all=[];for(var q=0;q<nR;q++){all.push(curve(q));}
  return {gradient_start:grad(0),gradient_now:grad(k),losses:losses,loss_start:losses[0],loss_now:losses[v.steps],
          frozen:d.trainable[v.train].indexOf(v.parameter)<0,all:all};
},
draw:function(el,r,v){
  var P=window.MGIEPlot,s=P.svg(el,760,330),sym={"W_q":"W^Q","W_k":"W^K","W_v":"W^V","W1":"W_1","W2":"W_2"}[v.parameter];
  function lim(m){var t=Math.max.apply(null,[].concat.apply([],m).map(Math.abs));return t>0?t:1;}
  [[r.gradient_start,"\u2207"+sym+" at the seed's weights",60],[r.gradient_now,"\u2207"+sym+" after k steps"+(r.frozen?" (frozen)":""),250]].forEach(function(h){
    var L=lim(h[0]);P.heatmap(s,{values:h[0],vmin:-L,vmax:L,cmap:"RdBu",digits:undefined,title:h[1],rowLabels:["1","2"],colLabels:["1","2"],
      xlabel:"column",xlabelgap:34,ylabel:"row",ylabelgap:30,colorbar:false},{x:h[2],y:40,w:140,h:140});
    h[0].forEach(function(row,i){row.forEach(function(x,j){var c=P.colour((x+L)/(2*L),null);
      P.text(s,h[2]+35+70*j,40+35+70*i+4,x.toExponential(2),{"text-anchor":"middle","font-size":10.5,fill:Math.abs(x)>0.55*L?"white":"black"});});});});
  var steps=r.losses.map(function(_,i){return i;}),log=function(a){return a.map(function(x){return Math.log10(Math.max(x,1e-12));});};
  var series=r.all.map(function(c){return {x:steps,y:log(c),color:"#c8c8c8",width:0.8};});
  series.push({x:steps,y:log(r.losses),color:"#d62728",width:2});
  var trained=v.train==="all"?"all parameters trained":"only E and W_out trained";
  var f=P.lines(s,{series:series,vlines:[{x:v.steps,color:"black"}],xlim:[0,steps.length-1],ylim:[-3,Math.log10(20)],
    title:"Adam, 25 learning rates ("+trained+")",xlabel:"Adam step k",ylabel:"log10 L_ins"},{x:470,y:40,w:270,h:170});
  P.el("circle",{cx:f.sx(v.steps),cy:f.sy(Math.log10(Math.max(r.loss_now,1e-12))),r:4,fill:"#d62728"},f.g);
  var big=function(m){return lim(m).toPrecision(3);};
  P.text(s,20,288,"Adam with lr = "+(+v.lr.toPrecision(3))+": L_ins goes from "+r.loss_start.toFixed(4)+" to "+r.loss_now.toFixed(4)+" in "+v.steps+" steps.",{"font-size":11.5});
  P.text(s,20,306,"Largest |gradient| entry of "+v.parameter+": "+big(r.gradient_start)+" at the seed's weights, "+big(r.gradient_now)+" now."+
    (r.frozen?" It is frozen in this run: its gradient is computed but never applied.":""),{"font-size":11.5});
  var fl=function(m){return [].concat.apply([],m).map(function(x){return x.toExponential(2);}).join(", ");};
  return "Left: heatmap of the gradient of L_ins with respect to "+sym+" at the seed's weights, entries "+fl(r.gradient_start)+
    " (row by row). Middle: the same gradient after "+v.steps+" Adam steps, entries "+fl(r.gradient_now)+(r.frozen?" (the parameter is frozen)":"")+
    ". Right: loss curves of 25 learning rates in grey ("+trained+"), the one for lr = "+(+v.lr.toPrecision(2))+" in red, going from "+
    r.loss_start.toFixed(3)+" to "+r.loss_now.toFixed(3)+" at step "+v.steps+".";
}
}"""


def _float32(array) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def _data() -> dict:
    trainings = [value for _label, value in TRAINING_OPTIONS]
    parameters = [value for _label, value in PARAMETER_OPTIONS]
    step_index = np.asarray(STEPS)
    gradients = np.stack([np.stack([learning_plots.explore_runs(which).gradients[p][:, step_index]
                                    for p in parameters]) for which in trainings])
    losses = np.stack([learning_plots.explore_runs(which).losses for which in trainings])
    return {"trainings": trainings, "parameters": parameters, "rates": [float(r) for r in learning_plots.LEARNING_RATES],
            "steps": list(STEPS), "max_steps": learning_plots.MAX_STEPS, "gradients": _float32(gradients),
            "losses": _float32(losses),
            "trainable": {which: [p for p in parameters if p in learning_plots.TRAINING_SETS[which]] for which in trainings}}


def reference(values: dict) -> dict:
    """What the page must show for ``values``: the panel's runs, read with the package (the grey
    curves of the other rates are the same arrays, checked as their own rates come up)."""
    runs = learning_plots.explore_runs(values["train"])
    index = learning_plots.nearest_rate_index(values["lr"])
    history = runs.gradients[values["parameter"]][index]
    losses = runs.losses[index]
    return {"gradient_start": history[0], "gradient_now": history[values["steps"]], "losses": losses,
            "loss_start": float(losses[0]), "loss_now": float(losses[values["steps"]])}


def make_explorer() -> Explorer:
    """parameter x learning rate x Adam steps x what is trained; the runs handed to the page."""
    parameters = [
        Select("parameter", PARAMETER_OPTIONS, label="gradient of", initial=DEFAULTS["parameter"]),
        Range("lr", [float(r) for r in learning_plots.LEARNING_RATES], label="learning rate", fmt=".2g",
              initial=DEFAULTS["lr"]),
        Range("steps", STEPS, label="Adam steps k", initial=DEFAULTS["steps"]),
        Select("train", TRAINING_OPTIONS, label="train", initial=DEFAULTS["train"]),
    ]
    view = ScriptView(SCRIPT, data=_data(), label="Gradient heatmaps and loss curves of the training runs",
                      caption="The 25 runs were trained by the package when the book was built; the page draws them.")
    return Explorer("learning-explorer", parameters, [view], title="Gradients and a training run of the seed's language model")
