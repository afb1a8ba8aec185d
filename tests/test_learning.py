"""Chapter 13: every hand-derived gradient against the autograd engine and finite differences."""

import numpy as np
import pytest
import sympy

from mgie_lessons import autograd, end_to_end, learning, losses, walkthrough

STEPS = [3, 2, 1]
TRUE = [walkthrough.TRUE_NOISE[t] for t in STEPS]
PREDICTED = [walkthrough.NOISE_SLOPE * t for t in STEPS]


def _random_parameters(rng, scale=0.7):
    params = learning.seed_lm_parameters()
    return {name: value + rng.normal(0.0, scale, value.shape) for name, value in params.items()}


# --------------------------------------------------------------------------------------------
# Softmax (Eq. 13.4)
# --------------------------------------------------------------------------------------------

def test_softmax_jacobian_matches_finite_differences_and_autograd():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 2, 5)
    a = learning.softmax(x)
    J = learning.softmax_jacobian(a)
    numeric = np.vstack([learning.numerical_gradient(lambda z, j=j: learning.softmax(z)[j], x) for j in range(5)])
    assert np.allclose(J, numeric.T, atol=1e-9)          # J[i, j] = d a_j / d x_i, and J is symmetric
    assert np.allclose(J, J.T) and np.allclose(J.sum(axis=0), 0) and np.allclose(J.sum(axis=1), 0)
    for j in range(5):                                     # backward of a_j gives row j of the Jacobian
        t = autograd.Tensor(x, requires_grad=True)
        autograd.softmax(t)[j].backward()
        assert np.allclose(t.grad, J[j], atol=1e-14)


def test_exact_softmax_jacobian_agrees_with_the_numbers():
    logits = [0.1, 0.3, -0.2]
    exact = learning.exact_softmax_jacobian(logits)
    numeric = learning.softmax_jacobian(learning.softmax(np.array(logits)))
    assert np.allclose(np.array(exact.evalf(30), dtype=float), numeric, atol=1e-14)
    assert sympy.simplify(sum(exact.row(0))) == 0


def test_softmax_backward_is_the_jacobian_product_for_each_row():
    rng = np.random.default_rng(1)
    x, g = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    a = learning.softmax(x, axis=1)
    expected = np.vstack([learning.softmax_jacobian(a[i]) @ g[i] for i in range(4)])
    assert np.allclose(learning.softmax_backward(a, g), expected, atol=1e-14)
    t = autograd.Tensor(x, requires_grad=True)
    autograd.softmax(t, axis=1).backward(g)
    assert np.allclose(t.grad, expected, atol=1e-14)


def test_softmax_rejects_bad_input():
    with pytest.raises(ValueError, match="a must be a probability vector"):
        learning.softmax_jacobian([0.5, 0.6])
    with pytest.raises(ValueError, match="grad_a must have the shape"):
        learning.softmax_backward(np.full(3, 1 / 3), np.ones(4))
    with pytest.raises(ValueError, match="entirely -inf"):
        learning.softmax(np.array([-np.inf, -np.inf]))
    with pytest.raises(ValueError, match="NaN"):
        learning.softmax(np.array([0.0, np.nan]))


# --------------------------------------------------------------------------------------------
# The loss gradients (Eq. 13.6)
# --------------------------------------------------------------------------------------------

def _chapter6_bigram():
    vocabulary = losses.toy_vocabulary(walkthrough.TARGET_TOKENS, walkthrough.GENERATED_TOKENS)
    model = losses.bigram_model_logits(vocabulary, walkthrough.GENERATED_TOKENS)
    return vocabulary, losses.teacher_forced_loss(model, vocabulary, walkthrough.TARGET_TOKENS)


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_n():
    rng = np.random.default_rng(2)
    logits, targets = rng.normal(0, 3, (5, 7)), rng.integers(0, 7, 5)
    grad = learning.cross_entropy_logit_gradient(logits, targets)
    numeric = learning.numerical_gradient(lambda z: losses.cross_entropy(z, targets), logits)
    assert np.allclose(grad, numeric, atol=1e-9)
    assert np.allclose(grad.sum(axis=1), 0.0)
    t = autograd.Tensor(logits, requires_grad=True)
    autograd.cross_entropy(t, targets).backward()
    assert np.allclose(t.grad, grad, atol=1e-15)


def test_exact_gradient_of_chapter6_L_ins_in_fractions():
    vocabulary, ins = _chapter6_bigram()
    P = learning.exact_bigram_probabilities(vocabulary, walkthrough.GENERATED_TOKENS)
    assert np.allclose(np.array(P, dtype=float), np.exp(losses.bigram_model_logits(vocabulary, walkthrough.GENERATED_TOKENS)))
    contexts = losses.token_ids(ins.contexts, vocabulary)
    exact = learning.exact_cross_entropy_gradient(P.extract(list(contexts), list(range(P.cols))), ins.target_ids)
    numeric = learning.cross_entropy_logit_gradient(ins.logits, ins.target_ids)
    assert np.allclose(np.array(exact, dtype=float), numeric, atol=1e-15)
    blue = walkthrough.TARGET_TOKENS.index("blue")             # p(blue | a) = 0.1 / 2.1 = 1/21 -> (1/21 - 1)/10
    assert exact[blue, vocabulary.index("blue")] == sympy.Rational(-2, 21)


def test_exact_cross_entropy_gradient_checks_its_rows():
    with pytest.raises(ValueError, match="sum to 1"):
        learning.exact_cross_entropy_gradient([[0.5, 0.4]], [0])
    with pytest.raises(ValueError, match="targets must be whole numbers"):
        learning.cross_entropy_logit_gradient([[0.0, 1.0]], [2])


def test_edit_loss_gradient_on_the_seeds_numbers():
    grad = learning.edit_loss_noise_gradient(TRUE, PREDICTED)
    assert np.allclose(grad, [0.8, 0.4, 0.0])
    assert learning.exact_edit_loss_noise_gradient(TRUE, PREDICTED) == [sympy.Rational(4, 5), sympy.Rational(2, 5), 0]
    assert learning.exact_edit_loss_noise_gradient(TRUE, PREDICTED, reduction="mean") == \
        [sympy.Rational(4, 15), sympy.Rational(2, 15), 0]
    numeric = learning.numerical_gradient(lambda e: losses.edit_loss(TRUE, e), np.array(PREDICTED))
    assert np.allclose(grad, numeric, atol=1e-8)
    mean = learning.edit_loss_noise_gradient(TRUE, PREDICTED, reduction="mean")
    t = autograd.Tensor(PREDICTED, requires_grad=True)
    autograd.mse_loss(t, TRUE).backward()                # MGIE's F.mse_loss: a mean over the entries
    assert np.allclose(t.grad, mean, atol=1e-15) and np.allclose(mean, grad / 3)
    with pytest.raises(ValueError, match="reduction"):
        learning.edit_loss_noise_gradient(TRUE, PREDICTED, reduction="mse")
    with pytest.raises(ValueError, match="predicted_noise must have the shape"):
        learning.edit_loss_noise_gradient(TRUE, [0.1, 0.2])


def test_slope_gradient_and_minimiser():
    # dL/dc = sum_t 2 (c t - eps_t) t = 2 (0.4 * 3 + 0.2 * 2 + 0 * 1) = 3.2 = 16/5
    assert learning.exact_edit_loss_slope_gradient(TRUE, walkthrough.NOISE_SLOPE, STEPS) == sympy.Rational(16, 5)
    for c in (0.2, 0.1, -0.3):
        numeric = learning.numerical_gradient(
            lambda v: losses.edit_loss(TRUE, float(v) * np.array(STEPS, dtype=float)), np.array(c))
        assert learning.edit_loss_slope_gradient(TRUE, c, STEPS) == pytest.approx(float(numeric), abs=1e-8)
    c_star = learning.exact_edit_loss_minimising_slope(TRUE, STEPS)
    assert c_star == sympy.Rational(3, 35)
    assert learning.edit_loss_slope_gradient(TRUE, float(c_star), STEPS) == pytest.approx(0.0, abs=1e-12)
    assert learning.edit_loss_minimising_slope(TRUE, STEPS) == pytest.approx(3 / 35)
    with pytest.raises(ValueError, match="steps must be whole numbers"):
        learning.edit_loss_slope_gradient(TRUE, 0.2, [3, 2, 0.5])


# --------------------------------------------------------------------------------------------
# Attention (Eq. 13.9) and the whole model
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("causal", [False, True])
def test_attention_backward_matches_autograd_and_finite_differences(causal):
    rng = np.random.default_rng(3)
    X, W_q, W_k, W_v = rng.normal(size=(5, 3)), rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), rng.normal(size=(3, 4))
    G = rng.normal(size=(5, 4))
    grads = learning.attention_backward(X, W_q, W_k, W_v, G, causal=causal)
    tensors = [autograd.Tensor(v, requires_grad=True) for v in (X, W_q, W_k, W_v)]
    tx, tq, tk, tv = tensors
    mask = np.triu(np.full((5, 5), -np.inf), 1) if causal else 0.0
    H = autograd.softmax((tx @ tq) @ (tx @ tk).T * (1 / np.sqrt(2)) + mask) @ (tx @ tv)
    H.backward(G)
    for name, tensor in zip(("X", "W_q", "W_k", "W_v"), tensors):
        assert np.allclose(getattr(grads, name), tensor.grad, atol=1e-13), name

    from mgie_lessons.attention import self_attention

    def objective(w):
        return float(np.sum(G * self_attention(X, w, W_k, W_v, causal=causal).output))
    assert np.allclose(grads.W_q, learning.numerical_gradient(objective, W_q), atol=1e-8)
    if causal:
        assert np.allclose(np.triu(grads.scaled_scores, 1), 0.0)       # masked scores get no gradient


def test_the_model_is_chapter_12s_language_model():
    assert learning.tiny_lm_loss() == pytest.approx(end_to_end.run_pipeline().l_ins, abs=1e-14)
    forward = learning.tiny_lm_forward()
    assert forward.logits.shape == (10, 9) and forward.probabilities.shape == (9, 9)
    assert np.allclose(forward.weights, np.tril(forward.weights))      # causal


@pytest.mark.parametrize("where", ["seed", "random"])
def test_hand_gradients_agree_with_autograd_and_finite_differences(where):
    params = learning.seed_lm_parameters() if where == "seed" else _random_parameters(np.random.default_rng(4))
    by_hand = learning.tiny_lm_gradients(params)
    by_engine = learning.autograd_tiny_lm_gradients(params)
    assert set(by_hand) == set(learning.PARAMETER_NAMES)
    for name in learning.PARAMETER_NAMES:
        assert by_hand[name].shape == params[name].shape
        assert np.allclose(by_hand[name], by_engine[name], rtol=1e-10, atol=1e-15), name

        def loss_of(value, name=name):
            return learning.tiny_lm_loss({**params, name: value})
        assert np.allclose(by_hand[name], learning.numerical_gradient(loss_of, params[name]), atol=1e-8), name


def test_the_seeds_identical_hidden_units_get_identical_gradients():
    grads = learning.tiny_lm_gradients()
    assert np.allclose(grads["W1"][:, 0], grads["W1"][:, 1]) and grads["b1"][0] == pytest.approx(grads["b1"][1])
    assert np.allclose(grads["W2"][0], grads["W2"][1])
    run = learning.train_tiny_lm_by_hand(0.05, 40)
    W1 = run.params["W1"]
    assert np.allclose(W1[:, 0], W1[:, 1])     # the symmetry is never broken


def test_model_input_checks():
    params = learning.seed_lm_parameters()
    with pytest.raises(ValueError, match="params is missing"):
        learning.tiny_lm_loss({k: v for k, v in params.items() if k != "W2"})
    with pytest.raises(ValueError, match=r"params\['W_k'\] must have shape"):
        learning.tiny_lm_loss({**params, "W_k": np.ones((3, 2))})
    with pytest.raises(ValueError, match=r"params\['b1'\] contains NaN"):
        learning.tiny_lm_gradients({**params, "b1": np.array([np.nan, 0.0])})
    with pytest.raises(ValueError, match="not in the seed's table"):
        learning.seed_lm_data("Add a red hat")
    with pytest.raises(ValueError, match="at least two words"):
        learning.seed_lm_data("hat")


# --------------------------------------------------------------------------------------------
# Optimisers (Eqs. 13.7, 13.8) and training
# --------------------------------------------------------------------------------------------

def test_adam_written_out_matches_the_engines_adam():
    rng = np.random.default_rng(5)
    theta = rng.normal(size=(3, 2))
    tensor = autograd.Tensor(theta.copy(), requires_grad=True)
    optimiser = autograd.Adam([tensor], 0.05)
    state = learning.adam_start(theta)
    for _ in range(6):
        grad = rng.normal(size=(3, 2))
        tensor.grad = grad.copy()
        optimiser.step()
        state = learning.adam_update(state, grad, 0.05)
        assert np.allclose(state.theta, tensor.data, atol=1e-15)
    assert state.step == 6


def test_adams_first_step_is_lr_per_coordinate():
    grad = np.array([1e-6, -3.0, 250.0])
    first = learning.adam_update(learning.adam_start(np.zeros(3)), grad, 0.01)
    assert np.allclose(first.update, 0.01 * np.sign(grad), rtol=1e-2)
    plain = learning.adam_update(learning.adam_start(np.zeros(3)), grad, 0.01, bias_correction=False)
    assert np.allclose(plain.update[1:], 0.01 * 0.1 / np.sqrt(0.001) * np.sign(grad[1:]))
    assert learning.exact_adam_first_step(0.5, 0.1) == sympy.Rational(1, 10)
    assert learning.exact_adam_first_step(-7, 0.1) == -sympy.Rational(1, 10)
    assert learning.exact_adam_first_step(0.5, 0.1, bias_correction=False) == sympy.sqrt(10) / 10
    with pytest.raises(ValueError, match="lr must be > 0"):
        learning.adam_update(learning.adam_start(np.zeros(2)), np.ones(2), 0.0)
    with pytest.raises(ValueError, match="betas"):
        learning.adam_update(learning.adam_start(np.zeros(2)), np.ones(2), 0.1, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="state must be an AdamState"):
        learning.adam_update(np.zeros(2), np.ones(2), 0.1)


def test_sgd_update():
    tensor = autograd.Tensor(np.ones(3), requires_grad=True)
    tensor.grad = np.array([1.0, -2.0, 0.5])
    autograd.SGD([tensor], 0.1).step()
    assert np.allclose(learning.sgd_update(np.ones(3), [1.0, -2.0, 0.5], 0.1), tensor.data)


@pytest.mark.parametrize("optimizer, lr", [("adam", 0.05), ("sgd", 0.5)])
def test_hand_training_matches_autograd_training(optimizer, lr):
    engine = learning.train_tiny_lm(lr, 40, optimizer=optimizer)
    by_hand = learning.train_tiny_lm_by_hand(lr, 40, optimizer=optimizer)
    assert np.allclose(engine.losses, by_hand.losses, rtol=1e-9, atol=1e-12)
    assert engine.final_loss == pytest.approx(by_hand.final_loss, rel=1e-9)
    assert engine.losses[0] == pytest.approx(learning.tiny_lm_loss())
    for name in learning.PARAMETER_NAMES:
        assert np.allclose(engine.params[name], by_hand.params[name], atol=1e-9)


def test_frozen_parameters_stay_put_and_training_lowers_the_loss():
    run = learning.train_tiny_lm(0.1, 60, trainable=learning.MGIE_TRAINABLE)
    start = learning.seed_lm_parameters()
    for name in learning.PARAMETER_NAMES:
        moved = not np.allclose(run.params[name], start[name])
        assert moved == (name in learning.MGIE_TRAINABLE), name
    assert run.final_loss < run.losses[0] - 0.2
    assert run.trainable == learning.MGIE_TRAINABLE


def test_a_batch_of_runs_is_the_runs_side_by_side():
    rates = [0.003, 0.1, 1.0]
    batch = learning.train_tiny_lm_batch(rates, 25, record=("W1",))
    assert batch.losses.shape == (3, 26) and batch.gradients["W1"].shape == (3, 26, 2, 2)
    for row, lr in enumerate(rates):
        single = learning.train_tiny_lm_by_hand(lr, 25)
        assert np.allclose(batch.losses[row, :-1], single.losses, rtol=1e-12)
        assert np.allclose(batch.params["E"][row], single.params["E"])
    assert np.allclose(batch.gradients["W1"][:, 0], learning.tiny_lm_gradients()["W1"])
    end = {name: batch.params[name][1] for name in learning.PARAMETER_NAMES}
    assert np.allclose(batch.gradients["W1"][1, -1], learning.tiny_lm_gradients(end)["W1"])


@pytest.mark.parametrize("arguments, phrase", [
    ({"lr": -0.1, "steps": 5}, "lr must be > 0"),
    ({"lr": 0.1, "steps": 0}, "steps must be >= 1"),
    ({"lr": 0.1, "steps": 5, "trainable": ("W_x",)}, "trainable must name"),
    ({"lr": 0.1, "steps": 5, "optimizer": "rmsprop"}, "optimizer must be one of"),
])
def test_training_rejects_bad_settings(arguments, phrase):
    with pytest.raises(ValueError, match=phrase):
        learning.train_tiny_lm(**arguments)
    with pytest.raises(ValueError, match=phrase):
        learning.train_tiny_lm_by_hand(**arguments)


# --------------------------------------------------------------------------------------------
# The graph of the idea's figure, and finite differences
# --------------------------------------------------------------------------------------------

def test_the_graph_is_read_from_the_engine():
    loss, names = learning.seed_edit_loss_graph()
    nodes = learning.computational_graph(loss, names)
    assert [n.name for n in nodes][-1] == "L_edit" and nodes[-1].operation == "sum"
    operations = {n.name: n.operation for n in nodes}
    assert operations["c"] == "leaf" and operations["\u03b5\u0302"] == "\u00d7"
    assert operations["(\u03b5\u0302 \u2212 \u03b5)\u00b2"] == "power 2"
    c = next(n for n in nodes if n.name == "c")
    assert float(c.grad) == pytest.approx(learning.edit_loss_slope_gradient(TRUE, walkthrough.NOISE_SLOPE, STEPS))
    assert float(nodes[-1].value) == pytest.approx(losses.edit_loss(TRUE, PREDICTED))
    for index, node in enumerate(nodes):
        assert all(parent < index for parent in node.parents)
        assert node.depth == (0 if not node.parents else 1 + max(nodes[p].depth for p in node.parents))
    with pytest.raises(ValueError, match="root must be an autograd Tensor"):
        learning.computational_graph(np.ones(2))


def test_numerical_gradient():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    assert np.allclose(learning.numerical_gradient(lambda z: np.sum(z ** 3), x), 3 * x ** 2, atol=1e-7)
    with pytest.raises(ValueError, match="h must be > 0"):
        learning.numerical_gradient(np.sum, x, h=0)


def test_best_constant_loss_is_where_a_dead_network_stalls():
    # targets a, blue, hat, to, the, person, in, the, image: seven words once, "the" twice
    assert learning.exact_best_constant_loss() == sympy.expand_log(
        sympy.Rational(7, 9) * sympy.log(9) + sympy.Rational(2, 9) * sympy.log(sympy.Rational(9, 2)), force=True)
    assert learning.best_constant_loss() == pytest.approx(float(learning.exact_best_constant_loss()))
    stalled = learning.train_tiny_lm_by_hand(1.0, 200)
    assert stalled.final_loss == pytest.approx(learning.best_constant_loss(), abs=1e-4)
    assert learning.best_constant_loss() <= learning.tiny_lm_loss()
