"""Presenting answers: text and JSON for the terminal (``text``), exports to CSV/Parquet (``exports``), what the
figures draw, computed (``curves``), figures that only draw (``figures``, ``fit_figures``, ``compare_figures``),
what every page shares (``pages``) and one module per HTML page (``fit_page`` for ``report``, ``compare_page``,
``backtest_page``, ``datawall_page``, ``plan_page``)."""
