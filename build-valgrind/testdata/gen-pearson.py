#!/usr/bin/python3
# gen-pearson.py: golden values for rq-pearson and lib/stats.c, made once
# with SciPy (never a runtime dependency of rq).  Run from the repository
# root:  /usr/bin/python3 testdata/gen-pearson.py
# It writes testdata/pearson-golden.<set>.tsv (two columns x, y, with a
# header line "x<TAB>y") and testdata/pearson-golden.tsv, one line per
# (set, method, level):  set method level n r p ci_lo ci_hi
# Pearson: scipy.stats.pearsonr and its confidence_interval (Fisher z).
# Spearman: scipy.stats.spearmanr (ranks, ties averaged; p from the t
# distribution with n-2 dof); its interval, which SciPy does not give, is
# the plain Fisher formula tanh(atanh(rho) +- z_{(1+level)/2}/sqrt(n-3))
# written out here with numpy and scipy.stats.norm.ppf.
import numpy as np
import scipy
import scipy.stats as st

rng = np.random.default_rng(20250611)
sets = {}
sets["hand"] = (np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
                np.array([2.1, 3.9, 6.2, 7.8, 10.1, 12.2, 13.8, 16.5, 17.9,
                          20.3]) * 0.1 + np.array([3, -1, 2, 0, 1, -2, 4,
                                                  -3, 1, 0]))
x = rng.normal(size=50)
sets["gauss50"] = (x, 0.4 * x + rng.normal(size=50))
x = rng.integers(0, 5, size=30).astype(float)
sets["ties30"] = (x, np.round(x + rng.normal(scale=1.5, size=30)))
x = (rng.random(40) < 0.5).astype(float)
sets["biserial40"] = (x, 0.3 + 0.2 * x + 0.25 * rng.normal(size=40))
sets["n3"] = (np.array([1.0, 2.0, 4.0]), np.array([1.5, 1.0, 3.0]))
x = rng.normal(size=200)
sets["neg200"] = (x, -0.8 * x + 0.5 * rng.normal(size=200) + 1e3)

with open("testdata/pearson-golden.tsv", "w") as g:
    g.write("# made by testdata/gen-pearson.py with scipy %s numpy %s\n"
            % (scipy.__version__, np.__version__))
    g.write("set\tmethod\tlevel\tn\tr\tp\tci_lo\tci_hi\n")
    for name, (x, y) in sets.items():
        with open("testdata/pearson-golden.%s.tsv" % name, "w") as f:
            f.write("x\ty\n")
            for a, b in zip(x, y):
                f.write("%.17g\t%.17g\n" % (a, b))
        n = len(x)
        for level in (0.95, 0.9):
            res = st.pearsonr(x, y)
            ci = res.confidence_interval(level)
            g.write("%s\tpearson\t%g\t%d\t%.17g\t%.17g\t%.17g\t%.17g\n" %
                    (name, level, n, res.statistic, res.pvalue, ci.low,
                     ci.high))
            rho, p = st.spearmanr(x, y)
            if n > 3:
                h = st.norm.ppf((1 + level) / 2) / np.sqrt(n - 3)
                lo, hi = np.tanh(np.arctanh(rho) - h), np.tanh(
                    np.arctanh(rho) + h)
            else:
                lo, hi = -1.0, 1.0
            g.write("%s\tspearman\t%g\t%d\t%.17g\t%.17g\t%.17g\t%.17g\n" %
                    (name, level, n, rho, p, lo, hi))
