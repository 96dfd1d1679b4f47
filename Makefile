# The two set-up commands of the README. Both create .venv on first use.
.PHONY: run test test-fast setup notebooks notebooks-run

RESULTS ?= results
# Published configurations (data/published/model_configs.csv) forecast by the main job.
MODELS = --model "GPT-3 175B" --model Chinchilla --model "LLaMA 65B" --model "Llama 2 70B" --model "Llama 3 405B"

setup:
	@bash scripts/setup.sh

# The main job: the data it knows, then the Chinchilla-law posterior on
# chinchilla-epoch (5 highest-loss runs dropped, as Besiroglu et al.) written as
# results/report.html (with results/report.nc), and that law's forecasts for five
# published model configurations on the terminal; the compute-optimal split at
# Chinchilla's budget and how far GPT-3 and LLaMA 65B are from it; planning answers
# (the data for a 70B model, what 1024 H100s for 30 days buy, the compute that
# reaches a loss of 1.9, and with 2e13 tokens to serve, the cheapest run to it; what 300B
# unique tokens support at Chinchilla's budget); and the
# Kaplan-vs-Chinchilla comparison on the same runs (results/compare.html); and the
# data wall from that posterior (results/datawall.html).
run: setup
	.venv/bin/scaling-forecast data list
	.venv/bin/scaling-forecast report --dataset chinchilla-epoch --drop-highest-loss 5 --out $(RESULTS)/report.html
	.venv/bin/scaling-forecast predict $(RESULTS)/report.nc $(MODELS)
	.venv/bin/scaling-forecast allocate $(RESULTS)/report.nc --compute 5.76e23 --model "GPT-3 175B" --model "LLaMA 65B"
	.venv/bin/scaling-forecast plan $(RESULTS)/report.nc --params 7e10 --gpus 1024 --gpu H100 --days 30 --target-loss 1.9 --inference-tokens 2e13 --unique-tokens 3e11 --compute 5.76e23 --out $(RESULTS)/plan.html
	.venv/bin/scaling-forecast compare --dataset chinchilla-epoch --drop-highest-loss 5 --out $(RESULTS)/compare.html
	.venv/bin/scaling-forecast datawall --fit $(RESULTS)/report.nc --out $(RESULTS)/datawall.html

# Lint, the layers contract (import-linter: pyproject.toml), the type checker (basedpyright: strict on the API and
# the fit classes), then the tests.
test: setup
	.venv/bin/ruff check .
	.venv/bin/lint-imports
	.venv/bin/basedpyright
	.venv/bin/python -m pytest

# About a minute: lint, and the tests that need neither the data mirror nor the slow simulations.
test-fast: setup
	.venv/bin/ruff check .
	.venv/bin/lint-imports
	.venv/bin/python -m pytest -m "not slow and not needs_data"

# The worked analyses in JupyterLab (installs the notebooks extra into .venv first).
notebooks: setup
	.venv/bin/pip install -q -e ".[notebooks]"
	.venv/bin/jupyter lab notebooks/

# Execute the notebooks and store them with their outputs (needs the data: SCALING_FORECAST_DATA_DIR or downloads).
notebooks-run: setup
	.venv/bin/python scripts/run_notebooks.py
