"""Chapter 9: latents, InstructPix2Pix conditioning and two-scale classifier-free guidance.

The toy autoencoder below is a STAND-IN for Stable Diffusion's VAE, small enough to compute by
hand: a fixed linear map E from each 8x8 RGB patch (192 numbers) to C = 4 latent channels, and
its pseudo-inverse D. Like the real VAE it downsamples by 8 and keeps 4 channels (a 256x256x3
image gives a 4x32x32 latent in Stable Diffusion; our 32x32x3 toy image gives 4x4x4); unlike it,
it is linear and keeps only a patch's three colour means and its top-versus-bottom contrast.

    z[:, i, j] = W_enc vec(patch_ij),  W_enc in R^{4 x 192}, orthonormal rows   (Eq. 9.1, Enc)
    patch_ij = W_enc^+ z[:, i, j] = W_enc^T z[:, i, j]                           (Eq. 9.2, Dec)
    UNet input = cat[z_t, Enc(V)] along channels (4 + 4 = 8 channels in MGIE)      (Eq. 9.3)
    eps~ = eps(z,0,0) + s_V [eps(z,V,0) - eps(z,0,0)] + s_X [eps(z,V,U) - eps(z,V,0)]  (Eq. 9.4)
    x^_0(eps~) = same combination of x^_0(eps(z,0,0)), x^_0(eps(z,V,0)), x^_0(eps(z,V,U)) (Eq. 9.5)
    toy model: eps(z, c, u) = (z - sqrt(abar) (w c + m u)) / sqrt(1 - abar)      (Eq. 9.6)

In eps(z, V, U), "0" in the image slot means the zero latent (the image dropped) and "0" in the
instruction slot means the null instruction. In MGIE the null instruction is the edit head
applied to zero hidden states (``edit_head(zeros, emb)``), not the embedding of an empty prompt;
in the toy it is the zero vector. ``exact_*`` functions are sympy versions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy

from . import schedules
from .images import region_mask, toy_image
from .validation import as_array, as_vector, check_finite_number, check_int, check_nonnegative, check_probability

__all__ = [
    "noise_to_score",
    "guided_score",
    "PATCH_SIZE",
    "LATENT_CHANNELS",
    "SD_DOWNSAMPLING",
    "SD_LATENT_CHANNELS",
    "MGIE_UNET_IN_CHANNELS",
    "DEFAULT_IMAGE_SCALE",
    "DEFAULT_TEXT_SCALE",
    "DROP_PROBABILITY",
    "TOY_IMAGE_WEIGHT",
    "TOY_ALPHA_BAR",
    "HAT_COLOUR",
    "GuidanceTerms",
    "OneStepEdit",
    "DropoutCase",
    "sd_latent_shape",
    "unet_input_shape",
    "toy_encoder_matrix",
    "toy_decoder_matrix",
    "toy_encode",
    "toy_decode",
    "patch_projection",
    "instructpix2pix_input",
    "guided_noise",
    "guidance_terms",
    "latent_region_mask",
    "toy_null_instruction",
    "toy_instruction_embedding",
    "toy_noise_model",
    "one_step_edit",
    "conditioning_dropout",
    "dropout_fractions",
    "exact_toy_encoder_matrix",
    "exact_guided_noise",
]

#: The toy autoencoder's patch size (= downsampling factor) and latent channels.
PATCH_SIZE = 8
LATENT_CHANNELS = 4
#: Stable Diffusion's VAE: factor-8 downsampling to 4 channels (Rombach et al. 2022).
SD_DOWNSAMPLING = 8
SD_LATENT_CHANNELS = 4
#: MGIE's UNet reads cat[z_t, Enc(V)]: 4 + 4 channels (conv_in widened, mgie_llava.py).
MGIE_UNET_IN_CHANNELS = 8
#: diffusers' StableDiffusionInstructPix2PixPipeline defaults: image_guidance_scale, guidance_scale.
DEFAULT_IMAGE_SCALE = 1.5
DEFAULT_TEXT_SCALE = 7.5
#: MGIE's conditioning dropout probability (mgie_llava.py: DROP = 0.05).
DROP_PROBABILITY = 0.05
#: The toy noise model's constants (chosen so the defaults above give a clean edit; see Eq. 9.6).
TOY_IMAGE_WEIGHT = 1.0 / DEFAULT_IMAGE_SCALE
TOY_ALPHA_BAR = 0.5
#: The colour the toy instruction "add a blue hat" paints, in [0, 1] RGB.
HAT_COLOUR = (0.15, 0.25, 0.85)


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class GuidanceTerms:
    """The pieces of Eq. 9.4.

    uncond : eps(z, 0, 0)
    image_direction : eps(z, V, 0) - eps(z, 0, 0)
    text_direction : eps(z, V, U) - eps(z, V, 0)
    image_term, text_term : s_V * image_direction, s_X * text_direction
    guided : uncond + image_term + text_term
    """

    uncond: np.ndarray
    image_direction: np.ndarray
    text_direction: np.ndarray
    image_term: np.ndarray
    text_term: np.ndarray
    guided: np.ndarray


@dataclass(frozen=True)
class OneStepEdit:
    """A one-step guided edit of the toy image with the toy noise model (chapter 9).

    image_latent : Enc(V), (4, h, w)
    z_t : the noisy latent at timestep t, (4, h, w)
    unet_input : cat[z_t, Enc(V)], (8, h, w)
    eps_uncond, eps_image, eps_full : eps(z,0,0), eps(z,V,0), eps(z,V,U)
    terms : :class:`GuidanceTerms` with the guided prediction
    latent_edit : x^_0 from the guided prediction (Eq. 8.9), (4, h, w)
    image_edit : Dec(latent_edit) mapped to [0, 1] for display, (8h, 8w, 3)
    image_reference : D(Enc(V)) in [0, 1], what the toy autoencoder keeps of the input
    """

    t: int
    alpha_bar: float
    image_latent: np.ndarray
    z_t: np.ndarray
    unet_input: np.ndarray
    eps_uncond: np.ndarray
    eps_image: np.ndarray
    eps_full: np.ndarray
    terms: GuidanceTerms
    latent_edit: np.ndarray
    image_edit: np.ndarray
    image_reference: np.ndarray


@dataclass(frozen=True)
class DropoutCase:
    """Which conditions a training example keeps (mgie_llava.py's dropout)."""

    keep_image: bool
    keep_instruction: bool


# ---------------------------------------------------------------------------
# Shapes of the real model
# ---------------------------------------------------------------------------

def sd_latent_shape(height: int, width: int) -> tuple[int, int, int]:
    """(4, H/8, W/8): the shape of Stable Diffusion's VAE latent of an H x W image."""
    height = check_int(height, "height", minimum=SD_DOWNSAMPLING)
    width = check_int(width, "width", minimum=SD_DOWNSAMPLING)
    for name, value in (("height", height), ("width", width)):
        if value % SD_DOWNSAMPLING:
            raise ValueError(f"{name} must be a multiple of {SD_DOWNSAMPLING}, got {value}")
    return (SD_LATENT_CHANNELS, height // SD_DOWNSAMPLING, width // SD_DOWNSAMPLING)


def unet_input_shape(height: int, width: int) -> tuple[int, int, int]:
    """(8, H/8, W/8): MGIE's UNet input cat[z_t, Enc(V)] for an H x W image (Eq. 9.3)."""
    channels, h, w = sd_latent_shape(height, width)
    return (2 * channels, h, w)


# ---------------------------------------------------------------------------
# The toy autoencoder (a stand-in for the VAE; Eqs. 9.1-9.2)
# ---------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _encoder() -> np.ndarray:
    weights = np.zeros((LATENT_CHANNELS, PATCH_SIZE, PATCH_SIZE, 3))
    for channel in range(3):
        weights[channel, :, :, channel] = 1.0 / PATCH_SIZE           # channel mean, times 8
    half = PATCH_SIZE // 2
    weights[3, :half] = 1.0
    weights[3, half:] = -1.0
    weights[3] /= math.sqrt(PATCH_SIZE * PATCH_SIZE * 3)              # top minus bottom, unit norm
    matrix = weights.reshape(LATENT_CHANNELS, -1)
    matrix.setflags(write=False)
    return matrix


@lru_cache(maxsize=1)
def _decoder() -> np.ndarray:
    matrix = np.linalg.pinv(_encoder())
    matrix.setflags(write=False)
    return matrix


def toy_encoder_matrix() -> np.ndarray:
    """W_enc (4 x 192): rows = R, G and B mean (each times 8) and top-minus-bottom contrast of a patch.

    A patch is flattened in (row, column, colour) order. The rows are orthonormal, so the
    pseudo-inverse W_enc^+ equals W_enc^T (Eq. 9.1).
    """
    return np.array(_encoder())


def toy_decoder_matrix() -> np.ndarray:
    """W_enc^+ (192 x 4), the Moore-Penrose pseudo-inverse of the encoder matrix (Eq. 9.2)."""
    return np.array(_decoder())


def _check_image(image, name: str = "image") -> np.ndarray:
    image = as_array(image, name, shape=(None, None, 3))
    height, width, _ = image.shape
    if height == 0 or width == 0 or height % PATCH_SIZE or width % PATCH_SIZE:
        raise ValueError(f"{name} height and width must be positive multiples of {PATCH_SIZE}, got {image.shape[:2]}")
    return image


def _check_latent(latent, name: str = "latent", channels: int | None = LATENT_CHANNELS) -> np.ndarray:
    latent = as_array(latent, name, shape=(channels, None, None))
    if latent.shape[1] == 0 or latent.shape[2] == 0:
        raise ValueError(f"{name} must not be empty, got shape {latent.shape}")
    return latent


def toy_encode(image) -> np.ndarray:
    """Enc(x): an (H, W, 3) image to a (4, H/8, W/8) latent, patch by patch (Eq. 9.1).

    A STAND-IN for Stable Diffusion's VAE encoder (same factor 8 and 4 channels, but linear).
    Works on any real values; the book feeds it images mapped to [-1, 1].
    """
    image = _check_image(image)
    height, width, _ = image.shape
    rows, cols = height // PATCH_SIZE, width // PATCH_SIZE
    patches = image.reshape(rows, PATCH_SIZE, cols, PATCH_SIZE, 3).transpose(0, 2, 1, 3, 4)
    flat = patches.reshape(rows, cols, -1)
    return np.einsum("kp,ijp->kij", _encoder(), flat)


def toy_decode(latent) -> np.ndarray:
    """Dec(z): a (4, h, w) latent to an (8h, 8w, 3) image with the pseudo-inverse W_enc^+ (Eq. 9.2)."""
    latent = _check_latent(latent)
    _, rows, cols = latent.shape
    flat = np.einsum("pk,kij->ijp", _decoder(), latent)
    patches = flat.reshape(rows, cols, PATCH_SIZE, PATCH_SIZE, 3).transpose(0, 2, 1, 3, 4)
    return patches.reshape(rows * PATCH_SIZE, cols * PATCH_SIZE, 3)


def patch_projection(image) -> np.ndarray:
    """Dec(Enc(x)) = W_enc^+ W_enc applied to every patch: the part of each patch the toy latent can hold.

    Each 8x8 patch becomes its three colour means plus its top-versus-bottom contrast: the top
    half of the patch is shifted by +c and the bottom half by -c (the same c in all three
    colours), where c is the mean over the top half minus the mean over the bottom half, averaged
    over colours, divided by 2.
    """
    return toy_decode(toy_encode(image))


# ---------------------------------------------------------------------------
# InstructPix2Pix conditioning and two-scale guidance (Eqs. 9.3-9.5)
# ---------------------------------------------------------------------------

def instructpix2pix_input(z_t, image_latent) -> np.ndarray:
    """cat[z_t, Enc(V)] along the channel axis (axis 0): the UNet's input (Eq. 9.3).

    MGIE: ``self.unet(torch.cat([lat_noise, lat_inp], dim=1), ts, hid_edit)`` (mgie_llava.py;
    dim=1 there because axis 0 is the batch).
    """
    z_t = _check_latent(z_t, "z_t", channels=None)
    image_latent = _check_latent(image_latent, "image_latent", channels=None)
    if z_t.shape[1:] != image_latent.shape[1:]:
        raise ValueError(f"image_latent must have the same height and width as z_t {z_t.shape[1:]}, "
                         f"got {image_latent.shape[1:]}")
    return np.concatenate([z_t, image_latent], axis=0)


def _check_scale(value, name: str) -> float:
    return check_nonnegative(value, name)


def _three_conditions(uncond, image, full, names: tuple[str, str, str]) -> tuple:
    """The three predictions (or scores) of Eq. 9.4 as arrays of one shape, checked by name."""
    arrays = tuple(as_array(value, name) for value, name in zip((uncond, image, full), names))
    for name, other in zip(names[1:], arrays[1:]):
        if other.shape != arrays[0].shape:
            raise ValueError(f"{name} must have the same shape as {names[0]} {arrays[0].shape}, got {other.shape}")
    return arrays


def guidance_terms(eps_uncond, eps_image, eps_full, s_image=DEFAULT_IMAGE_SCALE,
                   s_text=DEFAULT_TEXT_SCALE) -> GuidanceTerms:
    """Every piece of Eq. 9.4 (see :class:`GuidanceTerms`); scales must be >= 0."""
    eps_uncond, eps_image, eps_full = _three_conditions(eps_uncond, eps_image, eps_full,
                                                        ("eps_uncond", "eps_image", "eps_full"))
    s_image = _check_scale(s_image, "s_image")
    s_text = _check_scale(s_text, "s_text")
    image_direction = eps_image - eps_uncond
    text_direction = eps_full - eps_image
    image_term = s_image * image_direction
    text_term = s_text * text_direction
    return GuidanceTerms(eps_uncond, image_direction, text_direction, image_term, text_term,
                         eps_uncond + image_term + text_term)


def guided_noise(eps_uncond, eps_image, eps_full, s_image=DEFAULT_IMAGE_SCALE, s_text=DEFAULT_TEXT_SCALE) -> np.ndarray:
    """eps~ = eps(z,0,0) + s_V [eps(z,V,0) - eps(z,0,0)] + s_X [eps(z,V,U) - eps(z,V,0)] (Eq. 9.4).

    InstructPix2Pix's two-scale classifier-free guidance (Brooks et al. 2023); defaults
    s_V = 1.5 (image) and s_X = 7.5 (instruction) as in diffusers' pipeline. s_V = s_X = 1
    gives eps_full; s_V = s_X = 0 gives eps_uncond.
    """
    return guidance_terms(eps_uncond, eps_image, eps_full, s_image, s_text).guided


def noise_to_score(eps, alpha_bar) -> np.ndarray:
    """grad_z log p(z_t | ...) = -eps / sqrt(1 - abar_t): a noise prediction as a score (chapter 9).

    The forward process z_t = sqrt(abar) x_0 + sqrt(1 - abar) eps makes the score of the noisy
    latent minus the noise over its standard deviation (Song et al. 2021, score-based SDEs).
    """
    eps = as_array(eps, "eps")
    alpha_bar = check_probability(alpha_bar, "alpha_bar")
    if alpha_bar >= 1.0:
        raise ValueError("alpha_bar must be < 1 (at abar = 1 there is no noise and no score)")
    return -eps / math.sqrt(1.0 - alpha_bar)


def guided_score(score_uncond, score_image, score_full, s_image=DEFAULT_IMAGE_SCALE, s_text=DEFAULT_TEXT_SCALE) -> np.ndarray:
    """Brooks et al.'s Eq. 3 with scales (chapter 9, Eq. 9.5):

    grad log p(z) + s_V [grad log p(c_I | z)] + s_X [grad log p(c_T | c_I, z)], where by Bayes'
    rule grad log p(c_I | z) = score(z | c_I) - score(z) and
    grad log p(c_T | c_I, z) = score(z | c_I, c_T) - score(z | c_I). Multiplying by
    -sqrt(1 - abar) (:func:`noise_to_score`) turns it into :func:`guided_noise`.
    """
    score_uncond, score_image, score_full = _three_conditions(score_uncond, score_image, score_full,
                                                              ("score_uncond", "score_image", "score_full"))
    s_image = _check_scale(s_image, "s_image")
    s_text = _check_scale(s_text, "s_text")
    log_p_image_given_z = score_image - score_uncond          # grad log p(c_I | z), Bayes' rule
    log_p_text_given_image_z = score_full - score_image       # grad log p(c_T | c_I, z)
    return score_uncond + s_image * log_p_image_given_z + s_text * log_p_text_given_image_z


# ---------------------------------------------------------------------------
# The toy noise model (Eq. 9.6)
# ---------------------------------------------------------------------------

def latent_region_mask(region: str = "hat", size: int = 32) -> np.ndarray:
    """Where a region lies at latent resolution: (size/8, size/8) values in [0, 1].

    The share of each 8x8 patch that :func:`mgie_lessons.images.region_mask` covers, divided by
    the largest share, so the most-covered latent cell gets 1.
    """
    size = check_int(size, "size", minimum=PATCH_SIZE)
    if size % PATCH_SIZE:
        raise ValueError(f"size must be a multiple of {PATCH_SIZE}, got {size}")
    mask = region_mask(region, size)
    cells = size // PATCH_SIZE
    coverage = mask.reshape(cells, PATCH_SIZE, cells, PATCH_SIZE).mean(axis=(1, 3))
    return coverage / coverage.max()


def toy_null_instruction() -> np.ndarray:
    """The toy's null instruction: the zero vector (4,).

    MGIE's null instruction is NOT zero: it is the edit head applied to zero hidden states,
    ``edit_head(zeros, emb)`` (demo.ipynb; mgie_llava.py's ``hid_null``).
    """
    return np.zeros(LATENT_CHANNELS)


def _uniform_patch_latent(colour) -> np.ndarray:
    patch = np.broadcast_to(schedules.to_model_range(np.asarray(colour, dtype=float)), (PATCH_SIZE, PATCH_SIZE, 3))
    return toy_encode(patch)[:, 0, 0]


def toy_instruction_embedding() -> np.ndarray:
    """The toy's "add a blue hat" embedding u (4,): a push in latent space, applied in the hat region.

    u = (Enc(blue patch) - Enc(sky patch)) / 7.5, so that at s_X = 7.5 the hat region turns from sky to
    HAT_COLOUR (a calibration of the toy, not a property of real models).
    """
    sky = toy_image(32)[0, 0]
    return (_uniform_patch_latent(HAT_COLOUR) - _uniform_patch_latent(sky)) / DEFAULT_TEXT_SCALE


def toy_noise_model(z_t, image_latent, instruction_embedding, *, alpha_bar=TOY_ALPHA_BAR) -> np.ndarray:
    """A TOY noise predictor: eps(z, c, u) = (z - sqrt(abar) (w c + m u)) / sqrt(1 - abar) (Eq. 9.6).

    It is the perfect denoiser for a model that believes the clean latent is w c + m u: a shrunk
    copy of the image latent c (w = 2/3) plus the instruction's push u inside the hat region m
    (:func:`latent_region_mask`). Pass zeros for c to drop the image and
    :func:`toy_null_instruction` to drop the instruction. Deterministic and linear; nothing
    about it is learned. z_t and image_latent are (4, h, h); u is (4,).
    """
    z_t = _check_latent(z_t, "z_t")
    image_latent = _check_latent(image_latent, "image_latent")
    if image_latent.shape != z_t.shape:
        raise ValueError(f"image_latent must have the same shape as z_t {z_t.shape}, got {image_latent.shape}")
    if z_t.shape[1] != z_t.shape[2]:
        raise ValueError(f"z_t must be square (the toy image is), got {z_t.shape[1:]}")
    u = as_vector(instruction_embedding, "instruction_embedding", length=LATENT_CHANNELS)
    abar = check_finite_number(alpha_bar, "alpha_bar")
    if not 0 < abar < 1:
        raise ValueError(f"alpha_bar must lie strictly between 0 and 1, got {abar}")
    region = latent_region_mask("hat", z_t.shape[1] * PATCH_SIZE)
    belief = TOY_IMAGE_WEIGHT * image_latent + region[None, :, :] * u[:, None, None]
    return (z_t - math.sqrt(abar) * belief) / math.sqrt(1.0 - abar)


def one_step_edit(image, instruction_embedding, s_image=DEFAULT_IMAGE_SCALE, s_text=DEFAULT_TEXT_SCALE, *,
                  t: int = 500, seed: int = 0) -> OneStepEdit:
    """Encode the image, noise its latent to timestep t (Stable Diffusion's schedule), make the three
    toy predictions, guide them (Eq. 9.4) and jump to x^_0 (Eq. 8.9), then decode.

    image : (H, W, 3) in [0, 1]; instruction_embedding : (4,); seed : the noise draw.
    """
    image = _check_image(image)
    abar_all = schedules.alphas_cumprod(schedules.beta_schedule("scaled_linear", 1000))
    t = check_int(t, "t", minimum=0, maximum=abar_all.size - 1)
    seed = check_int(seed, "seed", minimum=0)
    image_latent = toy_encode(schedules.to_model_range(image))
    noise = np.random.default_rng(seed).standard_normal(image_latent.shape)
    z_t = schedules.q_sample(image_latent, t, noise, abar_all)
    u = as_vector(instruction_embedding, "instruction_embedding", length=LATENT_CHANNELS)
    null = toy_null_instruction()
    abar = float(abar_all[t])
    eps_uncond = toy_noise_model(z_t, np.zeros_like(image_latent), null, alpha_bar=abar)
    eps_image = toy_noise_model(z_t, image_latent, null, alpha_bar=abar)
    eps_full = toy_noise_model(z_t, image_latent, u, alpha_bar=abar)
    terms = guidance_terms(eps_uncond, eps_image, eps_full, s_image, s_text)
    latent_edit = schedules.predicted_x0(z_t, t, terms.guided, abar_all)
    return OneStepEdit(t, abar, image_latent, z_t, instructpix2pix_input(z_t, image_latent),
                       eps_uncond, eps_image, eps_full, terms, latent_edit,
                       schedules.to_image_range(toy_decode(latent_edit)),
                       schedules.to_image_range(toy_decode(image_latent)))


# ---------------------------------------------------------------------------
# Conditioning dropout in training
# ---------------------------------------------------------------------------

def conditioning_dropout(u, p=DROP_PROBABILITY) -> DropoutCase:
    """Which conditions survive for one training example with uniform draw u (mgie_llava.py).

    The code draws ``prob`` in [0, 1); the instruction is replaced by the null one when
    prob < 2p, and the image latent is zeroed when p <= prob < 3p. So: prob < p drops the
    instruction only, p <= prob < 2p drops both, 2p <= prob < 3p drops the image only.
    """
    u = check_probability(u, "u")
    p = check_probability(p, "p")
    if 3 * p > 1:
        raise ValueError(f"p must be at most 1/3 (three disjoint cases of probability p), got {p}")
    keep_instruction = not u < 2 * p
    keep_image = not (p <= u < 3 * p)
    return DropoutCase(keep_image, keep_instruction)


def dropout_fractions(p=DROP_PROBABILITY) -> dict[str, float]:
    """The share of training examples in each case, for uniform draws: p, p, p and 1 - 3p."""
    p = check_probability(p, "p")
    if 3 * p > 1:
        raise ValueError(f"p must be at most 1/3, got {p}")
    return {"instruction dropped": p, "both dropped": p, "image dropped": p, "both kept": 1 - 3 * p}


# ---------------------------------------------------------------------------
# Exact (sympy) versions
# ---------------------------------------------------------------------------

def _rational(value, name: str):
    if isinstance(value, sympy.Basic):
        return value
    return sympy.Rational(str(check_finite_number(value, name)))


def exact_toy_encoder_matrix() -> sympy.Matrix:
    """W_enc exactly: entries 1/8 on the colour-mean rows and +-1/(8 sqrt 3) on the contrast row."""
    rows = []
    for channel in range(3):
        rows.append([sympy.Rational(1, PATCH_SIZE) if p % 3 == channel else 0
                     for p in range(PATCH_SIZE * PATCH_SIZE * 3)])
    contrast = 1 / sympy.sqrt(PATCH_SIZE * PATCH_SIZE * 3)
    half = PATCH_SIZE * PATCH_SIZE * 3 // 2
    rows.append([contrast if p < half else -contrast for p in range(PATCH_SIZE * PATCH_SIZE * 3)])
    return sympy.Matrix(rows)


def exact_guided_noise(eps_uncond, eps_image, eps_full, s_image=DEFAULT_IMAGE_SCALE, s_text=DEFAULT_TEXT_SCALE):
    """Eq. 9.4 exactly for numbers (sympy rationals)."""
    e0, e_v, e_vu = (_rational(eps_uncond, "eps_uncond"), _rational(eps_image, "eps_image"),
                     _rational(eps_full, "eps_full"))
    s_v = _rational(_check_scale(s_image, "s_image"), "s_image")
    s_x = _rational(_check_scale(s_text, "s_text"), "s_text")
    return e0 + s_v * (e_v - e0) + s_x * (e_vu - e_v)
