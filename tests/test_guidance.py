"""Tests for chapter 9 (mgie_lessons.guidance): guidance identities, the toy autoencoder, shapes."""

import math

import numpy as np
import pytest
import sympy
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mgie_lessons import guidance as G
from mgie_lessons import guidance
from mgie_lessons import schedules
from mgie_lessons.images import toy_image

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
arrays = hnp.arrays(np.float64, (2, 3), elements=finite)
scales = st.floats(0, 20, allow_nan=False, allow_infinity=False)


# ---------------------------------------------------------------------------
# Two-scale guidance
# ---------------------------------------------------------------------------

def test_scales_one_give_full_and_zero_give_uncond():
    e0, ev, evu = np.array([0.1, -0.2]), np.array([0.4, 0.0]), np.array([1.0, 0.5])
    np.testing.assert_allclose(G.guided_noise(e0, ev, evu, 1.0, 1.0), evu)
    np.testing.assert_allclose(G.guided_noise(e0, ev, evu, 0.0, 0.0), e0)


def test_defaults_are_diffusers_and_written_out():
    e0, ev, evu = np.array([0.2]), np.array([0.5]), np.array([0.6])
    # 0.2 + 1.5 (0.5 - 0.2) + 7.5 (0.6 - 0.5) = 0.2 + 0.45 + 0.75
    np.testing.assert_allclose(G.guided_noise(e0, ev, evu), [1.4])
    assert (G.DEFAULT_IMAGE_SCALE, G.DEFAULT_TEXT_SCALE) == (1.5, 7.5)


def test_guidance_terms_fields():
    terms = G.guidance_terms(np.array([1.0]), np.array([3.0]), np.array([4.0]), 2.0, 5.0)
    assert terms.image_direction[0] == 2.0 and terms.text_direction[0] == 1.0
    assert terms.image_term[0] == 4.0 and terms.text_term[0] == 5.0 and terms.guided[0] == 10.0


@given(arrays, arrays, arrays, arrays, arrays, arrays, finite, finite, scales, scales)
def test_guidance_is_linear_in_the_predictions(a0, av, avu, b0, bv, bvu, ca, cb, sv, sx):
    left = G.guided_noise(ca * a0 + cb * b0, ca * av + cb * bv, ca * avu + cb * bvu, sv, sx)
    right = ca * G.guided_noise(a0, av, avu, sv, sx) + cb * G.guided_noise(b0, bv, bvu, sv, sx)
    np.testing.assert_allclose(left, right, atol=1e-6 * (1 + np.abs(right).max()))


@given(arrays, arrays, arrays, scales, scales, scales)
def test_guidance_is_affine_in_each_scale(e0, ev, evu, s1, s2, sx):
    mid = (s1 + s2) / 2
    np.testing.assert_allclose(G.guided_noise(e0, ev, evu, mid, sx),
                               (G.guided_noise(e0, ev, evu, s1, sx) + G.guided_noise(e0, ev, evu, s2, sx)) / 2,
                               atol=1e-8 * (1 + np.abs(evu).max() * 40))


@given(arrays, arrays, arrays, scales)
def test_equal_scales_are_single_scale_guidance(e0, ev, evu, s):
    np.testing.assert_allclose(G.guided_noise(e0, ev, evu, s, s), e0 + s * (evu - e0),
                               atol=1e-8 * (1 + 40 * np.abs(np.stack([e0, ev, evu])).max()))


def test_exact_guided_noise_agrees():
    exact = G.exact_guided_noise(sympy.Rational(1, 5), sympy.Rational(1, 2), sympy.Rational(3, 5))
    assert exact == sympy.Rational(7, 5)
    assert float(G.exact_guided_noise(0.3, -0.1, 0.25, 2.5, 4)) == pytest.approx(
        float(G.guided_noise(np.array(0.3), np.array(-0.1), np.array(0.25), 2.5, 4)))


# ---------------------------------------------------------------------------
# The toy autoencoder
# ---------------------------------------------------------------------------

def test_shapes():
    image = toy_image(32)
    latent = G.toy_encode(image)
    assert latent.shape == (4, 4, 4)
    assert G.toy_decode(latent).shape == (32, 32, 3)
    assert G.toy_encode(np.zeros((16, 24, 3))).shape == (4, 2, 3)
    assert G.sd_latent_shape(256, 256) == (4, 32, 32)
    assert G.sd_latent_shape(512, 768) == (4, 64, 96)
    assert G.unet_input_shape(256, 256) == (8, 32, 32)
    z = np.random.default_rng(0).standard_normal((4, 4, 4))
    stacked = G.instructpix2pix_input(z, latent)
    assert stacked.shape == (8, 4, 4)
    np.testing.assert_array_equal(stacked[:4], z)
    np.testing.assert_array_equal(stacked[4:], latent)


def test_encoder_rows_orthonormal_and_decoder_is_transpose():
    W = G.toy_encoder_matrix()
    np.testing.assert_allclose(W @ W.T, np.eye(4), atol=1e-14)
    np.testing.assert_allclose(G.toy_decoder_matrix(), W.T, atol=1e-14)
    exact = G.exact_toy_encoder_matrix()
    np.testing.assert_allclose(np.array(exact.evalf(), dtype=float), W, atol=1e-15)
    assert sympy.simplify(exact * exact.T - sympy.eye(4)) == sympy.zeros(4, 4)


def _hand_projection(image):
    """Every 8x8 patch -> its colour means, plus +c on the top half and -c on the bottom half."""
    out = np.empty_like(image)
    for i in range(0, image.shape[0], 8):
        for j in range(0, image.shape[1], 8):
            patch = image[i:i + 8, j:j + 8]
            means = patch.mean(axis=(0, 1))
            c = (patch[:4].mean() - patch[4:].mean()) / 2
            out[i:i + 4, j:j + 8] = means + c
            out[i + 4:i + 8, j:j + 8] = means - c
    return out


def test_decode_encode_is_the_patch_projection_written_out():
    rng = np.random.default_rng(1)
    for image in (schedules.to_model_range(toy_image(32)), rng.uniform(-1, 1, (16, 8, 3))):
        np.testing.assert_allclose(G.toy_decode(G.toy_encode(image)), _hand_projection(image), atol=1e-12)
        np.testing.assert_allclose(G.patch_projection(image), _hand_projection(image), atol=1e-12)


def test_uniform_patches_survive_and_latent_round_trips():
    colour = np.array([0.2, -0.4, 0.9])
    flat = np.broadcast_to(colour, (8, 8, 3))
    np.testing.assert_allclose(G.toy_decode(G.toy_encode(flat)), flat, atol=1e-12)
    np.testing.assert_allclose(G.toy_encode(flat)[:, 0, 0], [8 * 0.2, 8 * -0.4, 8 * 0.9, 0.0], atol=1e-12)
    z = np.random.default_rng(2).standard_normal((4, 3, 2))
    np.testing.assert_allclose(G.toy_encode(G.toy_decode(z)), z, atol=1e-12)


@given(hnp.arrays(np.float64, (8, 16, 3), elements=st.floats(-1, 1)))
def test_projection_is_idempotent(image):
    once = G.patch_projection(image)
    np.testing.assert_allclose(G.patch_projection(once), once, atol=1e-12)


# ---------------------------------------------------------------------------
# The toy noise model and the one-step edit
# ---------------------------------------------------------------------------

def test_latent_region_mask():
    mask = G.latent_region_mask("hat")
    assert mask.shape == (4, 4) and mask.max() == 1.0
    assert np.all(mask[2:] == 0) and mask[0, 1] == 1.0 and mask[0, 0] == 0.0


def test_toy_noise_model_formula_and_clean_estimate():
    rng = np.random.default_rng(3)
    z, c = rng.standard_normal((4, 4, 4)), rng.standard_normal((4, 4, 4))
    u = np.array([1.0, -2.0, 0.5, 0.0])
    abar = 0.3
    m = G.latent_region_mask("hat")
    belief = (2 / 3) * c + m[None] * u[:, None, None]
    expected = (z - math.sqrt(abar) * belief) / math.sqrt(1 - abar)
    eps = G.toy_noise_model(z, c, u, alpha_bar=abar)
    np.testing.assert_allclose(eps, expected, atol=1e-12)
    # its clean-latent estimate (Eq. 8.9) is the belief, whatever z is
    np.testing.assert_allclose((z - math.sqrt(1 - abar) * eps) / math.sqrt(abar), belief, atol=1e-12)


def test_guidance_carries_over_to_the_clean_estimate():
    rng = np.random.default_rng(4)
    z, c = rng.standard_normal((4, 4, 4)), rng.standard_normal((4, 4, 4))
    u = rng.standard_normal(4)
    abar = 0.4
    preds = [G.toy_noise_model(z, np.zeros_like(c), np.zeros(4), alpha_bar=abar),
             G.toy_noise_model(z, c, np.zeros(4), alpha_bar=abar),
             G.toy_noise_model(z, c, u, alpha_bar=abar)]

    def x0(eps):
        return (z - math.sqrt(1 - abar) * eps) / math.sqrt(abar)

    guided = G.guided_noise(*preds, 2.0, 3.0)
    combined = x0(preds[0]) + 2.0 * (x0(preds[1]) - x0(preds[0])) + 3.0 * (x0(preds[2]) - x0(preds[1]))
    np.testing.assert_allclose(x0(guided), combined, atol=1e-10)


def test_one_step_edit_at_defaults_keeps_outside_and_paints_the_hat():
    edit = G.one_step_edit(toy_image(32), G.toy_instruction_embedding())
    assert edit.unet_input.shape == (8, 4, 4)
    outside = G.latent_region_mask("hat") == 0
    # 1.5 * (2/3) E(V) = E(V) where the instruction does not push
    np.testing.assert_allclose(edit.latent_edit[:, outside], edit.image_latent[:, outside], atol=1e-9)
    # the top-middle patch was pure sky; it becomes the hat colour
    np.testing.assert_allclose(edit.image_edit[0:8, 8:16], np.broadcast_to(G.HAT_COLOUR, (8, 8, 3)), atol=1e-9)
    np.testing.assert_allclose(edit.image_edit[:, :8], edit.image_reference[:, :8], atol=1e-9)


def test_one_step_edit_without_guidance_is_faint_and_null_instruction_does_nothing():
    none = G.one_step_edit(toy_image(32), G.toy_null_instruction(), 1.5, 7.5)
    np.testing.assert_allclose(none.latent_edit, none.image_latent, atol=1e-9)
    plain = G.one_step_edit(toy_image(32), G.toy_instruction_embedding(), 1.0, 1.0)
    np.testing.assert_allclose(plain.terms.guided, plain.eps_full, atol=1e-12)


# ---------------------------------------------------------------------------
# Conditioning dropout
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("u, image, instruction", [
    (0.0, True, False), (0.049, True, False),
    (0.05, False, False), (0.099, False, False),
    (0.10, False, True), (0.149, False, True),
    (0.1501, True, True), (0.9, True, True),
])
def test_conditioning_dropout_cases(u, image, instruction):
    case = G.conditioning_dropout(u)
    assert (case.keep_image, case.keep_instruction) == (image, instruction)


def test_dropout_fractions_match_uniform_draws():
    fractions = G.dropout_fractions()
    assert sum(fractions.values()) == pytest.approx(1.0)
    draws = (np.arange(100000) + 0.5) / 100000
    cases = [G.conditioning_dropout(u) for u in draws[::10]]
    share_both = np.mean([not c.keep_image and not c.keep_instruction for c in cases])
    assert share_both == pytest.approx(fractions["both dropped"], abs=1e-3)


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("call, name", [
    (lambda: G.guided_noise([0.0, 1.0], [0.0], [0.0, 1.0]), "eps_image"),
    (lambda: G.guided_noise([0.0], [0.0], [0.0, 1.0]), "eps_full"),
    (lambda: G.guided_noise([np.nan], [0.0], [0.0]), "eps_uncond"),
    (lambda: G.guided_noise([0.0], [0.0], [0.0], -1.0, 7.5), "s_image"),
    (lambda: G.guided_noise([0.0], [0.0], [0.0], 1.5, float("nan")), "s_text"),
    (lambda: G.guided_noise([0.0], [0.0], [0.0], 1.5, float("inf")), "s_text"),
    (lambda: G.toy_encode(np.zeros((30, 32, 3))), "image"),
    (lambda: G.toy_encode(np.zeros((32, 32))), "image"),
    (lambda: G.toy_encode(np.full((8, 8, 3), np.nan)), "image"),
    (lambda: G.toy_decode(np.zeros((3, 4, 4))), "latent"),
    (lambda: G.instructpix2pix_input(np.zeros((4, 4, 4)), np.zeros((4, 2, 4))), "image_latent"),
    (lambda: G.instructpix2pix_input(np.zeros((4, 4)), np.zeros((4, 4, 4))), "z_t"),
    (lambda: G.toy_noise_model(np.zeros((4, 4, 4)), np.zeros((4, 4, 4)), np.zeros(3)), "instruction_embedding"),
    (lambda: G.toy_noise_model(np.zeros((4, 4, 4)), np.zeros((4, 4, 4)), np.zeros(4), alpha_bar=1.0), "alpha_bar"),
    (lambda: G.toy_noise_model(np.zeros((4, 4, 4)), np.zeros((4, 2, 2)), np.zeros(4)), "image_latent"),
    (lambda: G.toy_noise_model(np.zeros((4, 2, 4)), np.zeros((4, 2, 4)), np.zeros(4)), "z_t"),
    (lambda: G.one_step_edit(toy_image(32), np.zeros(4), t=1000), "t"),
    (lambda: G.sd_latent_shape(250, 256), "height"),
    (lambda: G.sd_latent_shape(256, 0), "width"),
    (lambda: G.latent_region_mask("hat", 30), "size"),
    (lambda: G.conditioning_dropout(1.5), "u"),
    (lambda: G.conditioning_dropout(0.5, p=0.4), "p"),
    (lambda: G.dropout_fractions(-0.1), "p"),
    (lambda: G.exact_guided_noise(0, 0, 0, -2, 1), "s_image"),
])
def test_validation_errors_name_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --- Issue 11, item 5: the two scales come from the score split by Bayes' rule ---

def test_score_guidance_is_noise_guidance_times_minus_one_over_sigma():
    rng = np.random.default_rng(0)
    e0, ev, evu = (rng.standard_normal((4, 2, 2)) for _ in range(3))
    abar = 0.3
    scores = [guidance.noise_to_score(e, abar) for e in (e0, ev, evu)]
    np.testing.assert_allclose(guidance.guided_score(*scores, 1.5, 7.5),
                               guidance.noise_to_score(guidance.guided_noise(e0, ev, evu, 1.5, 7.5), abar),
                               rtol=1e-12, atol=1e-12)


def test_bayes_split_of_a_gaussian_posterior_score():
    # A 1-d model: z ~ N(0, 1), c_I | z ~ N(z, a), c_T | c_I, z ~ N(z + c_I, b). Bayes' rule:
    # log p(z | c_I, c_T) = log p(z) + log p(c_I | z) + log p(c_T | c_I, z) - log p(c_I, c_T).
    z, c_i, c_t = sp.symbols("z c_I c_T", real=True)
    a, b = sp.Rational(1, 2), sp.Rational(1, 3)

    def log_normal(x, mean, var):
        return -(x - mean) ** 2 / (2 * var) - sp.log(2 * sp.pi * var) / 2

    log_prior = log_normal(z, 0, 1)
    log_image = log_normal(c_i, z, a)
    log_text = log_normal(c_t, z + c_i, b)
    joint = log_prior + log_image + log_text
    # the three conditional scores (normalised densities of z), computed independently of the split
    score_full = sp.diff(joint, z)                              # p(z | c_I, c_T) ∝ joint
    score_image = sp.diff(log_prior + log_image, z)             # p(z | c_I) ∝ p(z) p(c_I | z)
    score_uncond = sp.diff(log_prior, z)
    s_v, s_x = sp.Rational(3, 2), sp.Rational(15, 2)
    weighted = sp.diff(log_prior, z) + s_v * sp.diff(log_image, z) + s_x * sp.diff(log_text, z)
    for point in ({z: 0.3, c_i: -0.7, c_t: 1.1}, {z: -1.2, c_i: 0.4, c_t: 0.0}):
        scores = [np.array([float(expr.subs(point))]) for expr in (score_uncond, score_image, score_full)]
        from_package = guidance.guided_score(*scores, float(s_v), float(s_x))[0]
        assert from_package == pytest.approx(float(weighted.subs(point)), rel=1e-12)
    # with both scales 1 it is the conditional score itself
    assert sp.simplify(score_uncond + (score_image - score_uncond) + (score_full - score_image) - score_full) == 0


@pytest.mark.parametrize("call, name", [
    (lambda: guidance.noise_to_score(np.zeros(2), 1.0), "alpha_bar"),
    (lambda: guidance.noise_to_score(np.zeros(2), -0.1), "alpha_bar"),
    (lambda: guidance.guided_score(np.zeros(2), np.zeros(3), np.zeros(2)), "score_image"),
    (lambda: guidance.guided_score(np.zeros(2), np.zeros(2), np.zeros(2), -1, 1), "s_image"),
])
def test_score_functions_reject_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()
