"""The REST API (django-ninja): mounts each app's Router under /api/v1/."""

from ninja import NinjaAPI

api = NinjaAPI(title="Siyu API", version="1", urls_namespace="api", docs_url="/docs")
