"""The HTML pages: what every page shares (``pages``), figures that draw computed results (``figures``,
``fit_figures``, ``compare_figures``), and one module per page (``fit_page`` for ``report``, ``compare_page``,
``backtest_page``, ``datawall_page``)."""
