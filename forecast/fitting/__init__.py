"""Fitting: the one fit base class (:mod:`~scaling_forecast.fitting.base`) and its kinds (a law fitted alone,
pooled with the registered families, the hierarchical model, the Huber/bootstrap baseline), sampling,
diagnostics, saved fits, and the one predictive distribution every answer and backtest reads."""
