"""Store live codes (门店活码, B4): a printed code whose public landing page (``public_views.py``,
mounted at /s/) finds the customer's nearest store and shows that store's live or group code;
the console pages that manage stores are ``views.py``."""
