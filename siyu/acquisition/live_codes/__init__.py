"""Channel live codes (渠道活码, B2): one WeCom contact way spreading customers over employees or
departments (duty hours, daily caps, round robin), and what an add through it does
(attribution, the code's tags and welcome). Models in ``models.py``, writes in ``services.py``,
reads in ``selectors.py``, console in ``views.py``/``urls.py``, REST in ``api.py``."""
