"""The REST API (django-ninja): mounts each app's Router under /api/v1/.

Authentication is the console session (CSRF on unsafe methods) or an API bearer token; every
error is JSON shaped like ``DomainError.as_dict()`` (see ``siyu.core.api_support``).
"""

from ninja import NinjaAPI

from siyu.accounts.api import router as accounts_router
from siyu.accounts.auth import user_for_token
from siyu.core.api_support import (
    BearerTokenAuth,
    SessionCsrfAuth,
    StrictJsonParser,
    install_error_handlers,
)
from siyu.customers.api import router as customers_router
from siyu.tags.api import router as tags_router

api = NinjaAPI(
    title="Siyu API",
    version="1",
    description="Customers, tags and the organisation of one WeCom enterprise. Authenticate "
                "with `Authorization: Bearer <token>` (see `siyu token create`) or the console "
                "session.",
    urls_namespace="api",
    docs_url="/docs",
    # The bearer token goes first: a request that sends one is judged by it alone.
    auth=[BearerTokenAuth(user_for_token), SessionCsrfAuth()],
    parser=StrictJsonParser(),
)
install_error_handlers(api)
api.add_router("/v1/", customers_router)
api.add_router("/v1/", tags_router)
api.add_router("/v1/", accounts_router)
api.add_router("/v1/", "siyu.acquisition.live_codes.api.router")
