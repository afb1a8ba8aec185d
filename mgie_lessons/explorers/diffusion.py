"""Chapter 5's explorer: the seed's denoising loop, computed in the page.

Every control of the Jupyter panel: the clean value I, the noise eps, the step size eta, the
number of steps T, the noise-prediction rule and its constant c (shown for the rules that have
one). The page runs z_T = I + eps, z_{t-1} = z_t - eta eps_hat_t (Eqs. 5.1-5.3) in JavaScript;
:func:`reference` runs :func:`mgie_lessons.diffusion.denoise`, and the browser tests compare the
two on many combinations.
"""

from __future__ import annotations

from .. import diffusion, walkthrough
from .kit import Explorer, Range, ScriptView, Select
from ..widgets.diffusion import RULES, noise_rule

__all__ = ["make_explorer", "reference", "SCRIPT"]


def _grid(low: float, high: float, step: float) -> list[float]:
    count = int(round((high - low) / step))
    return [round(low + k * step, 10) for k in range(count + 1)]


SCRIPT = r"""{
compute:function(v,d){
  var c=v.rule==="seed"?d.slope:v.c,z=v.image+v.noise,traj=[z],noise=[];
  for(var t=v.T;t>=1;t--){var e=v.rule==="constant"?c:c*t;noise.push(e);z=z-v.eta*e;traj.push(z);}
  return {trajectory:traj,predicted_noise:noise,final:z};
},
draw:function(el,r,v){
  var P=window.MGIEPlot,s=P.svg(el,600,330),ts=r.trajectory.map(function(_,i){return v.T-i;});
  P.lines(s,{series:[{x:ts,y:r.trajectory,markers:v.T<=40,color:"#1f77b4",label:"z_t (computed)"}],
    hlines:[{y:v.image,color:"#2ca02c",label:"clean image I"}],legend:true,xinvert:true,xinteger:true,xlim:[0,v.T],
    title:"Your denoising run",xlabel:"step t (runs from t = T down to t = 0)",ylabel:"z_t"},{x:70,y:30,w:500,h:220});
  var n=r.trajectory.length,parts=[];
  r.trajectory.forEach(function(z,i){if(n>8&&i>=3&&i<n-3){if(i===3){parts.push("\u2026");}return;}parts.push("z"+(v.T-i)+" = "+(+z.toPrecision(4)));});
  var removed=r.trajectory[0]-r.final,err=r.final-v.image;
  P.text(s,20,300,parts.join(", "),{"font-size":11});
  P.text(s,20,318,"noise added \u03b5 = "+(+v.noise.toPrecision(4))+"; removed \u03b7 \u03a3 \u03b5\u0302_t = "+(+removed.toPrecision(4))+
    "; z0 \u2212 I = "+(err>=0?"+":"")+(+err.toPrecision(4)),{"font-size":11,"font-weight":"bold"});
  return "Line plot of z_t against the step t, from t = "+v.T+" down to 0: z starts at "+(+r.trajectory[0].toPrecision(4))+
    " and ends at z_0 = "+(+r.final.toPrecision(4))+"; a dashed line marks the clean value I = "+v.image+
    ", so z_0 - I = "+(err>=0?"+":"")+(+err.toPrecision(4))+".";
}
}"""


def reference(values: dict) -> dict:
    """What the page's script must compute for ``values``, computed by the package."""
    c = values["c"] if values["rule"] != "seed" else walkthrough.NOISE_SLOPE
    start = diffusion.noisy_start(values["image"], values["noise"])
    result = diffusion.denoise(start, values["eta"], values["T"], noise_rule(values["rule"], c))
    return {"trajectory": result.trajectory, "predicted_noise": result.predicted_noise, "final": result.final}


def make_explorer() -> Explorer:
    """I x eps x eta x T x rule x c, computed in the page."""
    parameters = [
        Range("image", _grid(-1.0, 1.0, 0.05), label="clean value I", initial=walkthrough.IMAGE_VALUE),
        Range("noise", _grid(-0.5, 0.5, 0.05), label="noise \u03b5", initial=walkthrough.NOISE_VALUE),
        Range("eta", _grid(0.0, 1.0, 0.01), label="step size \u03b7", initial=walkthrough.ETA),
        Range("T", list(range(1, 31)), label="number of steps T", initial=walkthrough.T),
        Select("rule", [(label, key) for label, key in RULES.items()], label="noise rule"),
        # Starts at 0.1, not the seed's 0.2: "linear" with c = 0.2 is the seed's rule itself.
        Range("c", _grid(-0.5, 0.5, 0.01), label="constant c of the rule", initial=0.1,
              visible_when={"rule": ["linear", "constant"]}),
    ]
    view = ScriptView(SCRIPT, data={"slope": walkthrough.NOISE_SLOPE}, label="Line plot of the denoising trajectory z_t",
                      caption="z_T = I + \u03b5, then z_(t-1) = z_t - \u03b7 \u03b5\u0302_t for t = T, ..., 1 (computed in this page).")
    return Explorer("diffusion-explorer", parameters, [view], title="The seed's denoising loop, your numbers")
