"""Do the datablations runs pin R*_D and R*_N? Muennighoff et al.'s (2023) data-constrained law fitted to
them with all seven constants free (E, A, B, alpha, beta, R*_D, R*_N), PyMC + nutpie, and checked on held-out
many-epoch runs. The answer (no: README, "Limited unique data") is why ``plan`` draws both from priors.

    L = E + A / N'^alpha + B / D'^beta
    D' = U + U R*_D (1 - exp(-R_D / R*_D)),    R_D = D/U - 1
    N' = U_N + U_N R*_N (1 - exp(-R_N / R*_N)), R_N = N/U_N - 1,  U_N = compute-optimal N for U tokens

The formula is the project's own ``scaling_forecast.models.laws.data_constrained_loss`` called with
``xp=pytensor.tensor`` (it only uses exp, log, log1p, minimum, which pytensor has).

    SCALING_FORECAST_DATA_DIR=../shared/data .venv/bin/python scripts/datablations_r_stars.py [options]

    (no options)            centred parameterisation, all kept configurations
    --param direct          LogNormal priors straight on E, A, B (for comparison)
    --param fixed           E, A, B, alpha, beta fixed at the authors' values, as they fitted
    --fit-max-epochs 4      leave-out check: fit <= 4 epochs, predict the rest
    --tol 0.05              exclusion sensitivity
    --nu-min 0              no floor on the Student-t's nu (some chains then find a second mode)
"""

import argparse
import time

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from scipy import stats

from scaling_forecast.inputs import runs
from scaling_forecast.models.laws import data_constrained_loss

# The authors' constants (huggingface/datablations README 'Parametric Fit'; project data/published/law_constants.csv).
# NB: their E, A, B, alpha, beta were fitted to Chinchilla's C4 isoFLOP curves and then held FIXED while only
# R*_D and R*_N were fitted to their runs (utils/parametric_fit.ipynb, Huber delta 1e-3 on log loss, 182 runs).
PUBLISHED = {"E": 1.869144, "A": 520.825, "B": 1487.716, "alpha": 0.3526596, "beta": 0.3526596,
             "R_star_D": 15.387756, "R_star_N": 5.309743}
PARAMS = ["E", "A", "B", "alpha", "beta", "R_star_D", "R_star_N", "sigma", "nu"]


# ----------------------------------------------------------------------------------------------- data
def configurations(tol: float = 0.01) -> pd.DataFrame:
    """The datablations runs as configurations (N, D, U), seeds averaged in log loss, with a ``kept`` flag.

    Exclusion rule (law-based): the law's loss is non-increasing in N and in D at fixed U. A configuration is
    dropped when another one with the same U and no more N and no more D has a log loss lower by more than
    ``tol`` (1% by default, ten times the typical seed-to-seed sd of 0.2-0.5%): more resources gave clearly
    worse loss (overfitting after many epochs, divergence, or too-large models for tiny data), which no
    setting of the law can describe.
    """
    t = runs.load("datablations")
    g = (t.assign(log_loss=np.log(t["loss"]))
         .groupby(["params", "tokens", "unique_tokens"])
         .agg(log_loss=("log_loss", "mean"), seeds=("log_loss", "size"), name=("run_id", "first"))
         .reset_index())
    n, d, u, ll = (g[c].to_numpy() for c in ("params", "tokens", "unique_tokens", "log_loss"))
    g["dominated"] = [bool(((n <= n[i]) & (d <= d[i]) & (u == u[i]) & (ll < ll[i] - tol)).any()) for i in range(len(g))]
    g["kept"] = ~g["dominated"]
    g["epochs"] = d / u
    g["loss"] = np.exp(g["log_loss"])
    return g


# ---------------------------------------------------------------------------------------------- model
def data_constrained_model(params, tokens, unique_tokens, loss, *, param: str = "centred", nu_min: float = 0.0) -> pm.Model:
    """Arrays in, pm.Model out: Student-t on log loss around log L(N, D, U) of the data-constrained law.

    param="centred" (default): log N, log D, log U are centred (log U by the log D centre); the model samples
    the Chinchilla part's loss at the centre (log_L_c), E's share of it and the N-term's share of the rest,
    as models/chinchilla.py does; A and B come out as deterministics. The law is exactly covariant under this
    centring (U_N shifts by the N centre), so nothing is approximated.
    param="direct": LogNormal priors directly on E, A, B around the published values.
    param="fixed": E, A, B, alpha, beta held at the published values; only R*_D, R*_N, sigma, nu sampled
    (the authors' procedure, as a check of the machinery).

    Priors (weakly informative, log-scale, centred on the published values where the parameter is the same):
      alpha, beta ~ LogNormal(log 0.353, 0.5)   95%: 0.13 .. 0.94
      R*_D ~ LogNormal(log 15.4, 1)             95%: 2.2 .. 109 (epochs beyond the first)
      R*_N ~ LogNormal(log 5.3, 1)              95%: 0.75 .. 38
      centred: log_L_c ~ N(1, 1), floor_share ~ Beta(2, 2), share_N ~ Beta(1.5, 1.5)  (as models/chinchilla.py)
      direct:  E ~ LogNormal(log 1.87, 0.5), A ~ LogNormal(log 521, 2), B ~ LogNormal(log 1488, 2)
      noise: sigma ~ HalfNormal(0.1), nu ~ Gamma(2, 0.1)  (as models/likelihood.py); with nu_min > 0,
             nu = nu_min + Gamma(2, 0.1) (nu < 1 opens a second mode that fits a few runs tightly and calls the rest outliers)
    """
    log_n, log_d, log_u = (np.log(np.asarray(x, float)) for x in (params, tokens, unique_tokens))
    y = np.log(np.asarray(loss, float))
    c_n, c_d = log_n.mean(), log_d.mean()
    with pm.Model(coords={"config": np.arange(len(y))}) as model:
        if param == "fixed":
            alpha = pm.Deterministic("alpha", pt.as_tensor(PUBLISHED["alpha"]))
            beta = pm.Deterministic("beta", pt.as_tensor(PUBLISHED["beta"]))
        else:
            alpha = pm.LogNormal("alpha", np.log(PUBLISHED["alpha"]), 0.5)
            beta = pm.LogNormal("beta", np.log(PUBLISHED["beta"]), 0.5)
        r_d = pm.LogNormal("R_star_D", np.log(PUBLISHED["R_star_D"]), 1.0)
        r_n = pm.LogNormal("R_star_N", np.log(PUBLISHED["R_star_N"]), 1.0)
        if param == "centred":
            log_l_c = pm.Normal("log_L_c", 1.0, 1.0)
            floor = pm.Beta("floor_share", 2.0, 2.0)
            share = pm.Beta("share_N", 1.5, 1.5)
            log_e = log_l_c + pt.log(floor)
            log_r = log_l_c + pt.log1p(-floor)
            log_a_c, log_b_c = log_r + pt.log(share), log_r + pt.log1p(-share)
            mu = pt.log(data_constrained_loss(log_n - c_n, log_d - c_d, log_u - c_d, log_e, log_a_c, log_b_c,
                                              alpha, beta, r_d, r_n, xp=pt))
            pm.Deterministic("E", pt.exp(log_e))
            pm.Deterministic("A", pt.exp(log_a_c + alpha * c_n))
            pm.Deterministic("B", pt.exp(log_b_c + beta * c_d))
        elif param == "direct":
            e = pm.LogNormal("E", np.log(PUBLISHED["E"]), 0.5)
            a = pm.LogNormal("A", np.log(PUBLISHED["A"]), 2.0)
            b = pm.LogNormal("B", np.log(PUBLISHED["B"]), 2.0)
            mu = pt.log(data_constrained_loss(log_n, log_d, log_u, pt.log(e), pt.log(a), pt.log(b),
                                              alpha, beta, r_d, r_n, xp=pt))
        elif param == "fixed":
            # The authors' procedure: E, A, B, alpha, beta held at their C4 Chinchilla values, only R*s (and noise) free.
            alpha_, beta_ = PUBLISHED["alpha"], PUBLISHED["beta"]
            mu = pt.log(data_constrained_loss(log_n, log_d, log_u, np.log(PUBLISHED["E"]), np.log(PUBLISHED["A"]),
                                              np.log(PUBLISHED["B"]), alpha_, beta_, r_d, r_n, xp=pt))
            for k in ("E", "A", "B"):
                pm.Deterministic(k, pt.as_tensor(PUBLISHED[k]))
        else:
            raise ValueError(param)
        sigma = pm.HalfNormal("sigma", 0.1)
        if nu_min > 0:  # nu = nu_min + Gamma(2, 0.1): rules out the "fit a few, call the rest outliers" mode (nu < 1)
            nu = pm.Deterministic("nu", nu_min + pm.Gamma("nu_excess", 2.0, 0.1))
        else:
            nu = pm.Gamma("nu", 2.0, 0.1)
        pm.StudentT("log_loss", nu=nu, mu=mu, sigma=sigma, observed=y, dims="config")
    return model


# --------------------------------------------------------------------------------------------- helpers
def draws_of(idata) -> dict[str, np.ndarray]:
    post = idata["posterior"].to_dataset() if hasattr(idata["posterior"], "to_dataset") else idata.posterior
    return {k: post[k].to_numpy() for k in PARAMS}  # (chain, draw)


def law_log_loss(v: dict, params, tokens, unique_tokens) -> np.ndarray:
    """log L per draw (rows) and configuration (columns), numpy, the same formula."""
    f = {k: np.asarray(v[k]).reshape(-1)[:, None] for k in PARAMS}
    log_n, log_d, log_u = (np.log(np.asarray(x, float))[None, :] for x in (params, tokens, unique_tokens))
    return np.log(data_constrained_loss(log_n, log_d, log_u, np.log(f["E"]), np.log(f["A"]), np.log(f["B"]),
                                        f["alpha"], f["beta"], f["R_star_D"], f["R_star_N"]))


def log_u_n(v: dict, unique_tokens) -> np.ndarray:
    """log U_N per draw and configuration (U_N = G (G U)^(beta/alpha), G = (alpha A / beta B)^(1/(alpha+beta)))."""
    a, b = (np.asarray(v[k]).reshape(-1)[:, None] for k in ("alpha", "beta"))
    la, lb = (np.log(np.asarray(v[k]).reshape(-1))[:, None] for k in ("A", "B"))
    log_g = (np.log(a) + la - np.log(b) - lb) / (a + b)
    return log_g + b / a * (log_g + np.log(np.asarray(unique_tokens, float))[None, :])


def summarise(idata, seconds: float) -> dict:
    import arviz as az

    v = draws_of(idata)
    rows = {}
    ds = lambda r: r.to_dataset() if hasattr(r, "to_dataset") else r  # noqa: E731 (ArviZ 1 returns a DataTree)
    rhat = ds(az.rhat(idata, var_names=PARAMS))
    ess_b = ds(az.ess(idata, var_names=PARAMS, method="bulk"))
    ess_t = ds(az.ess(idata, var_names=PARAMS, method="tail"))
    for k in PARAMS:
        x = v[k].reshape(-1)
        rows[k] = {"median": np.median(x), "q05": np.quantile(x, 0.05), "q95": np.quantile(x, 0.95),
                   "published": PUBLISHED.get(k, np.nan), "r_hat": float(rhat[k]), "ess_bulk": float(ess_b[k]),
                   "ess_tail": float(ess_t[k]),
                   "chain_medians": " ".join(f"{m:.3g}" for m in np.median(v[k], axis=1))}
    table = pd.DataFrame(rows).T
    div = idata["sample_stats"]["diverging"].to_numpy()
    print(table.to_string(float_format=lambda z: f"{z:.4g}"))
    print(f"divergences: {int(div.sum())} (per chain {div.sum(axis=1).tolist()}); "
          f"max R-hat {table.r_hat.max():.4f}; min bulk ESS {table.ess_bulk.min():.0f}; "
          f"min tail ESS {table.ess_tail.min():.0f}; wall time (compile + sample) {seconds:.1f} s")
    x = np.log(v["R_star_D"].reshape(-1)), np.log(v["R_star_N"].reshape(-1))
    print(f"posterior sd of log R*_D {x[0].std():.3f}, of log R*_N {x[1].std():.3f} (prior sd 1.0); "
          f"corr(log R*_D, log R*_N) {np.corrcoef(*x)[0, 1]:.2f}")
    return {"table": table, "divergences": int(div.sum())}


def identification(v: dict, fit: pd.DataFrame) -> None:
    """How many fitted configurations lie beyond U_N (where R*_N acts), under the posterior and the published law."""
    lun = log_u_n(v, fit["unique_tokens"])
    ratio = np.log(fit["params"].to_numpy())[None, :] - lun  # log(N / U_N) per draw
    for lo in (0.0, np.log(2), np.log(5)):
        k = (ratio > lo).sum(axis=1)
        print(f"  configs with N > {np.exp(lo):.0f} U_N: posterior median {np.median(k):.0f} "
              f"(90%: {np.quantile(k, 0.05):.0f}-{np.quantile(k, 0.95):.0f}) of {len(fit)}")
    pub = {k: np.array([PUBLISHED[k]]) for k in ("A", "B", "alpha", "beta")}
    r = np.log(fit["params"].to_numpy()) - log_u_n(pub, fit["unique_tokens"])[0]
    print(f"  under the published constants: N > U_N in {(r > 0).sum()}, N > 2 U_N in {(r > np.log(2)).sum()}, "
          f"N > 5 U_N in {(r > np.log(5)).sum()}; R_N = N/U_N - 1 up to {np.exp(r.max()) - 1:.0f}")
    rn = np.exp(np.median(ratio, axis=0)) - 1
    print(f"  posterior-median R_N of the configs beyond U_N: quartiles {np.quantile(rn[rn > 0], [.25, .5, .75]).round(1).tolist()}")


def predictive_check(v: dict, rows: pd.DataFrame, label: str, seed: int = 0, level: float = 0.8) -> None:
    """Coverage of ``level`` posterior-predictive intervals of a new run's log loss, and signed error."""
    mu = law_log_loss(v, rows["params"], rows["tokens"], rows["unique_tokens"])
    rng = np.random.default_rng(seed)
    s, nu = v["sigma"].reshape(-1)[:, None], v["nu"].reshape(-1)[:, None]
    pred = mu + s * stats.t.rvs(nu, size=mu.shape, random_state=rng)
    lo, hi = np.quantile(pred, [(1 - level) / 2, (1 + level) / 2], axis=0)
    y = rows["log_loss"].to_numpy()
    med = np.median(mu, axis=0)
    inside = (y >= lo) & (y <= hi)
    err = np.expm1(y - med) * 100  # observed vs posterior-median law, % of loss
    print(f"  {label}: {len(y)} configs; {level:.0%} PI coverage {inside.mean():.0%} ({inside.sum()}/{len(y)}); "
          f"signed error observed-vs-median {np.mean(err):+.1f}% mean, {np.median(err):+.1f}% median, "
          f"MAE {np.mean(np.abs(err)):.1f}%; median PI width {np.median(np.expm1(hi - lo)) * 100:.1f}%")
    return pd.DataFrame({"name": rows["name"].to_numpy(), "epochs": rows["epochs"].to_numpy(),
                         "loss": rows["loss"].to_numpy(), "pred_median": np.exp(med), "lo": np.exp(lo),
                         "hi": np.exp(hi), "err_pct": err, "inside": inside})


def published_error(rows: pd.DataFrame, label: str) -> None:
    v = {k: np.array([PUBLISHED[k]]) for k in PARAMS if k in PUBLISHED}
    v |= {"sigma": np.zeros(1), "nu": np.ones(1)}
    err = np.expm1(rows["log_loss"].to_numpy() - law_log_loss(v, rows["params"], rows["tokens"], rows["unique_tokens"])[0]) * 100
    print(f"  published constants on {label}: signed error {np.mean(err):+.1f}% mean, {np.median(err):+.1f}% median, "
          f"MAE {np.mean(np.abs(err)):.1f}%")


# ------------------------------------------------------------------------------------------------ main
def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--param", default="centred", choices=("centred", "direct", "fixed"))
    p.add_argument("--tol", type=float, default=0.01)
    p.add_argument("--fit-max-epochs", type=float, default=None)
    p.add_argument("--nu-min", type=float, default=2.0)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--target-accept", type=float, default=0.8)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=None, help="write the posterior (NetCDF) and held-out table here (prefix)")
    args = p.parse_args()

    import nutpie

    g = configurations(args.tol)
    kept = g[g["kept"]].reset_index(drop=True)
    print(f"{int(g.seeds.sum())} runs -> {len(g)} configurations (seeds averaged); excluded {int(g.dominated.sum())} "
          f"(dominated by > {args.tol:.0%} at the same U), kept {len(kept)}; "
          f"kept loss range {kept.loss.min():.2f}-{kept.loss.max():.2f}, epochs up to {kept.epochs.max():.0f}")
    if args.fit_max_epochs is not None:
        fit, held = kept[kept.epochs <= args.fit_max_epochs], kept[kept.epochs > args.fit_max_epochs]
        print(f"leave-out: fit on {len(fit)} configs with epochs <= {args.fit_max_epochs:g}, hold out {len(held)}")
    else:
        fit, held = kept, kept.iloc[:0]

    start = time.perf_counter()
    model = data_constrained_model(fit["params"], fit["tokens"], fit["unique_tokens"], fit["loss"], param=args.param,
                                   nu_min=args.nu_min)
    compiled = nutpie.compile_pymc_model(model)
    compiled_at = time.perf_counter()
    idata = nutpie.sample(compiled, draws=args.draws, tune=args.tune, chains=args.chains, cores=args.chains,
                          seed=args.seed, target_accept=args.target_accept, progress_bar=False)
    end = time.perf_counter()
    print(f"\n[{args.param}] {args.chains} chains x {args.draws} draws (+{args.tune} tune); compile "
          f"{compiled_at - start:.1f} s, sample {end - compiled_at:.1f} s")
    summarise(idata, end - start)
    v = {k: x.reshape(-1) for k, x in draws_of(idata).items()}
    print("identification of R*_N:")
    identification(v, fit)
    print("posterior predictive (80%):")
    predictive_check(v, fit, "fitted configs (in-sample)")
    published_error(fit, "fitted configs")
    if len(held):
        table = predictive_check(v, held, "held-out configs")
        published_error(held, "held-out configs")
        for lo, hi in ((args.fit_max_epochs, 16), (16, 60), (60, np.inf)):
            sub = held[(held.epochs > lo) & (held.epochs <= hi)]
            if len(sub):
                predictive_check(v, sub, f"  held out, epochs in ({lo:g}, {hi:g}]")
        if args.out:
            table.to_csv(f"{args.out}_heldout.csv", index=False)
    if args.out:
        idata.to_netcdf(f"{args.out}.nc") if hasattr(idata, "to_netcdf") else None


if __name__ == "__main__":
    main()
