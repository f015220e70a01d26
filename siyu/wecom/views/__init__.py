"""The transport's console pages for admins: received callbacks (``events``), syncs (``sync``)
and the API call log (``calls``). The endpoint WeCom calls is ``siyu.wecom.callbacks``."""
