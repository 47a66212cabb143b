"""Reference values for DigitLab's statistics (Sources/DigitLab/Statistics), computed by SciPy and
statsmodels: Tests/Reference/statistics.json. The tests compare the Swift code with them.

    python3 -m venv /tmp/stats && /tmp/stats/bin/pip install scipy statsmodels
    /tmp/stats/bin/python scripts/reference/statistics_reference.py

The inputs are fixed below (paired test accuracies in percent, shaped like the project's seeds),
so the output is the same on every run with the same library versions (recorded in the file).
"""
import json
import platform
import sys
from pathlib import Path

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower

# Paired samples: A and B on the same seeds.
PAIRS = {
    "ten_small_shift": (
        [98.83, 98.58, 98.62, 98.71, 98.66, 98.74, 98.55, 98.80, 98.69, 98.61],
        [98.52, 98.20, 98.60, 98.41, 98.37, 98.58, 98.33, 98.49, 98.45, 98.44],
    ),
    "ten_skewed": (
        [98.70, 98.72, 98.75, 98.69, 98.73, 99.30, 98.71, 98.74, 98.68, 98.76],
        [98.71, 98.70, 98.73, 98.72, 98.70, 98.69, 98.74, 98.70, 98.71, 98.72],
    ),
    "five_null": (
        [98.81, 98.94, 98.61, 98.72, 98.90],
        [98.83, 98.87, 98.70, 98.69, 98.88],
    ),
    "three": (
        [98.68, 98.81, 98.43],
        [98.73, 98.76, 98.51],
    ),
}


def mean_diff(x, y, axis=-1):
    return np.mean(x - y, axis=axis)


def pair_reference(a, b):
    a, b = np.array(a), np.array(b)
    d = a - b
    n = len(d)
    t_lo, t_hi = stats.t.interval(0.95, n - 1, loc=d.mean(), scale=stats.sem(d))
    # On the figures in hundredths of a point (whole numbers, as test accuracies are counts of
    # images): in floating point, sign patterns whose sums tie the observed one mathematically
    # differ in the last bit, and SciPy's tolerance then counts some ties and not others. The
    # p-value does not depend on the scale.
    exact = stats.permutation_test((np.round(a * 100), np.round(b * 100)), mean_diff, permutation_type="samples",
                                   n_resamples=np.inf, alternative="two-sided")
    out = {
        "a": a.tolist(), "b": b.tolist(),
        "mean_difference": float(d.mean()),
        "sd_difference": float(d.std(ddof=1)),
        "t_interval": [float(t_lo), float(t_hi)],
        "ttest_rel_p": float(stats.ttest_rel(a, b).pvalue),
        "sign_flip_exact_p": float(exact.pvalue),
    }
    # Large-sample bootstraps: the Swift code's own resamples should land within Monte Carlo error.
    for method in ("BCa", "percentile"):
        res = stats.bootstrap((d,), np.mean, confidence_level=0.95, method=method, n_resamples=200_000,
                              random_state=np.random.default_rng(0))
        out[f"bootstrap_{method.lower()}_200k"] = [float(res.confidence_interval.low), float(res.confidence_interval.high)]
    return out


def main():
    root = Path(__file__).resolve().parents[2]
    pairs = {name: pair_reference(a, b) for name, (a, b) in PAIRS.items()}

    # SciPy's own resamples for one input, with the interval it computed from them: the Swift BCa
    # and percentile formulas applied to the same resamples must give the same interval.
    # In hundredths of a point (whole numbers), so that resampled means equal to the mean are equal
    # in every bit on both sides (BCa counts them half), and the means are written in full.
    d = np.round((np.array(PAIRS["ten_skewed"][0]) - np.array(PAIRS["ten_skewed"][1])) * 100)
    given = {}
    for method in ("BCa", "percentile"):
        res = stats.bootstrap((d,), np.mean, confidence_level=0.95, method=method, n_resamples=1999,
                              random_state=np.random.default_rng(1))
        given[method.lower()] = {"interval": [float(res.confidence_interval.low), float(res.confidence_interval.high)]}
    given["resampled_means"] = [float(x) for x in res.bootstrap_distribution]
    # The bootstrap distribution is the same for both methods with the same generator seed.
    res_bca = stats.bootstrap((d,), np.mean, confidence_level=0.95, method="BCa", n_resamples=1999,
                              random_state=np.random.default_rng(1))
    assert np.allclose(res_bca.bootstrap_distribution, res.bootstrap_distribution)
    given["differences"] = d.tolist()

    quantiles = {
        "normal_ppf": [[p, float(stats.norm.ppf(p))] for p in (1e-6, 0.001, 0.025, 0.1, 0.3, 0.5, 0.8, 0.975, 0.999999)],
        "t_ppf": [[p, df, float(stats.t.ppf(p, df))] for p in (0.8, 0.9, 0.975, 0.99, 0.9983)
                  for df in (1, 2, 4, 9, 29, 200)],
        "t_cdf": [[t, df, float(stats.t.cdf(t, df))] for t in (-4.0, -1.3, 0.0, 0.7, 2.262, 12.0) for df in (1, 3, 9, 50)],
    }

    holm_inputs = [0.002, 0.0039, 0.04, 0.25, 0.0117, 0.5, 0.0625, 0.3, 0.001953125, 0.73, 0.02, 0.12]
    holm = {"p": holm_inputs, "adjusted": multipletests(holm_inputs, method="holm")[1].tolist()}

    power = []
    analysis = TTestPower()
    for n, sd in ((3, 0.2), (5, 0.15), (10, 0.12), (10, 0.25), (20, 0.1)):
        approx = (stats.t.ppf(0.975, n - 1) + stats.t.ppf(0.8, n - 1)) * sd / np.sqrt(n)
        exact_effect = analysis.solve_power(effect_size=None, nobs=n, alpha=0.05, power=0.8, alternative="two-sided")
        power.append({
            "pairs": n, "sd": sd,
            "approximate_mdd": float(approx),
            "exact_mdd": float(exact_effect * sd),
            "exact_power_at_approximate_mdd": float(analysis.power(effect_size=approx / sd, nobs=n, alpha=0.05)),
        })
    needed = []
    for sd in (0.08, 0.12, 0.2):
        nobs = analysis.solve_power(effect_size=0.1 / sd, nobs=None, alpha=0.05, power=0.8)
        needed.append({"sd": sd, "delta": 0.1, "exact_pairs": float(nobs)})

    doc = {
        "__metadata__": {
            "generator": "scripts/reference/statistics_reference.py",
            "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "statsmodels": statsmodels.__version__,
        },
        "pairs": pairs, "bootstrap_given_resamples": given, "quantiles": quantiles, "holm": holm,
        "power": power, "pairs_needed": needed,
        "binomial_se_98_7_of_10000": float(np.sqrt(0.987 * 0.013 / 10000)),
    }
    out = root / "Tests" / "Reference" / "statistics.json"
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {out} ({out.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
