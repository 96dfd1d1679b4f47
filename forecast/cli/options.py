"""The command-line options several commands share; every numeric option is checked against its row of the
bounds table (:class:`Bounded`) as click reads it."""

from pathlib import Path

import click

from scaling_forecast.core.bounds import BOUNDS, problem
from scaling_forecast.core.errors import InputError
from scaling_forecast.fitting.settings import LAW_NAMES


class Bounded(click.ParamType):
    """A number checked where it enters against ``scaling_forecast.core.bounds.BOUNDS[quantity]``: NaN, inf and
    values outside the quantity's range are refused in one line (click's FloatRange lets NaN through), worded as
    the engine words the same refusal from Python, with the flag for the name (``--mfu=1.5 is above 1: ...``)."""

    def __init__(self, quantity: str):
        self.quantity = quantity
        self.name = "integer" if BOUNDS[quantity].integer else "float"

    def convert(self, value, param, ctx):
        flag = param.opts[0] if param is not None and param.opts else self.quantity
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"{flag}: {value!r} is not a valid {self.name}") from None
        if (why := problem(self.quantity, number)) is not None:
            raise InputError(flag + why[len(self.quantity):])
        return int(number) if BOUNDS[self.quantity].integer else number


SEED, DRAWS, TUNE, CHAINS, LEVEL = (Bounded(q) for q in ("seed", "draws", "tune", "chains", "level"))
json_flag = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of text.")
force_option = click.option(
    "--force", is_flag=True,
    help="Replace an existing output file that scaling-forecast did not write (its own pages and fits are "
         "replaced without asking).")
law_option = click.option("--law", type=click.Choice(LAW_NAMES), default="chinchilla", show_default=True,
                          help="Which law to fit (see the README's 'Laws').")
pool_option = click.option(
    "--pool/--no-pool", default=None,
    help="Fit your runs as one more family within the population of registered families (default for --runs "
         "with the chinchilla law), or alone (--no-pool; the default for --dataset and other laws).")


def allow_option(what: str):
    return click.option("--allow-unconverged", is_flag=True, help=what)


def selection_options(command):
    """The run-selection flags shared by every command that fits."""
    options = [
        click.option("--dataset", help="Registered dataset to fit (see 'data list')."),
        click.option("--runs", "runs_file", type=click.Path(path_type=Path), help="CSV of your own runs instead."),
        click.option("--columns", help="Your CSV's headers for ours, e.g. params=N,tokens=D,loss=L (other columns are "
                                       "kept as metadata)."),
        click.option("--family", "families", multiple=True, help="Keep only this family (repeatable)."),
        click.option("--loss-kind", "loss_kinds", multiple=True, help="Keep only this loss kind (repeatable)."),
        click.option("--compute-min", type=Bounded("compute"), help="Keep runs with compute >= this many FLOP."),
        click.option("--compute-max", type=Bounded("compute"), help="Keep runs with compute <= this many FLOP."),
        click.option("--drop-highest-loss", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Drop the K highest-loss runs (Besiroglu et al. drop 5 of chinchilla-epoch)."),
        click.option("--non-embedding", is_flag=True,
                     help="Count N without embedding parameters and C = 6ND with that N (Kaplan's convention)."),
    ]
    return _stacked(command, options)


def plan_question_options(command):
    """The questions of ``plan``: given N, given hardware, given a target loss, given unique tokens."""
    options = [
        click.option("--params", type=Bounded("params"), multiple=True,
                     help="A model size N (repeatable): the compute-optimal data for it, the loss there and the "
                          "return of more data; with --tokens, the days training (N, D) takes on --gpus x --gpu."),
        click.option("--tokens", type=Bounded("tokens"), multiple=True, help="D paired with each --params: how long its training takes."),
        click.option("--gpus", type=Bounded("gpus"), help="How many accelerators (with --gpu, and --days or --params/--tokens)."),
        click.option("--gpu", help="Accelerator: A100, H100, H200, B200, TPU v4, TPU v5e or TPU v5p (dense BF16 peak)."),
        click.option("--days", type=Bounded("days"), help="Days of training on them: the compute-optimal run they afford."),
        click.option("--mfu", type=Bounded("mfu"), help="Model FLOPs utilisation in (0, 1] (default: a prior from the MFUs of "
                                               "published large runs, median about 0.37)."),
        click.option("--target-loss", "targets", type=Bounded("target_loss"), multiple=True,
                     help="An expected loss to reach (nats/token on the fit's loss scale; repeatable): the compute needed."),
        click.option("--probability", "probabilities", type=Bounded("probability"), multiple=True,
                     help="Probability of reaching --target-loss (repeatable; default 0.5 and 0.9)."),
        click.option("--unique-tokens", "unique", type=Bounded("unique_tokens"), multiple=True,
                     help="Unique tokens U you have (repeatable): the largest model they support unrepeated, the cost "
                          "of 4 epochs, and with --compute the data-constrained optimum (Muennighoff et al.)."),
        click.option("--compute", type=Bounded("compute"), help="FLOP budget of the data-constrained optimum for --unique-tokens."),
        click.option("--inference-tokens", type=Bounded("inference_tokens"),
                     help="Tokens the model will serve: with --target-loss, the run that reaches it with the least "
                          "training + inference FLOP."),
    ]
    return _stacked(command, options)


def _stacked(command, options: list):
    """``command`` with ``options`` applied, listed in --help in the order given."""
    for option in reversed(options):
        command = option(command)
    return command


class OrderedCommand(click.Command):
    """A command that keeps the order in which options were given, one name per occurrence
    (``ctx.meta["option_order"]``): click collects each repeatable option's values apart, and only this
    order tells which of --tokens and --compute each --params is paired with."""

    def make_parser(self, ctx: click.Context):
        parser = super().make_parser(ctx)
        parse = parser.parse_args

        def recording(args):
            opts, rest, order = parse(args=args)
            ctx.meta["option_order"] = [p.name for p in order]
            return opts, rest, order

        parser.parse_args = recording
        return parser


def export_option(command):
    """``--export FILE``: the command's answer as a table, CSV or Parquet by the suffix."""
    return click.option("--export", type=click.Path(path_type=Path),
                        help="Also write the answer as a table: FILE.csv or FILE.parquet.")(command)


def backtest_options(command):
    """Which families ``backtest`` holds out, how, and on which path (all together, or each as a new user's)."""
    return _stacked(command, [
        click.option("--family", "families", multiple=True,
                     help="Backtest only this family (repeatable; default: every registered family, see the README)."),
        click.option("--gadre-eval", default="val:c4_val", show_default=True,
                     help="The one validation set used for the gadre-overtraining families."),
        click.option("--holdout", type=Bounded("holdout"), help="Share of each family's configurations, by compute from the top, "
                                                   "held out (default 0.2; 1/3 with --leave-one-family-out)."),
        click.option("--few-shot", "few_shot", type=Bounded("few_shot"), multiple=True,
                     help="Few-shot sizes k (repeatable): the family keeps its k smallest-compute runs (default 3, 5 "
                          "and 8; 5 with --leave-one-family-out, which takes one)."),
        click.option("--no-few-shot", is_flag=True, help="Skip the few-shot fits."),
        click.option("--leave-one-family-out", "lofo", is_flag=True,
                     help="The user's path instead: each family in turn is new, the others are the population; its "
                          "runs below the top third by compute (and, with --few-shot K, its K smallest) forecast the "
                          "rest with the pooled fit, the law fitted alone and the baseline. --holdout defaults to 1/3 "
                          "here."),
        click.option("--ladders", is_flag=True,
                     help="Ladder backtest instead: from each family the ladders users have (k sizes at one tokens-per-"
                          "parameter ratio; the k smallest compute-optimal runs of an IsoFLOP sweep) forecast its larger "
                          "runs, with the population built without the family; reported by k and by decades of compute "
                          "beyond the ladder's largest run."),
        click.option("--ladder-size", "ladder_sizes", type=Bounded("ladder_size"), multiple=True,
                     help="Ladder sizes k (repeatable; default 3, 4, 5, 6 and 8)."),
    ])


def datawall_options(command):
    """The data wall's inputs: the law's fit, the stock's components, the demand's overtraining, R*_D."""
    return _stacked(command, [
        click.option("--fit", "fit_file", type=click.Path(path_type=Path),
                     help="A saved Chinchilla-law fit (from fit or report); default: fit chinchilla-epoch now "
                          "(5 highest-loss runs dropped, as Besiroglu et al.)."),
        click.option("--words-per-token", type=Bounded("words_per_token"),
                     help="Words per token of the notable models' dataset column (default: the published 0.75)."),
        click.option("--set", "fixed", multiple=True, metavar="NAME=VALUE", help="Fix a component at a value (repeatable)."),
        click.option("--prior", "priors", multiple=True, metavar="NAME=LOW,HIGH[,LEVEL]",
                     help="Replace a component's prior: lognormal with that central interval (repeatable)."),
        click.option("--overtrain", type=Bounded("overtrain"), multiple=True, default=(1.0, 5.0, 10.0),
                     show_default=True, help="Tokens per parameter as a multiple of the compute-optimal ratio "
                                             "(repeatable: --overtrain 1 --overtrain 5)."),
        click.option("--r-star", type=Bounded("r_star"),
                     help="R*_D of the repeated-data law, fixed (default: drawn about Muennighoff et al.'s 15.4)."),
    ])


def figure_options(command):
    """Each of a report's figures as its own file, for papers and slides."""
    return _stacked(command, [
        click.option("--figures", type=click.Path(path_type=Path, file_okay=False),
                     help="Also write each figure as a file into this folder."),
        click.option("--figure-format", type=click.Choice(["png", "svg", "pdf"]), default="png", show_default=True),
        click.option("--dpi", type=Bounded("dpi"), default=200, show_default=True,
                     help="Resolution of --figures in PNG."),
    ])
