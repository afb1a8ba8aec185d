"""Chapter 8's explorer: a noise schedule, a timestep and a DDIM run back to the toy image,
computed in the page.

Every control of the Jupyter panel: the schedule, T, the timestep t (here a fraction of T - 1,
so that it stays valid for every T), the number of DDIM steps, the noise predictor and its bias.
The page computes the betas, abar_t (Eqs. 8.1-8.4), x_t (Eq. 8.6) and the DDIM steps (Eq. 8.11)
on the toy image and the chapter's fixed noise draw (both handed to the page as data);
:func:`reference` computes the same with :mod:`mgie_lessons.schedules`, and the browser tests
compare the two on many combinations.
"""

from __future__ import annotations

import base64

import numpy as np

from .. import schedules
from .kit import Explorer, Range, ScriptView, Select

__all__ = ["make_explorer", "reference", "timestep", "SCRIPT", "T_VALUES", "FRACTIONS"]

T_VALUES = (10, 20, 50, 100, 200, 500, 1000, 2000)
FRACTIONS = tuple(round(0.05 * k, 2) for k in range(21))
STEPS = tuple(range(1, 21)) + (25, 50, 100)
BIASES = tuple(round(0.005 * k, 3) for k in range(-10, 11))


def timestep(T: int, fraction: float) -> int:
    """The timestep the explorer uses for a fraction of T - 1: round half to even, as numpy."""
    return int(np.round(fraction * (T - 1)))


SCRIPT = r"""{
decode:function(text){var raw=atob(text),bytes=new Uint8Array(raw.length);for(var i=0;i<raw.length;i++){bytes[i]=raw.charCodeAt(i);}
  return Array.from(new Float64Array(bytes.buffer));},
roundEven:function(x){var r=Math.round(x);if(Math.abs(x%1)===0.5&&r%2!==0){r-=1;}return r;},
linspace:function(a,b,n){var out=[];if(n===1){return [a];}var step=(b-a)/(n-1);for(var k=0;k<n;k++){out.push(a+k*step);}out[n-1]=b;return out;},
betas:function(kind,T,d){
  if(kind==="linear"){return this.linspace(d.ranges.linear[0],d.ranges.linear[1],T);}
  if(kind==="scaled_linear"){return this.linspace(Math.sqrt(d.ranges.scaled_linear[0]),Math.sqrt(d.ranges.scaled_linear[1]),T).map(function(x){return x*x;});}
  var f=[];for(var k=0;k<=T;k++){var u=k/T;f.push(Math.pow(Math.cos((u+d.s)/(1+d.s)*Math.PI/2),2));}
  var out=[];for(var t=0;t<T;t++){out.push(Math.min(1-f[t+1]/f[t],d.max_beta));}return out;},
compute:function(v,d){
  if(!this.x0){this.x0=this.decode(d.x0);this.noise=this.decode(d.noise);}
  var x0=this.x0,eps=this.noise,T=v.T,betas=this.betas(v.kind,T,d),abar=[],p=1;
  betas.forEach(function(b){p*=1-b;abar.push(p);});
  var t=this.roundEven(v.t*(T-1)),steps=v.steps,self=this;
  var xt=x0.map(function(x,i){return Math.sqrt(abar[t])*x+Math.sqrt(1-abar[t])*eps[i];});
  var result={abar:abar,t:t,x_t:xt};
  if(steps>t+1){result.error="steps must be <= t + 1 = "+(t+1)+" (DDIM visits at most every timestep from t down to 0)";return result;}
  var S=t+1,ts=[];for(var k=0;k<steps;k++){ts.push(this.roundEven(S-k*S/steps)-1);}
  var x=xt.slice(),coef=[];
  ts.forEach(function(tk,k){var tp=k+1<ts.length?ts[k+1]:-1,at=abar[tk],ap=tp<0?1:abar[tp];
    var a=Math.sqrt(ap/at),b=Math.sqrt(ap)*Math.sqrt(1-at)/Math.sqrt(at)-Math.sqrt(1-ap);coef.push([a,b]);
    x=x.map(function(xi,i){var e=v.predictor==="true noise"?eps[i]:(xi-Math.sqrt(at)*x0[i])/Math.sqrt(1-at);return a*xi-b*(e+v.bias);});});
  var se=0,me=0;x.forEach(function(xi,i){var e=xi-x0[i];se+=e*e;me=Math.max(me,Math.abs(e));});
  result.timesteps=ts;result.final=x;result.rms_error=Math.sqrt(se/x.length);result.max_error=me;result.a=coef[0][0];result.b=coef[0][1];
  return result;
},
draw:function(el,r,v){
  var P=window.MGIEPlot,s=P.svg(el,640,330),T=v.T,frac=r.abar.map(function(_,i){return i/T;});
  var kind=v.kind.replace("_"," ");
  P.lines(s,{series:[{x:frac,y:r.abar,color:"#1f77b4",width:1.5},{x:frac,y:r.abar.map(function(a){return 1-a;}),color:"#d62728",width:1.5}],
    vlines:[{x:r.t/T,color:"black"}],xlim:[0,1],ylim:[0,1.02],title:kind+", T = "+T+": \u0101_"+r.t+" = "+(+r.abar[r.t].toPrecision(3)),
    xlabel:"t / T",ylabel:"\u0101_t (blue), 1 \u2212 \u0101_t (red)"},{x:60,y:28,w:250,h:190});
  var w=32,h=32,side=new Array(h*(2*w+2)*3).fill(1),clip=function(x){return Math.max(0,Math.min(1,(x+1)/2));};
  function put(img,offset){for(var i=0;i<h;i++){for(var j=0;j<w;j++){for(var c=0;c<3;c++){side[3*(i*(2*w+2)+j+offset)+c]=clip(img[3*(i*w+j)+c]);}}}}
  put(r.x_t,0);if(r.final){put(r.final,w+2);}
  P.image(s,side,2*w+2,h,{x:360,y:28,w:262,h:128},r.error?"x_t | (no DDIM run)":"x_t | DDIM, "+r.timesteps.length+" step"+(r.timesteps.length>1?"s":""));
  P.text(s,360,172,"column (left: x_t, right: DDIM's result)",{"font-size":10});
  var snr=r.abar[r.t]/(1-r.abar[r.t]),lines=[kind+" schedule, T = "+T+": at t = "+r.t+", \u0101_t = "+(+r.abar[r.t].toPrecision(4))+", SNR = "+(+snr.toPrecision(4))];
  if(r.error){lines.push(r.error);}else{
    lines.push("first DDIM step "+r.timesteps[0]+" \u2192 "+(r.timesteps.length>1?r.timesteps[1]:-1)+": x \u2190 a x \u2212 b \u03b5\u0302 with a = "+(+r.a.toPrecision(4))+", b = "+(+r.b.toPrecision(4)));
    lines.push("final RMS error = "+(+r.rms_error.toPrecision(4))+", largest pixel error = "+(+r.max_error.toPrecision(4)));}
  lines.forEach(function(t,i){P.text(s,20,268+18*i,t,{"font-size":11.5,fill:r.error&&i===1?"#b00020":"black"});});
  return "Left: abar_t (signal) and 1 - abar_t (noise) of the "+v.kind+" schedule against t / T for T = "+T+
    ", with a dotted line at t = "+r.t+" where abar_t = "+(+r.abar[r.t].toPrecision(3))+". Right: the toy image noised to x_t"+
    (r.error?"; "+r.error+".":", and beside it the image DDIM recovers in "+r.timesteps.length+" steps, RMS error "+(+r.rms_error.toPrecision(3))+".");
}
}"""


def _base64(array) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f8").tobytes()).decode("ascii")


def _data() -> dict:
    x0, noise = schedules.toy_example()
    return {"x0": _base64(x0), "noise": _base64(noise), "ranges": {k: list(v) for k, v in schedules.DEFAULT_BETA_RANGE.items()},
            "s": schedules.COSINE_OFFSET, "max_beta": schedules.MAX_BETA}


def reference(values: dict) -> dict:
    """What the page's script must compute for ``values``, computed by the package."""
    x0, noise = schedules.toy_example()
    abar = schedules.alphas_cumprod(schedules.beta_schedule(values["kind"], values["T"]))
    t = timestep(values["T"], values["t"])
    result = {"abar": abar, "t": t, "x_t": schedules.q_sample(x0, t, noise, abar).ravel()}
    if values["steps"] > t + 1:
        return result
    reconstruction = schedules.ddim_reconstruction(x0, noise, abar, values["steps"], bias=values["bias"],
                                                   predictor=values["predictor"], start=t)
    timesteps = reconstruction.trajectory.timesteps
    first = schedules.ddim_coefficients(int(timesteps[0]), int(timesteps[1]) if timesteps.size > 1 else -1, abar)
    result.update(timesteps=timesteps, final=reconstruction.final.ravel(), rms_error=reconstruction.rms_error,
                  max_error=reconstruction.max_error, a=first.a, b=first.b)
    return result


def make_explorer() -> Explorer:
    """schedule x T x t x DDIM steps x predictor x bias, computed in the page."""
    parameters = [
        Select("kind", list(schedules.SCHEDULE_KINDS), label="schedule"),
        Range("T", T_VALUES, label="timesteps T", initial=1000),
        Range("t", FRACTIONS, label="timestep t, as a fraction of T \u2212 1", initial=0.5),
        Range("steps", STEPS, label="DDIM steps", initial=10),
        # Both predictors are exact without a bias (DDIM stays on the forward path), so the choice
        # is shown only for a biased predictor; the explorer starts with a small bias.
        Select("predictor", list(schedules.PREDICTORS), label="noise predictor",
               visible_when={"bias": [b for b in BIASES if b != 0]}),
        Range("bias", BIASES, label="bias \u03b4 of the predictor", initial=0.01),
    ]
    view = ScriptView(SCRIPT, data=_data(), label="abar_t of the schedule, x_t and the image DDIM recovers",
                      caption="Computed in this page from the toy image and the chapter's fixed noise draw.")
    return Explorer("schedules-explorer", parameters, [view], title="Schedules, the forward process and DDIM")
