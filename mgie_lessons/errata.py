"""Chapter 7: every matrix and number the seed prints, set beside the computed value.

Each :class:`Erratum` names one printed item, says what the seed prints and what the package
computes (both as short text), whether they agree, and why they differ. Agreement is judged at
the seed's printing precision: a value printed with d decimals agrees when

    |printed - computed| <= 0.5 * 10^-d                        (Eq. 7.1)

(:mod:`mgie_lessons.printed`, which every chapter uses to say "agrees" or "differs, and how"),
and a printed matrix agrees only when it also has the computed shape. Everything here is computed
on demand from :mod:`mgie_lessons.walkthrough` (the printed values) and the chapter modules (the
computed ones).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import diffusion, ffn, losses, pipeline, walkthrough
from .printed import (PrintedComparison, compare_printed, describe_comparison, describe_differences, describe_shape,
                      number_verdict, printed_array, printed_row_sums)

__all__ = ["Erratum", "STATUSES", "CHAPTERS", "errata", "errata_for_chapter", "status_counts",
           "attention_internal_inconsistencies", "markdown_table"]

#: "agrees": printed = computed at printing precision; "differs": it does not; "undefined": the
#: seed names or uses something it never defines, so there is nothing to compute it against.
STATUSES = ("agrees", "differs", "undefined")

#: The chapters with rows in the table: number -> :class:`~mgie_lessons.pipeline.Chapter` (notebook,
#: title) from the one chapter table, :data:`mgie_lessons.pipeline.CHAPTERS`.
CHAPTERS = {chapter.number: chapter for chapter in pipeline.CHAPTERS if chapter.number in (1, 2, 3, 4, 5, 6, 11)}


@dataclass(frozen=True)
class Erratum:
    """One printed item of the seed beside the computed value."""

    key: str
    chapter: int
    seed_section: str
    item: str
    printed: str
    computed: str
    status: str
    reason: str

    @property
    def agrees(self) -> bool:
        return self.status == "agrees"


def _first_disagreement(comparison: PrintedComparison) -> str:
    if not comparison.disagreements:
        return ""
    d = comparison.disagreements[0]
    return f"; e.g. entry ({d.row + 1}, {d.col + 1}) printed {d.printed:g}, computed {d.computed:.4f}"


# --- chapter 1 -------------------------------------------------------------------------------

def _chapter1() -> list[Erratum]:
    run = pipeline.seed_run()
    words, X = run.words, run.X
    x_cmp = compare_printed(walkthrough.PRINTED_X_EMBEDDED, X)
    return [
        Erratum("tokens", 1, "2.1.2", "token list", "announced ('broken down into the following tokens:'), "
                "then nothing", f"{len(words)} tokens: " + " · ".join(words), "differs",
                "The list the text announces is missing from the seed."),
        Erratum("embedding-table", 1, "2.1.2", "embedding table", "10 lines, 'the' listed twice",
                f"{len(walkthrough.EMBEDDING_TABLE)} distinct words; 'the' appears at positions "
                f"{[i + 1 for i, w in enumerate(words) if w == 'the']} and shares one row", "agrees",
                "Listing 'the' twice with the same vector is harmless, but a table has one row per word."),
        Erratum("x-embedded", 1, "2.1.2", "X_embedded", describe_shape(walkthrough.PRINTED_X_EMBEDDED),
                f"{X.shape[0]} x {X.shape[1]}; {describe_differences(x_cmp)}", x_cmp.verdict,
                "Correct."),
    ]


# --- chapter 2 -------------------------------------------------------------------------------

def attention_internal_inconsistencies() -> dict[str, int]:
    """Counts of the seed contradicting itself in section 2.1.3 (independent of the true values).

    ``scaled_vs_own_scores``: entries of the printed Q K^T / 1.414 that are not the printed
    Q K^T divided by 1.414 (first 10 rows and columns, printing precision);
    ``reprinted_weights``: entries where the weights reprinted inside "softmax(...) . V" differ
    from the weights printed the line before.
    """
    own_scores = printed_array(walkthrough.PRINTED_QK_T, shape=(10, 10)) / walkthrough.PRINTED_SQRT_D_K
    scaled = compare_printed(walkthrough.PRINTED_SCALED_SCORES, np.nan_to_num(own_scores, nan=0.0))
    scaled_count = sum(1 for d in scaled.disagreements if np.isfinite(own_scores[d.row, d.col]))
    first = printed_array(walkthrough.PRINTED_ATTENTION_WEIGHTS, shape=(10, 10))
    second = printed_array(walkthrough.PRINTED_WEIGHTS_IN_PRODUCT, shape=(10, 10))
    both = np.isfinite(first) & np.isfinite(second)
    reprinted = int(np.sum(both & (np.abs(first - second) > 1e-9)) + np.sum(np.isfinite(first) != np.isfinite(second)))
    return {"scaled_vs_own_scores": int(scaled_count), "reprinted_weights": reprinted}


def _chapter2() -> list[Erratum]:
    result = pipeline.seed_run().attention
    qk = compare_printed(walkthrough.PRINTED_QK_T, result.scores)
    scaled = compare_printed(walkthrough.PRINTED_SCALED_SCORES, result.scaled_scores)
    weights = compare_printed(walkthrough.PRINTED_ATTENTION_WEIGHTS, result.weights)
    v_cmp = compare_printed(walkthrough.PRINTED_V_IN_PRODUCT, result.values)
    output = compare_printed(walkthrough.PRINTED_ATTENTION_OUTPUT, result.output)
    sums = printed_row_sums(walkthrough.PRINTED_ATTENTION_WEIGHTS)
    inconsistent = attention_internal_inconsistencies()
    return [
        Erratum("qk-t", 2, "2.1.3", "Q K^T", describe_shape(walkthrough.PRINTED_QK_T),
                f"10 x 10; in the first 10 printed rows {describe_differences(qk)}", "differs",
                f"{qk.extra_rows} rows too many, {sum(1 for n in qk.row_lengths if n != 10)} rows of the wrong "
                "length, and wrong dot products" + _first_disagreement(qk) + "."),
        Erratum("sqrt-dk", 2, "2.1.3", "sqrt(d_k)", f"{walkthrough.PRINTED_SQRT_D_K:g}", f"{np.sqrt(walkthrough.D_K):.6f}",
                number_verdict(walkthrough.PRINTED_SQRT_D_K, np.sqrt(walkthrough.D_K)), "Rounded to three decimals; fine."),
        Erratum("scaled-scores", 2, "2.1.3", "Q K^T / sqrt(d_k)", describe_shape(walkthrough.PRINTED_SCALED_SCORES),
                f"10 x 10; {describe_differences(scaled)}", "differs",
                f"Inherits the wrong Q K^T, and {inconsistent['scaled_vs_own_scores']} entries are not even "
                "the seed's own Q K^T divided by 1.414" + _first_disagreement(scaled) + "."),
        Erratum("attention-weights", 2, "2.1.3", "softmax(Q K^T / sqrt(d_k))",
                f"{describe_shape(walkthrough.PRINTED_ATTENTION_WEIGHTS)}; row sums from {sums.min():.3f} to {sums.max():.3f}",
                f"10 x 10; every row sums to 1; {describe_differences(weights)}", "differs",
                "Softmax rows must sum to 1 (Eq. 2.4); the printed rows do not, and the true weights are all "
                f"close to 1/10 (from {result.weights.min():.4f} to {result.weights.max():.4f})."),
        Erratum("weights-in-product", 2, "2.1.3", "weights reprinted in softmax(...) . V",
                describe_shape(walkthrough.PRINTED_WEIGHTS_IN_PRODUCT),
                f"the line above: {describe_shape(walkthrough.PRINTED_ATTENTION_WEIGHTS)}", "differs",
                f"The same matrix printed twice differs in {inconsistent['reprinted_weights']} entries."),
        Erratum("v-in-product", 2, "2.1.3", "V in softmax(...) . V", describe_shape(walkthrough.PRINTED_V_IN_PRODUCT),
                "10 x 2 (V = X)", "differs",
                f"{v_cmp.extra_rows} rows of weight-like numbers are appended to V, and a row of X is missing."),
        Erratum("attention-output", 2, "2.1.3", "Attention(Q, K, V)", describe_shape(walkthrough.PRINTED_ATTENTION_OUTPUT),
                f"10 x 2; {describe_differences(output)}", output.verdict,
                "Follows from the wrong weights: the true output is nearly the mean of V's rows for every "
                f"token ({result.output.mean(axis=0).round(3).tolist()})" + _first_disagreement(output) + "."),
    ]


# --- chapter 3 -------------------------------------------------------------------------------

def _own_and_true(printed, from_own_input, true_value) -> tuple[PrintedComparison, PrintedComparison]:
    """Compare a printed FFN step with the operation applied to the seed's own previous printed
    matrix (its arithmetic) and with the true value (everything upstream computed right)."""
    return compare_printed(printed, from_own_input), compare_printed(printed, true_value)


def _fraction_explained(printed, pattern) -> float:
    """The share of printed entries that equal ``pattern`` at printing precision."""
    comparison = compare_printed(printed, pattern)
    total = comparison.computed_shape[0] * comparison.computed_shape[1]
    return 1.0 - len(comparison.disagreements) / total


def _chapter3() -> list[Erratum]:
    printed = printed_array
    W1, b1, W2, b2 = (np.asarray(m, dtype=float) for m in (walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2))
    x_att = printed(walkthrough.PRINTED_ATTENTION_OUTPUT)
    truth = pipeline.seed_run().ffn
    xw1_own, xw1_true = _own_and_true(walkthrough.PRINTED_FFN_XW1, x_att @ W1, truth.pre_activation - b1)
    xw1_pattern = _fraction_explained(walkthrough.PRINTED_FFN_XW1, np.outer(x_att[:, 0] * W1.sum(), np.ones(2)))
    pre_own, pre_true = _own_and_true(walkthrough.PRINTED_FFN_PRE_ACTIVATION, printed(walkthrough.PRINTED_FFN_XW1) + b1,
                                      truth.pre_activation)
    hidden_own, hidden_true = _own_and_true(walkthrough.PRINTED_FFN_HIDDEN,
                                            ffn.relu(printed(walkthrough.PRINTED_FFN_PRE_ACTIVATION)), truth.hidden)
    hidden = printed(walkthrough.PRINTED_FFN_HIDDEN)
    out_own, out_true = _own_and_true(walkthrough.PRINTED_FFN_OUTPUT, hidden @ W2 + b2, truth.output)
    out_pattern = _fraction_explained(walkthrough.PRINTED_FFN_OUTPUT, hidden * W2[0, 0] + 2 * b2)
    bad_relu = hidden_own.disagreements[0] if hidden_own.disagreements else None

    def status(own: PrintedComparison, true: PrintedComparison) -> str:
        return "agrees" if own.agrees and true.agrees else "differs"

    def both(own: PrintedComparison, true: PrintedComparison) -> str:
        return (f"from the seed's own previous step: {describe_comparison(own)}; "
                f"from the true attention output: {describe_comparison(true)}")

    return [
        Erratum("ffn-xw1", 3, "2.2", "X_attention W_1", describe_shape(walkthrough.PRINTED_FFN_XW1), both(xw1_own, xw1_true),
                status(xw1_own, xw1_true),
                f"Wrong arithmetic: {xw1_pattern:.0%} of the printed entries are 0.8 x the row's first entry "
                "(the four weights 0.2 added, times one entry) instead of 0.2 x (sum of the row)"
                + _first_disagreement(xw1_own) + "."),
        Erratum("ffn-b1", 3, "2.2", "b_1 broadcast to every row", describe_shape(walkthrough.PRINTED_FFN_B1_BROADCAST),
                "10 x 2", "differs", "Eleven copies of b_1 for ten tokens."),
        Erratum("ffn-pre-activation", 3, "2.2", "X_attention W_1 + b_1", describe_shape(walkthrough.PRINTED_FFN_PRE_ACTIVATION),
                both(pre_own, pre_true), status(pre_own, pre_true),
                "b_1 is added correctly, to the wrong product above."),
        Erratum("ffn-hidden", 3, "2.2", "ReLU(X_attention W_1 + b_1)", describe_shape(walkthrough.PRINTED_FFN_HIDDEN),
                both(hidden_own, hidden_true), status(hidden_own, hidden_true),
                "ReLU leaves a positive number unchanged"
                + (f", yet entry ({bad_relu.row + 1}, {bad_relu.col + 1}) turns {bad_relu.computed:g} into "
                   f"{bad_relu.printed:g}" if bad_relu else "") + "; the rest carries the error above."),
        Erratum("ffn-second-product", 3, "2.2", "the second product's operands",
                f"hidden {describe_shape(walkthrough.PRINTED_FFN_HIDDEN_IN_PRODUCT)}, W_2 {describe_shape(walkthrough.PRINTED_FFN_W2_IN_PRODUCT)}",
                "hidden 10 x 2, W_2 2 x 2", "differs",
                "Three hidden rows are repeated and W_2 gains three rows (the last one is b_2)."),
        Erratum("ffn-output", 3, "2.2", "FFN output", describe_shape(walkthrough.PRINTED_FFN_OUTPUT), both(out_own, out_true),
                status(out_own, out_true),
                f"Wrong arithmetic again: {out_pattern:.0%} of the entries are 0.3 x h + 0.2, one term of the "
                "two-term dot product with b_2 added twice" + _first_disagreement(out_own) + "."),
    ]


# --- chapters 4 to 6 and the techniques -------------------------------------------------------

def _chapter4() -> list[Erratum]:
    return [
        Erratum("visual-tokens", 4, "2.3", "u_1 .. u_4 = Tokenize(E)", "4 vectors, given",
                "not computable: Tokenize is never defined", "undefined",
                "The tokens are typed in. MGIE reads 8 [IMG] hidden states and maps them with an edit head to "
                "77 x 768 (chapter 4)."),
    ]


def _chapter5() -> list[Erratum]:
    run = pipeline.seed_run().denoising
    printed = tuple(walkthrough.PRINTED_TRAJECTORY[t] for t in range(walkthrough.T, -1, -1))
    trajectory_cmp = compare_printed((printed,), np.atleast_2d(np.ravel(run.trajectory)))
    budget = diffusion.noise_budget(walkthrough.IMAGE_VALUE, walkthrough.NOISE_VALUE, walkthrough.ETA, walkthrough.T,
                                    diffusion.linear_noise_rule(walkthrough.NOISE_SLOPE))
    final = float(np.ravel(run.final)[0])
    return [
        Erratum("z-notation", 5, "3.1, 3.3", "z_0", "the noisy start (3.1) and the final image (3.3)",
                "z_T for the start, z_0 for the end", "differs",
                "One symbol for two different images; the book writes z_T = I + eps."),
        Erratum("noise-distribution", 5, "3.1", "eps ~ N(0, 0.1)", "N(0, 0.1), then eps = 0.1",
                "0.1 could be a variance (std 0.316) or a standard deviation", "undefined",
                "The second argument of N is not named, and a fixed 0.1 is used as if it were a draw."),
        Erratum("trajectory", 5, "3.2.2", "z_3 -> z_2 -> z_1 -> z_0", " -> ".join(f"{v:g}" for v in printed),
                " -> ".join(f"{v:.4g}" for v in np.ravel(run.trajectory)), trajectory_cmp.verdict,
                f"The arithmetic is right; but the update removes {budget.removed:.3g} of noise where "
                f"{budget.added:.3g} was added, ending at {final:.3g} instead of I = {walkthrough.IMAGE_VALUE:g}."),
    ]


def _chapter6() -> list[Erratum]:
    positional = losses.positional_comparison(walkthrough.TARGET_TOKENS, walkthrough.GENERATED_TOKENS)
    alignment = losses.align_tokens(walkthrough.TARGET_TOKENS, walkthrough.GENERATED_TOKENS)
    seed_count = sum(walkthrough.PRINTED_L_INS_TERMS)
    rule_positional = losses.mismatch_rule_loss(positional.mismatches_with_extra, walkthrough.LOSS_PER_MISMATCH)
    rule_aligned = losses.mismatch_rule_loss(alignment.distance, walkthrough.LOSS_PER_MISMATCH)
    true_noise = [walkthrough.TRUE_NOISE[t] for t in range(walkthrough.T, 0, -1)]
    predicted = [walkthrough.PRINTED_PREDICTED_NOISE[t] for t in range(walkthrough.T, 0, -1)]
    l_edit = losses.edit_loss(true_noise, predicted)
    terms = losses.edit_loss_terms(true_noise, predicted)
    l_all = losses.total_loss(walkthrough.PRINTED_L_INS, l_edit, walkthrough.ALPHA)
    return [
        Erratum("matching-tokens", 6, "4.1.1", "'the first six tokens match'", "6 matching",
                f"{positional.matches} match position by position; {alignment.matches} after aligning", "differs",
                f"Only {', '.join(walkthrough.TARGET_TOKENS[i] for i in positional.matching_positions)} line up; "
                "'bright' shifts everything after it."),
        Erratum("l-ins", 6, "4.1.1", "L_ins", f"{walkthrough.PRINTED_L_INS_TERMS[0]} x 0.2 + {walkthrough.PRINTED_L_INS_TERMS[1]} x 0.2 "
                f"= {walkthrough.PRINTED_L_INS:g}", f"{positional.mismatches_with_extra} mismatches by position -> "
                f"{rule_positional:.2g}; {alignment.distance} edits after aligning -> {rule_aligned:.2g}", "differs",
                f"The seed charges 0.2 for the six tokens it calls matching and counts {seed_count} tokens where "
                f"y has {len(walkthrough.TARGET_TOKENS)} and y-hat {len(walkthrough.GENERATED_TOKENS)}; and a rule is not a "
                "cross-entropy (chapter 6)."),
        Erratum("true-noise", 6, "4.2", "true noise eps_t in L_edit", "0.2 at every step",
                f"the noise added in 3.1 is {walkthrough.NOISE_VALUE:g}", "differs",
                "The noise L_edit compares against is not the noise the example added."),
        Erratum("l-edit", 6, "4.2", "L_edit", " + ".join(f"{v:g}" for v in walkthrough.PRINTED_L_EDIT_TERMS.values())
                + f" = {walkthrough.PRINTED_L_EDIT:g}", " + ".join(f"{v:.2g}" for v in terms) + f" = {l_edit:.2g}",
                number_verdict(walkthrough.PRINTED_L_EDIT, l_edit, decimals=2), "Correct for the noise it assumes."),
        Erratum("l-all", 6, "4.3", "L_all", f"{walkthrough.PRINTED_L_INS:g} + 0.5 x {walkthrough.PRINTED_L_EDIT:g} = {walkthrough.PRINTED_L_ALL:g}",
                f"{l_all:.3g}", number_verdict(walkthrough.PRINTED_L_ALL, l_all),
                "The arithmetic is right; only its L_ins is wrong. alpha = 0.5 matches MGIE's released code."),
    ]


def _techniques() -> list[Erratum]:
    return [
        Erratum("techniques", 11, "1, 5", "Progressive Feature Blending, Cross-Attention Masking",
                "named as parts of MGIE, never defined", "defined and computed in chapter 11", "undefined",
                "Both come from PFB-Diff (arXiv 2306.16894), not MGIE, whose released code uses no masks."),
    ]


def errata() -> list[Erratum]:
    """Every erratum, in the order of the seed's sections (chapter 7)."""
    return _chapter1() + _chapter2() + _chapter3() + _chapter4() + _chapter5() + _chapter6() + _techniques()


def errata_for_chapter(chapter: int) -> list[Erratum]:
    """The rows of one chapter (the chapters link to their own rows)."""
    if chapter not in CHAPTERS:
        raise ValueError(f"chapter must be one of {sorted(CHAPTERS)}, got {chapter!r}")
    return [row for row in errata() if row.chapter == chapter]


def status_counts(rows=None) -> dict[str, int]:
    """How many rows agree, differ, or are undefined."""
    rows = errata() if rows is None else rows
    return {status: sum(1 for row in rows if row.status == status) for status in STATUSES}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(rows) -> str:
    """The rows as a Markdown table: item, seed section, printed, computed, verdict, why."""
    marks = {"agrees": "agrees", "differs": "**differs**", "undefined": "*undefined*"}
    lines = ["| item | seed section | the seed prints | computed | verdict | why |",
             "| --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(x) for x in (row.item, row.seed_section, row.printed, row.computed,
                                                         marks[row.status], row.reason)) + " |")
    return "\n".join(lines)
